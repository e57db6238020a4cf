from django.urls import path

from . import views
from .webhooks import receive_webhook

urlpatterns: list = [
    path("woocommerce/connect", views.connect, name="woocommerce-connect"),
    path("woocommerce/callback", views.callback, name="woocommerce-callback"),
    path("woocommerce/return", views.connect_return, name="woocommerce-return"),
    path("woocommerce/shops/<int:shop_id>/", views.status, name="woocommerce-status"),
    path("woocommerce/shops/<int:shop_id>/disconnect", views.disconnect_view, name="woocommerce-disconnect"),
    path("woocommerce/webhooks/<int:shop_id>", receive_webhook, name="woocommerce-webhooks"),
    path("woocommerce/plugin/config", views.plugin_config, name="woocommerce-plugin-config"),
    path("woocommerce/plugin/disconnect", views.plugin_disconnect, name="woocommerce-plugin-disconnect"),
    path("woocommerce/plugin/redact-customer", views.plugin_redact_customer, name="woocommerce-plugin-redact"),
]

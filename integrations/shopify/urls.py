from django.urls import path

from . import views_install
from .webhooks import receive_webhook

urlpatterns: list = [
    path("shopify/webhooks", receive_webhook, name="shopify-webhooks"),
    path("shopify/install", views_install.install, name="shopify-install"),
    path("shopify/callback", views_install.callback, name="shopify-callback"),
    path("shopify/grant", views_install.grant_scopes, name="shopify-grant"),
    path("app/", views_install.app_home, name="shopify-app-home"),
    path("app/patch-id-token", views_install.patch_id_token, name="shopify-patch-id-token"),
]

from django.urls import path

from . import views

# Mounted at /api/storefront/ by the root urls; the event endpoints are routed by backend.events.urls.
urlpatterns = [
    path("ping", views.ping, name="storefront-ping"),
    path("widgets/<str:widget>", views.widget, name="storefront-widget"),
    path("proxy/widgets/<str:widget>", views.proxy_widget, name="storefront-proxy-widget"),
]

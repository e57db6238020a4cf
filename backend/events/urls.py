from django.urls import path

from . import views

# The event endpoints live beside the widget API under /api/storefront/ (this app's urls are mounted at the root).
urlpatterns = [
    path("api/storefront/events", views.events, name="storefront-events"),
    path("api/storefront/proxy/events", views.proxy_events, name="storefront-proxy-events"),
]

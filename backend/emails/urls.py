from django.conf import settings
from django.urls import include, path

from . import open_views, views

urlpatterns = [
    path("e/c/<str:token>", views.click, name="email-click"),
    path("e/u/<str:token>", views.unsubscribe, name="email-unsubscribe"),
    path("email/<str:public_key>/feed.json", open_views.feed, name="email-open-feed"),
    path("email/<str:public_key>/<int:slot>.png", open_views.slot_image, name="email-open-image"),
    path("email/<str:public_key>/<int:slot>/go", open_views.slot_click, name="email-open-click"),
]
# The email service's tracking webhooks (bounces, complaints), when one is configured: anymail checks the shared
# secret (ANYMAIL_WEBHOOK_SECRET, HTTP basic auth) and each ESP's own signature before anything is parsed.
if settings.ANYMAIL.get("WEBHOOK_SECRET"):
    urlpatterns.append(path("anymail/", include("anymail.urls")))

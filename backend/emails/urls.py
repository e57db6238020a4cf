from django.conf import settings
from django.urls import include, path

from . import views

urlpatterns = [
    path("e/c/<str:token>", views.click, name="email-click"),
    path("e/u/<str:token>", views.unsubscribe, name="email-unsubscribe"),
]
# The email service's tracking webhooks (bounces, complaints), when one is configured: anymail checks the shared
# secret (ANYMAIL_WEBHOOK_SECRET, HTTP basic auth) and each ESP's own signature before anything is parsed.
if settings.ANYMAIL.get("WEBHOOK_SECRET"):
    urlpatterns.append(path("anymail/", include("anymail.urls")))

from django.urls import path

from . import views

urlpatterns = [
    path("e/c/<str:token>", views.click, name="email-click"),
    path("e/u/<str:token>", views.unsubscribe, name="email-unsubscribe"),
]

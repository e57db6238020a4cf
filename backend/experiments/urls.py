from django.urls import path

from . import views

# Merchant screens and JSON API (mounted at the root); all behind backend.dashboard.auth.merchant_view.
urlpatterns = [
    path("admin/experiments/", views.experiment_list, name="experiments-list"),
    path("admin/experiments/<int:pk>/", views.experiment_detail, name="experiments-detail"),
    path("admin/experiments/<int:pk>/<str:action>/", views.experiment_action, name="experiments-action"),
    path("api/admin/experiments", views.api_list, name="experiments-api"),
    path("api/admin/experiments/<int:pk>", views.api_detail, name="experiments-api-detail"),
    path("api/admin/experiments/<int:pk>/<str:action>", views.experiment_action, name="experiments-api-action"),
]

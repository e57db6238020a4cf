from django.urls import path

from . import views

urlpatterns = [
    path("admin/audiences/", views.audience_list, name="audiences-list"),
    path("admin/audiences/<int:pk>/", views.audience_update, name="audiences-update"),
    path("admin/audiences/<int:pk>/export/<str:fmt>.csv", views.audience_export, name="audiences-export"),
]

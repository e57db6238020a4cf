from django.urls import path

from . import views

urlpatterns = [
    path("admin/segments/", views.segment_list, name="segments-list"),
    path("admin/segments/new/", views.segment_edit, name="segments-new"),
    path("admin/segments/<int:pk>/", views.segment_edit, name="segments-edit"),
    path("admin/segments/preview/", views.segment_preview, name="segments-preview"),
    path("admin/customers/merges/", views.merges, name="customers-merges"),
]

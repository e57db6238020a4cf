from django.urls import path

from . import admin_views

urlpatterns = [
    path("admin/recipes/", admin_views.recipe_list, name="recipes-list"),
    path("admin/recipes/new/", admin_views.recipe_new, name="recipes-new"),
    path("admin/recipes/<int:pk>/", admin_views.recipe_edit, name="recipes-edit"),
    path("admin/recipes/<int:pk>/preview/", admin_views.recipe_preview, name="recipes-preview"),
]

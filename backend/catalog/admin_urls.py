from django.urls import path

from . import admin_views

# Merchant APIs of the catalog app (mounted at the root, behind backend.dashboard.auth.merchant_view).
urlpatterns = [
    path("api/admin/catalog/search", admin_views.catalog_search, name="catalog-search"),
]

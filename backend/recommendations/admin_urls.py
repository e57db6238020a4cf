from django.urls import path

from . import merchant_views

# Merchant screens of the recommendations app (mounted at the root, behind backend.dashboard.auth.merchant_view).
urlpatterns = [
    path("admin/product-rules/", merchant_views.product_rules, name="recommendations-product-rules"),
    path("admin/audience-tags/", merchant_views.audiences, name="recommendations-audiences"),
]

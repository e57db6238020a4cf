from django.urls import path

from . import admin_views

# Merchant-facing routes of the storefront app (mounted at the root, unlike the public /api/storefront/ ones).
urlpatterns = [
    path("admin/widgets/", admin_views.widgets_admin, name="storefront-widgets-admin"),
    path("api/admin/widgets/<str:widget>", admin_views.WidgetRuleAPI.as_view(), name="storefront-widget-rule-api"),
]

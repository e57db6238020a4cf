from django.urls import path

from . import admin_views

# Merchant-facing routes of the storefront app (mounted at the root, unlike the public /api/storefront/ ones).
urlpatterns = [
    path("admin/widgets/", admin_views.widgets_admin, name="storefront-widgets-admin"),
    path("admin/widgets/preview/<str:widget>/", admin_views.widget_preview, name="storefront-widget-preview"),
    path("admin/widgets/preview/api/<str:token>/widgets/<str:widget>", admin_views.widget_preview_api,
         name="storefront-widget-preview-api"),
    path("admin/widgets/preview/api/<str:token>/<str:widget>", admin_views.widget_preview_api,
         name="storefront-widget-preview-events"),
    path("api/admin/widgets/<str:widget>", admin_views.WidgetRuleAPI.as_view(), name="storefront-widget-rule-api"),
]

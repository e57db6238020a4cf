from django.urls import path

from . import analytics_views, views

# Mounted at the root. Every view but the sign-in ones is wrapped in auth.merchant_view.
urlpatterns = [
    path("admin/", views.home, name="dashboard-home"),
    path("admin/login/", views.login, name="dashboard-login"),
    path("admin/logout/", views.logout, name="dashboard-logout"),
    path("admin/login/link", views.login_link, name="dashboard-login-link"),
    path("admin/settings/", views.settings_page, name="dashboard-settings"),
    path("admin/settings/exports/<int:pk>.json", views.export_download, name="dashboard-export"),
    path("admin/audit/", views.audit_page, name="dashboard-audit"),
    path("admin/analytics/", analytics_views.analytics, name="dashboard-analytics"),
    path("admin/analytics/recompute/", analytics_views.recompute, name="dashboard-analytics-recompute"),
    path("api/admin/sync", views.sync_api, name="dashboard-sync-api"),
    path("api/admin/analytics", analytics_views.analytics_api, name="dashboard-analytics-api"),
]

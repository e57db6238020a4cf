from django.urls import include, path

from backend.core.health import healthz

urlpatterns = [
    # First: the widget API is most of the traffic, and Django tries the patterns in order on every request.
    path("api/storefront/", include("backend.storefront.urls")),
    path("healthz", healthz, name="healthz"),
    path("", include("integrations.shopify.urls")),
    path("", include("integrations.woocommerce.urls")),
    path("", include("backend.storefront.admin_urls")),
    path("", include("backend.catalog.admin_urls")),
    path("", include("backend.dashboard.urls")),
    path("", include("backend.events.urls")),
    path("", include("backend.recommendations.urls")),
    path("", include("backend.recommendations.admin_urls")),
    path("", include("backend.segments.urls")),
    path("", include("backend.popups.urls")),
    path("", include("backend.experiments.urls")),
    path("", include("backend.audiences.urls")),
    path("", include("backend.emails.urls")),
    path("", include("backend.recipes.urls")),
    path("demo/", include("backend.demostore.urls")),
]

# An outage raised outside any view (a middleware, a session save) is a 503 too; anything else is Django's 500.
handler500 = "backend.core.outage.server_error"

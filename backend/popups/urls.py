from django.urls import path

from . import admin_views, views

# Mounted at the root: the storefront routes sit next to the widget API under /api/storefront/.
urlpatterns = [
    path("api/storefront/popup", views.popup, name="storefront-popup"),
    path("api/storefront/popup/consent", views.consent, name="storefront-popup-consent"),
    path("api/storefront/popup/claim", views.claim_code, name="storefront-popup-claim"),
    path("api/storefront/popup/exposure", views.exposure, name="storefront-popup-exposure"),
    path("api/storefront/proxy/popup", views.proxy_popup, name="storefront-proxy-popup"),
    path("api/storefront/proxy/popup/consent", views.proxy_consent, name="storefront-proxy-popup-consent"),
    path("api/storefront/proxy/popup/claim", views.proxy_claim_code, name="storefront-proxy-popup-claim"),
    path("api/storefront/proxy/popup/exposure", views.proxy_exposure, name="storefront-proxy-popup-exposure"),
    path("admin/popups/", admin_views.campaign_list, name="popups-list"),
    path("admin/popups/new/", admin_views.campaign_edit, name="popups-new"),
    path("admin/popups/<int:pk>/", admin_views.campaign_edit, name="popups-edit"),
    path("admin/popups/preview/", admin_views.preview, name="popups-preview"),
]

"""DRF authentication for the merchant APIs of this app (widget rules), on top of the one merchant sign-in in
backend.dashboard.auth (embedded session token or signed session). API calls made with the session cookie must
carry the CSRF token like any form post.
"""
from __future__ import annotations

from rest_framework import authentication, exceptions, permissions

from backend.dashboard import auth
from backend.shops.models import Shop


def login_link(shop: Shop) -> str:
    """A one-time link that signs the merchant in and opens the widgets screen."""
    return f"/admin/widgets/?token={auth.login_token(shop)}"


class MerchantSession(authentication.SessionAuthentication):
    """DRF auth: the session's shop becomes `request.auth`; unsafe methods must pass Django's CSRF check."""

    def authenticate(self, request):  # noqa: ANN001, ANN201
        shop = auth.current_shop(request._request)
        if shop is None:
            return None
        if not getattr(request._request, "via_token", False):  # a bearer token is not ambient: no CSRF
            self.enforce_csrf(request)
        return (None, shop)

    def authenticate_header(self, request) -> str:  # noqa: ANN001
        return "Session"  # makes DRF answer 401 (not 403) to a caller with no merchant session


class HasShop(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:  # noqa: ANN001
        if not isinstance(request.auth, Shop):
            raise exceptions.NotAuthenticated("sign in to a shop first")
        return True

"""Which shop a merchant screen acts for: a shop id kept in the signed Django session.

A signed, short-lived link (`login_link`) puts it there until the dashboard's embedded-app auth takes over and
calls `sign_in` itself. API calls made with that session cookie must carry the CSRF token like any form post.
"""
from __future__ import annotations

from django.core import signing
from django.http import HttpRequest
from rest_framework import authentication, exceptions, permissions

from backend.shops.models import Shop

SESSION_KEY = "merchant_shop_id"
_SALT = "storefront.merchant-login"
LINK_MAX_AGE = 600


def sign_in(request: HttpRequest, shop: Shop) -> None:
    from backend.dashboard import auth  # the single source of truth for merchant auth

    auth.sign_in(request, shop, actor="link")


def login_token(shop: Shop) -> str:
    return signing.dumps({"shop": shop.pk}, salt=_SALT)


def login_link(shop: Shop) -> str:
    return f"/admin/widgets/?token={login_token(shop)}"


def shop_from_token(token: str) -> Shop | None:
    try:
        data = signing.loads(token, salt=_SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    return Shop.objects.filter(pk=data.get("shop"), state=Shop.State.INSTALLED).first()


def current_shop(request: HttpRequest) -> Shop | None:
    from backend.dashboard import auth  # session token (embedded) or signed session, verified in one place

    return auth.current_shop(request)


class MerchantSession(authentication.SessionAuthentication):
    """DRF auth: the session's shop becomes `request.auth`; unsafe methods must pass Django's CSRF check."""

    def authenticate(self, request):  # noqa: ANN001, ANN201
        shop = current_shop(request._request)
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

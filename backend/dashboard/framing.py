"""Who may frame our pages: nobody (X-Frame-Options: DENY, from Django's middleware), except the embedded admin,
which only its own shop's Shopify admin may frame (Shopify's rule for embedded apps). The shop in that header comes
from a verified session token or a strictly validated query parameter, never from a request unchecked: a header
value with `;` would add CSP directives, one with a line break would break the response."""
from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com")


def valid_shop_domain(value: str) -> str | None:
    """The lower-cased *.myshopify.com domain, or None for anything else."""
    domain = (value or "").strip().lower()
    return domain if SHOP_DOMAIN.fullmatch(domain) else None


def allow_shopify_admin(response: HttpResponse, shop_domain: str) -> HttpResponse:
    """Let `shop_domain`'s Shopify admin (and only it) frame this response; a page our own admin frames too (the
    widget preview, `response.frame_self`) also names 'self', since every ancestor must be allowed."""
    domain = valid_shop_domain(shop_domain)
    if domain is None:
        raise ValueError(f"not a myshopify.com domain: {shop_domain[:80]!r}")
    own = "'self' " if getattr(response, "frame_self", False) else ""
    response["Content-Security-Policy"] = f"frame-ancestors {own}https://{domain} https://admin.shopify.com;"
    response.xframe_options_exempt = True  # XFrameOptionsMiddleware would add DENY and defeat frame-ancestors
    return response


class ShopifyAdminFramingMiddleware:
    """A merchant page authenticated by a Shopify session token is the embedded admin: its shop's admin frames it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        shop = getattr(request, "_dashboard_shop", None)  # set by dashboard.auth once a token or session verified
        if shop is not None and getattr(request, "via_token", False) and valid_shop_domain(shop.domain):
            allow_shopify_admin(response, shop.domain)
        return response

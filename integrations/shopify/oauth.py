"""Shopify OAuth: query-string HMACs, shop domains, single-use `state`, and the three token grants
(authorization code, token exchange of a session token, refresh) — the latter two through shopifyapp.

Everything that arrives here is hostile until verified: a bad HMAC, a foreign domain, a stale timestamp or a
spent state raises OAuthError with the reason, and nothing is written.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from shopify_app import refresh_access_token, token_exchange

from backend.core.json_input import MAX_API_RESPONSE_BYTES, parse_json
from backend.core.timefmt import parse_ts
from integrations.base.errors import IntegrationError
from integrations.base.http import send

from .http import shopify_client

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com$")
MAX_CLOCK_SKEW = 300  # seconds a signed query's timestamp may be off (Shopify's links are used immediately)
STATE_TTL = 600
STATE_KEY = "shopify:oauth-state:{}"
# Least privilege: catalog and stock to recommend, customers and orders to learn and segment; the one write scope
# is for the exit-intent popups' single-use discount codes (documents.DISCOUNT_CODE_*_CREATE).
SCOPES = ("read_products", "read_inventory", "read_customers", "read_orders", "write_discounts")
# Asked only when a feature needs them (shopify.app.toml's optional_scopes): writing customer tags from a recipe
# step (customer_tags.py). The merchant grants them by authorizing again (views_install.grant_scopes).
OPTIONAL_SCOPES = ("write_customers",)


class OAuthError(Exception):
    """A refused OAuth request; `reason` is safe to show."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def app_config() -> dict[str, Any]:
    return {
        "client_id": settings.SHOPIFY_API_KEY,
        "client_secret": settings.SHOPIFY_API_SECRET,
        "old_client_secret": getattr(settings, "SHOPIFY_API_SECRET_OLD", "") or None,
    }


def shop_name(domain: str) -> str:
    """"alpha.myshopify.com" → "alpha" (what shopifyapp calls a shop)."""
    return domain.removesuffix(".myshopify.com")


def clean_shop_domain(value: str | None) -> str:
    domain = (value or "").strip().lower()
    if not SHOP_DOMAIN.match(domain):
        raise OAuthError("shop must be a *.myshopify.com domain")
    return domain


def _signable(params: Mapping[str, str]) -> bytes:
    # Shopify signs every query parameter but `hmac` (and the legacy `signature`), sorted, joined k=v with &.
    pairs = sorted((k, v) for k, v in params.items() if k not in ("hmac", "signature"))
    return "&".join(f"{k}={v}" for k, v in pairs).encode()


def sign_query(params: Mapping[str, str], secret: str | None = None) -> str:
    key = (secret or settings.SHOPIFY_API_SECRET).encode()
    return hmac.new(key, _signable(params), hashlib.sha256).hexdigest()


def verify_query(params: Mapping[str, str], *, now: float | None = None) -> str:
    """Check a Shopify-signed query (install link, OAuth callback); returns the shop domain."""
    given = params.get("hmac") or ""
    if not given:
        raise OAuthError("missing hmac", 401)
    secrets_ = [s for s in (settings.SHOPIFY_API_SECRET, getattr(settings, "SHOPIFY_API_SECRET_OLD", "")) if s]
    if not any(hmac.compare_digest(sign_query(params, s), given.lower()) for s in secrets_):
        raise OAuthError("hmac does not match", 401)
    domain = clean_shop_domain(params.get("shop"))
    try:
        stamp = int(params.get("timestamp") or "")
    except ValueError:
        raise OAuthError("missing or malformed timestamp", 400) from None
    if abs((now or time.time()) - stamp) > MAX_CLOCK_SKEW:
        raise OAuthError("timestamp is stale", 401)
    return domain


# --- state: one per authorize redirect, spent by the callback ----------------------------------------------------


def issue_state(domain: str) -> str:
    state = secrets.token_urlsafe(24)
    cache.set(STATE_KEY.format(state), domain, timeout=STATE_TTL)
    return state


def spend_state(state: str | None, domain: str) -> None:
    """Consume a state exactly once; a replay, an unknown or an expired state, or another shop's, is refused."""
    if not state or len(state) > 128:
        raise OAuthError("missing state", 400)
    key = STATE_KEY.format(state)
    owner = cache.get(key)
    # delete() reports whether this call removed it: of two racing callbacks only one wins.
    if owner is None or not cache.delete(key):
        raise OAuthError("unknown, expired or already used state", 400)
    if owner != domain:
        raise OAuthError("state was issued for another shop", 400)


def authorize_url(domain: str, state: str, extra_scopes: tuple[str, ...] = ()) -> str:
    """Shopify's authorize page for the install scopes plus `extra_scopes` (each one of OPTIONAL_SCOPES)."""
    extra = tuple(s for s in extra_scopes if s in OPTIONAL_SCOPES and s not in SCOPES)
    query = urlencode({
        "client_id": settings.SHOPIFY_API_KEY,
        "scope": ",".join(SCOPES + extra),
        "redirect_uri": f"{settings.APP_URL}/shopify/callback",
        "state": state,
    })
    return f"https://{domain}/admin/oauth/authorize?{query}"


# --- token grants -----------------------------------------------------------------------------------------------


def _expiry(seconds: Any) -> datetime | None:
    try:
        return timezone.now() + timedelta(seconds=int(seconds)) if seconds not in (None, "") else None
    except (TypeError, ValueError):
        return None


def exchange_code(domain: str, code: str, *, http: httpx.Client | None = None) -> dict[str, Any]:
    """Authorization code grant (shopifyapp has no helper for it): POST /admin/oauth/access_token, asking for an
    expiring offline token with a refresh token."""
    if not code or len(code) > 512:
        raise OAuthError("missing code", 400)
    body = {"client_id": settings.SHOPIFY_API_KEY, "client_secret": settings.SHOPIFY_API_SECRET, "code": code,
            "expiring": 1}
    client = http or shopify_client()
    try:
        response = send(client, "POST", f"https://{domain}/admin/oauth/access_token", json=body,
                        headers={"Accept": "application/json"}, shop_domain=domain, retries=2)
        data = parse_json(response.content, max_bytes=MAX_API_RESPONSE_BYTES, what="response")
    except IntegrationError as exc:
        raise OAuthError(f"code exchange refused ({exc.status or 'network'})", 400) from exc
    except ValueError:
        raise OAuthError("code exchange answered with something other than JSON", 502) from None
    finally:
        if http is None:
            client.close()
    if not isinstance(data, dict) or not data.get("access_token"):
        raise OAuthError("code exchange returned no access token", 502)
    return {
        "access_token": str(data["access_token"]),
        "scope": str(data.get("scope") or ""),
        "expires_at": _expiry(data.get("expires_in")),
        "refresh_token": str(data.get("refresh_token") or ""),
        "refresh_expires_at": _expiry(data.get("refresh_token_expires_in")),
    }


def _token_fields(access_token: Any) -> dict[str, Any]:
    return {
        "access_token": access_token.token,
        "scope": access_token.scope or "",
        "expires_at": parse_ts(access_token.expires),
        "refresh_token": access_token.refresh_token or "",
        "refresh_expires_at": parse_ts(access_token.refresh_token_expires),
    }


def exchange_session_token(id_token: Any, *, http: httpx.Client | None = None) -> dict[str, Any]:
    """Token exchange: a verified App Home session token → an expiring offline token + refresh token."""
    client = http or shopify_client()
    try:
        result = token_exchange("offline", app_config(), id_token=id_token, expiring=True, http_client=client)
    finally:
        if http is None:
            client.close()
    if not result.ok or result.access_token is None:
        raise OAuthError(f"token exchange refused ({result.log.code})", 401)
    return _token_fields(result.access_token)


def refresh_offline_token(shop: Any, *, http: httpx.Client | None = None) -> dict[str, Any]:
    """Spend the shop's refresh token for a new access + refresh token pair."""
    refresh_expires = shop.refresh_token_expires_at
    request = {
        "shop": shop_name(shop.domain),
        "refresh_token": shop.refresh_token,
        "expires": "",  # we decided to refresh (near expiry or after a 401): don't let the SDK second-guess it
        "refresh_token_expires": refresh_expires.isoformat() if refresh_expires else "",
        "access_mode": "offline",
    }
    client = http or shopify_client()
    try:
        result = refresh_access_token(request, app_config(), http_client=client)
    finally:
        if http is None:
            client.close()
    if not result.ok or result.access_token is None:
        from integrations.base.errors import Unauthorized

        raise Unauthorized(f"token refresh refused ({result.log.code})", shop_domain=shop.domain, status=401)
    return _token_fields(result.access_token)

"""Who is calling the public storefront API: the shop (by public key or a verified Shopify app-proxy request),
whether the browser origin may call us, and which customer (only when someone we trust vouches for it).

The shop is resolved once per key and kept in process for a short while, so the hot path costs no query for it.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

from django.conf import settings
from django.http import HttpRequest
from shopify_app import verify_app_proxy_req

from backend.customers.models import Customer
from backend.shops.models import Shop

from .fields import PLATFORM_ID, PUBLIC_KEY, matches
from .models import AllowedOrigin

_HEX_SIGNATURE = re.compile(r"[0-9a-f]{64}")  # non-ASCII would make the SDK's compare_digest raise
_SHOP_TTL = 30.0  # seconds a resolved shop stays in process; bounds how long a rotated key or uninstall lags
_shops: dict[str, tuple[float, ShopInfo | None]] = {}


@dataclass(frozen=True)
class ShopInfo:
    id: int
    domain: str
    platform: str
    currency: str
    locale: str
    origins: frozenset[str]
    model: Shop = field(compare=False, repr=False)  # the row as loaded, for engines that take a Shop


@dataclass(frozen=True)
class Caller:
    """A storefront request we accepted: the shop, and the customer pk when a trusted party identified them."""

    shop: ShopInfo
    customer_platform_id: str = ""
    via_proxy: bool = False


class AccessDenied(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _origin_of(url: str) -> str:
    parts = urlparse(url)
    if not parts.scheme or not parts.hostname:
        return ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}".lower()


def _load(**lookup: str) -> ShopInfo | None:
    shop = Shop.objects.filter(state=Shop.State.INSTALLED, **lookup).first()
    if shop is None:
        return None
    host = shop.domain.lower().strip().removeprefix("https://").removeprefix("http://").rstrip("/")
    origins = {f"https://{host}", f"http://{host}", _origin_of(settings.APP_URL)}
    origins.update(AllowedOrigin.objects.for_shop(shop).values_list("origin", flat=True))
    return ShopInfo(
        id=shop.pk,
        domain=shop.domain,
        platform=shop.platform,
        currency=shop.currency or "USD",
        locale=shop.locale or "en",
        origins=frozenset(o for o in origins if o),
        model=shop,
    )


def _cached(cache_key: str, **lookup: str) -> ShopInfo | None:
    now = time.monotonic()
    hit = _shops.get(cache_key)
    if hit is not None and hit[0] > now:
        return hit[1]
    info = _load(**lookup)
    if len(_shops) > 10_000:  # a flood of made-up keys must not grow memory without bound
        _shops.clear()
    _shops[cache_key] = (now + _SHOP_TTL, info)
    return info


def forget_shops() -> None:
    """Drop the in-process caches (tests; after an origin or key change when waiting is not an option)."""
    from . import hotcache

    _shops.clear()
    hotcache.clear()


def shop_for_key(key: str) -> ShopInfo | None:
    if not matches(PUBLIC_KEY, key):
        return None
    return _cached(f"key:{key}", public_key=key)


def check_origin(request: HttpRequest, shop: ShopInfo) -> str:
    """The request's Origin when the shop allows it, "" when absent; AccessDenied for a foreign origin.

    Browsers send Origin on every cross-origin request (and on POSTs), so a page on another site cannot use a
    shop's public key; server-side callers send none and are limited by the key alone.
    """
    origin = request.META.get("HTTP_ORIGIN", "")  # not request.headers: that copies every header on each call
    if not origin:
        return ""
    if origin.lower() not in shop.origins:
        raise AccessDenied(403, "origin not allowed for this shop")
    return origin


def verify_proxy(request: HttpRequest) -> Caller:
    """A Shopify app-proxy request: its signature (HMAC of the query with the app secret) names the shop."""
    if not _HEX_SIGNATURE.fullmatch(request.GET.get("signature", "")):
        raise AccessDenied(401, "app proxy signature rejected: missing or malformed")
    result = verify_app_proxy_req(
        {
            "method": request.method or "GET",
            "headers": {},
            "url": "https://proxy.invalid" + request.get_full_path(),
            "body": "",
        },
        {"client_id": settings.SHOPIFY_API_KEY, "client_secret": settings.SHOPIFY_API_SECRET},
    )
    if not result.ok or not result.shop:
        raise AccessDenied(401, f"app proxy signature rejected: {result.log.code}")
    domain = f"{result.shop}.myshopify.com"
    shop = _cached(f"proxy:{domain}", platform=Shop.Platform.SHOPIFY, domain=domain)
    if shop is None:
        raise AccessDenied(404, "shop not installed")
    customer = result.logged_in_customer_id or ""
    return Caller(shop=shop, customer_platform_id=customer if matches(PLATFORM_ID, customer) else "", via_proxy=True)


def _customer_key(shop_id: int) -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), f"storefront-customer:{shop_id}".encode(), hashlib.sha256).digest()


def customer_signature(shop: Shop | ShopInfo | int, customer_platform_id: str) -> str:
    """What a server-rendered storefront (demo store, WordPress plugin) puts next to the logged-in customer id.

    Outside the app proxy the customer id comes from the page, which anyone can edit; only a signature made with a
    secret the page never sees lets us trust it with cross-device history.
    """
    shop_id = shop if isinstance(shop, int) else (shop.id if isinstance(shop, ShopInfo) else shop.pk)
    return hmac.new(_customer_key(shop_id), customer_platform_id.encode(), hashlib.sha256).hexdigest()


def trusted_customer(shop: ShopInfo, customer_platform_id: str, signature: str) -> str:
    """customer_platform_id when its signature is valid, else "" (the claim is ignored, not an error)."""
    if not matches(PLATFORM_ID, customer_platform_id) or not signature:
        return ""
    expected = customer_signature(shop.id, customer_platform_id)
    valid = hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))
    return customer_platform_id if valid else ""


def customer_pk(shop: ShopInfo, customer_platform_id: str) -> int | None:
    if not customer_platform_id:
        return None
    return (
        Customer.objects.for_shop(shop.id)
        .filter(platform_id=customer_platform_id, redacted_at__isnull=True)
        .values_list("pk", flat=True)
        .first()
    )


def client_ip(request: HttpRequest, via_proxy: bool = False) -> str:
    """The shopper's address, which every per-address budget counts: behind Shopify's app proxy the first
    X-Forwarded-For hop; behind our own load balancers (TRUSTED_PROXY_HOPS = n) the n-th entry from the right,
    the one our nearest trusted proxy appended (entries to its left are whatever the client sent)."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    hops = int(getattr(settings, "TRUSTED_PROXY_HOPS", 0) or 0)
    if forwarded and not via_proxy and hops > 0:
        entries = [part.strip() for part in forwarded.split(",")]
        if len(entries) >= hops:
            return budget_address(entries[-hops])
    if forwarded and (via_proxy or getattr(settings, "STOREFRONT_TRUST_FORWARDED_FOR", False)):
        return budget_address(forwarded.split(",")[0].strip())
    return budget_address(request.META.get("REMOTE_ADDR", ""))


def budget_address(raw: str) -> str:
    """An address as the budgets count it: IPv6 by its /64, which one household or server holds whole (counted
    one by one, a /64 is 2^64 fresh addresses); IPv4 as it is; anything else capped, never trusted."""
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        return raw[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def cors_headers(origin: str, methods: str = "GET") -> dict[str, str]:
    if not origin:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": f"{methods}, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "86400",
    }

"""The public widget API: `GET /api/storefront/widgets/<widget>` (public key + Origin check) and the same behind
Shopify's app proxy (`/apps/personalize/widgets/<widget>` → `/api/storefront/proxy/widgets/<widget>`).

Fast path: the shop is resolved in process, a non-personal payload is served from cache as ready-made bytes
(keyed by the shop's rule version, so a rule change shows at once) with headers a CDN can use. A payload older
than PUBLIC_TTL is still served while one background rebuild replaces it (stale-while-revalidate), so after the
first request for a widget no shopper waits for the engines.

Shared cache down (Redis killed): a payload this worker holds, however old, is still served under the last rule
version it saw; anything else is a JSON 503 with Retry-After. Nothing new is built meanwhile: with no shared cache
every request would run the engines, on a database that is then the only thing still standing.
"""
from __future__ import annotations

import json
import time

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from backend.catalog.models import Collection, Product
from backend.core import outage
from backend.core.replica import replica_reads
from backend.experiments.runtime import Assignment, arm_for
from backend.recommendations.registry import PERSONAL_WIDGETS

from . import hotcache
from .access import (
    AccessDenied,
    Caller,
    ShopInfo,
    check_origin,
    cors_headers,
    customer_pk,
    shop_for_key,
    trusted_customer,
    verify_proxy,
)
from .fields import LOCALES, PLATFORM_ID, SEGMENT, VISITOR_ID, matches, plain_id
from .models import MAX_ITEMS, PAGE_TYPES, Widget
from .payload import CART_LOOKUPS, WidgetRequest, items_json
from .rules import cache_version, rule_for, with_arm

PUBLIC_TTL = 60  # seconds a non-personal payload is fresh, for us and for a CDN
STALE_TTL = 600  # seconds a stale one may still be served while it is rebuilt in the background
RETRY_REBUILD = 5  # seconds a worker waits before checking again on a stale payload's rebuild
LOCAL_TTL = 10  # seconds a worker reuses it from memory (still only under the shop's current rule version)
ID_TTL = 60  # seconds a worker remembers which pk a product or collection id from the page names
CART_IDS = 20  # product ids a cart widget may name: a cart page's lines, more are ignored past the check
_WIDGETS = frozenset(Widget.values)


def _json(status: int, body: dict | bytes, headers: dict[str, str] | None = None) -> HttpResponse:
    content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    response = HttpResponse(content, status=status, content_type="application/json")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class BadParams(Exception):
    pass


def _param(request: HttpRequest, name: str, pattern, default: str = "") -> str:  # noqa: ANN001
    value = request.GET.get(name, default)
    if value and not matches(pattern, value):
        raise BadParams(f"invalid {name}")
    return value


def _cart(request: HttpRequest) -> list[str]:
    """`cart=1,2,3`: the product ids in the shopper's cart (the cart widget's also-bought), at most CART_IDS."""
    raw = request.GET.get("cart", "")
    if not raw:
        return []
    if len(raw) > CART_IDS * 65:
        raise BadParams(f"cart names at most {CART_IDS} products")
    ids = list(dict.fromkeys(raw.split(",")))
    if len(ids) > CART_IDS or not all(matches(PLATFORM_ID, i) for i in ids):
        raise BadParams(f"cart must be up to {CART_IDS} comma-separated product ids")
    return ids


def _limit(request: HttpRequest, default: int) -> int:
    raw = request.GET.get("limit", "")
    if not raw:
        return default
    if not raw.isdecimal() or not 1 <= int(raw) <= MAX_ITEMS:  # not isdigit: int("²") raises
        raise BadParams(f"limit must be 1..{MAX_ITEMS}")
    return int(raw)


def _pk(model: type[Product] | type[Collection], shop: ShopInfo, platform_id: str) -> int | None:
    """Our pk for a product or collection id from the page, remembered in the worker (0: no such row) so the hot
    path doesn't ask the database on every request."""
    if not platform_id:
        return None
    key = f"{model.__name__}:{shop.id}:{plain_id(platform_id)}"
    pk = hotcache.ids.get(key)
    if pk is None:
        rows = model.objects.for_shop(shop.id).filter(platform_id=plain_id(platform_id))
        pk = rows.values_list("pk", flat=True).first() or 0
        hotcache.ids.set(key, pk, ID_TTL)
    return pk or None


def _serve(request: HttpRequest, widget: str, caller: Caller, origin: str) -> HttpResponse:
    shop = caller.shop
    cors = cors_headers(origin)
    product = _param(request, "product", PLATFORM_ID)
    collection = _param(request, "collection", PLATFORM_ID)
    # A collection page's own grid: bestsellers there leave out what the grid above already shows.
    not_collection = _param(request, "exclude_collection", PLATFORM_ID)
    cart = _cart(request)
    visitor = _param(request, "visitor", VISITOR_ID)
    segment = _param(request, "segment", SEGMENT)
    # The page type the widget sits on: the merchant may have left it off there (placement per page type).
    page = request.GET.get("page", "")
    if page and page not in PAGE_TYPES:
        raise BadParams("page must be product, collection, cart or home")
    locale = request.GET.get("locale") or shop.locale[:2]
    if locale not in LOCALES:
        if "locale" in request.GET:
            raise BadParams("locale must be es or en")
        locale = "en"

    version = cache_version(shop.id)
    rule = rule_for(shop.id, widget, version)
    # A running experiment on this widget: the visitor's arm overrides the rule (algorithm / on-off / title).
    assignment = _arm(shop.id, widget, visitor)
    if assignment is not None:
        rule = with_arm(rule, assignment.config)
    limit = _limit(request, rule.limit)
    limit = min(limit, rule.limit)
    # Only the personal widgets ("continue shopping", "recommended for you") and a known customer's list depend on
    # who asks; everything else is shared. With no identity (the script sends a visitor id only with analytics
    # consent) a personal widget has nothing personal to show: its shared answer is one anyone may cache.
    personal = bool(caller.customer_platform_id) or (widget in PERSONAL_WIDGETS and bool(visitor))
    vary = {"Vary": "Origin"}
    cache_headers = (
        {"Cache-Control": "private, no-store", **vary}
        if personal
        else {"Cache-Control": f"public, max-age={PUBLIC_TTL}, stale-while-revalidate={STALE_TTL}", **vary}
    )
    head = {"widget": widget, "enabled": rule.enabled, "title": rule.title(locale), "locale": locale,
            "currency": shop.currency, "platform": shop.platform,  # platform: how the script adds to the cart
            "layout": rule.layout, "style": rule.card_style}
    if assignment is not None:  # the script echoes these on its impression, which logs the exposure
        head.update({"experiment": assignment.experiment_id, "variant": assignment.arm})
    if not rule.enabled or not rule.shown_on(page):
        return _json(200, {**head, "enabled": False, "items": []}, {**cors, **cache_headers})

    product_id, collection_id = _pk(Product, shop, product), _pk(Collection, shop, collection)
    not_collection_id = _pk(Collection, shop, not_collection)
    # Only the lines the payload reads key its cache: extra made-up lines can't multiply the entries.
    cart_ids = tuple(sorted({pk for pk in (_pk(Product, shop, i) for i in cart) if pk}))[:CART_LOOKUPS]

    def build() -> bytes:
        req = WidgetRequest(
            widget=widget,
            locale=locale,
            limit=limit,
            product_id=product_id,
            collection_id=collection_id,
            exclude_collection_id=not_collection_id,
            cart_ids=cart_ids,
            visitor_id=visitor if personal else "",
            customer_id=customer_pk(shop, caller.customer_platform_id) if personal else None,
            segment=segment,
            personal=personal,
        )
        no_one = widget == Widget.RECENTLY_VIEWED and not personal
        items = b"[]" if no_one else items_json(shop, req, rule)
        # The head is a few fields; the items are cards serialised once per worker (cards.Card.item_json).
        return json.dumps(head, ensure_ascii=False, separators=(",", ":")).encode()[:-1] + b',"items":' + items + b"}"

    if personal:
        return _json(200, build(), {**cors, **cache_headers})

    # Keyed by what the payload is built from: made-up ids all share the payload of "no such product".
    cache_key = f"storefront:w:{shop.id}:{version}:{widget}:{product_id}:{collection_id}:{segment}:{locale}:{limit}"
    if not_collection_id or cart_ids:
        cache_key += f":n{not_collection_id}:c{'.'.join(map(str, cart_ids))}"
    if assignment is not None:
        cache_key += f":x{assignment.experiment_id}:{assignment.arm}"
    entry = hotcache.payloads.get(cache_key)
    if entry is None:
        try:
            entry = hotcache.shared_get(cache_key)
        except outage.Unavailable:
            held = hotcache.payloads.held(cache_key)
            if held is None:
                raise
            return _json(200, held[1], {**cors, **cache_headers})
        if entry is not None:
            hotcache.payloads.set(cache_key, entry, LOCAL_TTL)
    if entry is None:
        body = build()
        _store(cache_key, body)
        return _json(200, body, {**cors, **cache_headers})
    built_at, body = entry
    now = time.time()
    if now - built_at > PUBLIC_TTL:
        # Stale: this answer uses it at once and one background rebuild (one per key across all workers)
        # replaces it. Meanwhile this worker stops asking for a few seconds, so a stale hit stays a memory read.
        hotcache.payloads.set(cache_key, (now - PUBLIC_TTL + RETRY_REBUILD, body), RETRY_REBUILD)
        if hotcache.shared_add(f"{cache_key}:rebuilding", 1, 30):
            hotcache.refresh(lambda: _store(cache_key, build()))
    return _json(200, body, {**cors, **cache_headers})


def _store(cache_key: str, body: bytes) -> None:
    entry = (time.time(), body)
    hotcache.shared_set(cache_key, entry, STALE_TTL)
    hotcache.payloads.set(cache_key, entry, LOCAL_TTL)


def _arm(shop_id: int, widget: str, visitor: str) -> Assignment | None:
    """The visitor's experiment arm, or None. With the cache down and no experiments in this worker's memory there
    is none: the visitor sees the merchant's rule, and as the payload then echoes no arm, no exposure is logged, so
    the experiment's numbers stay true."""
    if not visitor:
        return None
    try:
        return arm_for(shop_id, "widget", widget, visitor)
    except outage.OUTAGE_ERRORS:
        return None


@csrf_exempt
@require_http_methods(["GET", "OPTIONS"])
@replica_reads
def widget(request: HttpRequest, widget: str) -> HttpResponse:
    if widget not in _WIDGETS:
        return _json(404, {"error": "unknown widget"})
    origin = ""
    try:
        shop = shop_for_key(request.GET.get("key", ""))
        if shop is None:
            return _json(404, {"error": "unknown key"})
        origin = check_origin(request, shop)
        if request.method == "OPTIONS":
            preflight = HttpResponse(status=204)
            for name, value in cors_headers(origin).items():
                preflight[name] = value
            return preflight
        caller = Caller(
            shop=shop,
            customer_platform_id=trusted_customer(
                shop, request.GET.get("customer", ""), request.GET.get("customer_sig", "")
            ),
        )
        return _serve(request, widget, caller, origin)
    except AccessDenied as denied:
        return _json(denied.status, {"error": denied.reason})
    except BadParams as bad:
        return _json(400, {"error": str(bad)})
    except outage.OUTAGE_ERRORS as exc:  # with CORS headers, so the script can read the 503
        return outage.unavailable(exc, request, cors_headers(origin))


@csrf_exempt
@require_http_methods(["GET"])
@replica_reads
def proxy_widget(request: HttpRequest, widget: str) -> HttpResponse:
    """Reached through the shop's own domain, so no Origin or CORS: the app-proxy signature is the credential."""
    if widget not in _WIDGETS:
        return _json(404, {"error": "unknown widget"})
    try:
        caller = verify_proxy(request)
        return _serve(request, widget, caller, origin="")
    except AccessDenied as denied:
        return _json(denied.status, {"error": denied.reason})
    except BadParams as bad:
        return _json(400, {"error": str(bad)})
    except outage.OUTAGE_ERRORS as exc:
        return outage.unavailable(exc, request)


@require_http_methods(["GET"])
def ping(request: HttpRequest) -> HttpResponse:
    """The bare-view reference the widget API benchmark compares against."""
    return HttpResponse(b'{"ok":true}', content_type="application/json")

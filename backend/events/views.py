"""`POST /api/storefront/events` (public key + Origin) and `/api/storefront/proxy/events` (Shopify app proxy).

The storefront script sends `text/plain` so browsers skip the CORS preflight; `application/json` works too.
Answers 202 with what was accepted and what was refused (index + reason); 4xx for an unusable envelope.
"""
from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from backend.core.json_input import JsonInputError, read_json
from backend.core.rejections import reject
from backend.storefront.access import (
    AccessDenied,
    Caller,
    check_origin,
    client_ip,
    cors_headers,
    customer_pk,
    shop_for_key,
    trusted_customer,
    verify_proxy,
)

from .bots import is_bot
from .ingest import MAX_BODY, MAX_DEPTH, BadBatch, parse_envelope, store_batch
from .outage_budget import ResilientBudget  # throttle's budgets, or a worker's own while the cache is down

RATE_LIMITED = "rate limited: too many events from this address or visitor this minute"


def _json(status: int, body: dict, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(body, separators=(",", ":")), status=status, content_type="application/json")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _read_json(request: HttpRequest) -> object:
    try:
        return read_json(request, max_bytes=MAX_BODY, max_depth=MAX_DEPTH)
    except JsonInputError as exc:
        raise BadBatch(exc.reason, status=exc.status) from None


def _ingest(request: HttpRequest, caller: Caller, data: object, cors: dict[str, str]) -> HttpResponse:
    shop = caller.shop
    if is_bot(request.headers.get("User-Agent", "")):
        reject("storefront_event", "bot user agent", shop.domain)
        return _json(202, {"accepted": 0, "rejected": [], "dropped": "bot"}, cors)
    customer_platform_id = caller.customer_platform_id
    if not caller.via_proxy and isinstance(data, dict):
        customer_platform_id = trusted_customer(
            shop, str(data.get("customer") or "")[:64], str(data.get("customer_sig") or "")[:128]
        )
    envelope = parse_envelope(data, customer_platform_id)
    # Budgets count events, not requests: a batch of 50 views spends 50.
    budget = ResilientBudget(shop.id, client_ip(request, caller.via_proxy), envelope.visitor_id)
    allowed, retry_after = budget.events(max(1, len(envelope.events)))
    if not allowed:
        reject("storefront_event", "rate limited", shop.domain)
        return _json(429, {"error": "rate limited"}, {**cors, "Retry-After": str(retry_after)})
    over = len(envelope.events) - allowed
    if over > 0:
        reject("storefront_event", "rate limited", shop.domain)
        envelope.events = envelope.events[:allowed]
    customer_id = customer_pk(shop, envelope.customer_platform_id) if envelope.customer_platform_id else None
    outcome = store_batch(shop.id, shop.domain, envelope, customer_id, product_budget=budget.products)
    refused = outcome.rejected + [{"index": allowed + i, "reason": RATE_LIMITED} for i in range(max(over, 0))]
    return _json(202, {"accepted": outcome.accepted, "rejected": refused}, cors)


@csrf_exempt
def events(request: HttpRequest) -> HttpResponse:
    if request.method not in ("POST", "OPTIONS"):
        return _json(405, {"error": "POST only"}, {"Allow": "POST, OPTIONS"})
    try:
        data = None
        key = request.GET.get("key", "")
        if request.method == "POST":
            data = _read_json(request)
            if not key and isinstance(data, dict) and isinstance(data.get("key"), str):
                key = data["key"]
        shop = shop_for_key(key)
        if shop is None:
            return _json(404, {"error": "unknown key"})
        origin = check_origin(request, shop)
        cors = cors_headers(origin, methods="POST")
        if request.method == "OPTIONS":
            preflight = HttpResponse(status=204)
            for name, value in cors.items():
                preflight[name] = value
            return preflight
        return _ingest(request, Caller(shop=shop), data, cors)
    except AccessDenied as denied:
        reject("storefront_event", denied.reason)
        return _json(denied.status, {"error": denied.reason})
    except BadBatch as bad:
        reject("storefront_event", bad.reason)
        return _json(bad.status, {"error": bad.reason})


@csrf_exempt
def proxy_events(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _json(405, {"error": "POST only"}, {"Allow": "POST"})
    try:
        caller = verify_proxy(request)
        return _ingest(request, caller, _read_json(request), {})
    except AccessDenied as denied:
        reject("storefront_event", denied.reason)
        return _json(denied.status, {"error": denied.reason})
    except BadBatch as bad:
        reject("storefront_event", bad.reason, "")
        return _json(bad.status, {"error": bad.reason})

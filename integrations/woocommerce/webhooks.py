"""`POST /woocommerce/webhooks/<shop id>`: verify, record once, queue, answer; and the per-topic handlers.

WooCommerce signs each delivery with the secret we gave the webhook when we created it: X-WC-Webhook-Signature is
base64(HMAC-SHA256(raw body, secret)). An unsigned or wrongly signed body gets 401 and writes nothing. The one
unsigned request WooCommerce sends is the ping when a webhook is created (`webhook_id=<id>`, form-encoded): it is
answered 200 and writes nothing either. A delivery is recorded under its webhook, topic and body hash (see
`delivery_key`: WooCommerce's delivery id repeats within a second), so a redelivery is applied once; the work runs
on the "webhooks" queue and is order-safe: the upserts compare `date_modified_gmt`, so an older delivery never
overwrites newer data.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from backend.core.json_input import JsonInputError, parse_json, read_body
from backend.core.outage import RETRY_AFTER
from backend.core.rejections import reject
from backend.shops.models import Shop, WebhookDelivery

from . import payloads
from .client import WooClient
from .models import WooStore
from .payloads import PayloadError

logger = logging.getLogger("personalize.woocommerce.webhooks")

PLATFORM = Shop.Platform.WOOCOMMERCE
MAX_BODY_BYTES = 5 * 1024 * 1024
HEADER_TOKEN = re.compile(r"^[A-Za-z0-9._:-]{1,255}$")
PING = re.compile(rb"^webhook_id=\d{1,20}$")
# The topics the app subscribes to (see auth.WEBHOOK_TOPICS); "restored" comes back from the trash.
TOPICS = frozenset(f"{r}.{e}" for r in ("product", "order", "customer") for e in ("created", "updated", "deleted",
                                                                                     "restored"))


def _respond(status: int, state: str, reason: str = "") -> JsonResponse:
    response = JsonResponse({"status": state, **({"reason": reason} if reason else {})}, status=status)
    if status == 503:  # "later", and when: the platform retries the delivery
        response["Retry-After"] = str(RETRY_AFTER)
    return response


def _refuse(status: int, reason: str, domain: str = "") -> JsonResponse:
    reject("woocommerce_webhook", reason, domain)
    return _respond(status, "rejected", reason)


def signature_for(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@csrf_exempt
@require_POST
def receive_webhook(request: HttpRequest, shop_id: int) -> JsonResponse:
    try:
        raw = read_body(request, MAX_BODY_BYTES)
    except JsonInputError as exc:
        return _refuse(exc.status, exc.reason)
    shop = Shop.objects.filter(pk=shop_id, platform=PLATFORM).first()
    store = WooStore.objects.for_shop(shop).first() if shop else None
    if shop is None or store is None:
        # WooCommerce disables a webhook after repeated failures: the right end for one pointing at nothing.
        return _refuse(404, "unknown shop")
    signature = (request.headers.get("X-WC-Webhook-Signature") or "").strip()
    if not signature and PING.match(raw.strip()):
        return _respond(200, "pong")
    # Compared as bytes: a header with non-ASCII characters must be a mismatch, not a TypeError.
    if not store.webhook_secret or not hmac.compare_digest(signature.encode("utf-8", "replace"),
                                                           signature_for(store.webhook_secret, raw).encode()):
        return _refuse(401, "missing or invalid X-WC-Webhook-Signature", shop.domain)
    if shop.state != Shop.State.INSTALLED:
        return _refuse(200, "shop disconnected, delivery ignored", shop.domain)
    topic = (request.headers.get("X-WC-Webhook-Topic") or "").strip().lower()
    if topic not in TOPICS:
        # Signed, so ours, but not something we handle: acknowledge so WooCommerce does not count a failure.
        return _refuse(200, f"unhandled topic {topic[:100]}", shop.domain)
    try:
        payload = parse_json(raw, max_bytes=MAX_BODY_BYTES)
    except JsonInputError as exc:
        return _refuse(exc.status, exc.reason, shop.domain)
    if not isinstance(payload, dict):
        return _refuse(400, "body is not a JSON object", shop.domain)

    delivery, fresh = _record(shop, topic, payload, request, raw)
    if delivery.processed_at is not None:
        return _respond(200, "duplicate")
    try:
        from .tasks.webhooks import process_webhook

        process_webhook.delay(delivery.pk)
    except Exception:  # broker down (or, eagerly, the work failed): the delivery is recorded; WooCommerce retries
        logger.exception("could not queue woocommerce webhook delivery=%s shop=%s", delivery.pk, shop.domain)
        return _respond(503, "retry later")
    return _respond(200, "queued" if fresh else "requeued")


def delivery_key(webhook_id: str, topic: str, raw: bytes, delivery_id: str = "") -> str:
    """What identifies one change: the webhook, its topic and the exact body. Not X-WC-Webhook-Delivery-ID:
    WooCommerce makes it from the webhook id and the current second, so two changes within a second share it.
    A byte-for-byte replay gets the same key (applied once); a different body never does.

    A delete's body is only `{"id": N}`, so delete → restore → delete would repeat the first key and the second
    delete would be dropped: deletes also carry the delivery id (a retry of one delivery keeps it; applying a
    delete twice changes nothing)."""
    # WooCommerce's webhook ids are numbers; the caps keep a hostile header inside the 255-character column.
    key = f"wc:{webhook_id[:40] or '-'}:{topic}:{hashlib.sha256(raw).hexdigest()}"
    return f"{key}:{delivery_id[:64]}" if topic.endswith(".deleted") and delivery_id else key


def _record(shop: Shop, topic: str, payload: dict, request: HttpRequest, raw: bytes) -> tuple[WebhookDelivery, bool]:
    webhook_id = (request.headers.get("X-WC-Webhook-ID") or "").strip()
    webhook_id = webhook_id if HEADER_TOKEN.match(webhook_id) else ""
    delivery_id = (request.headers.get("X-WC-Webhook-Delivery-ID") or "").strip()
    event_id = delivery_key(webhook_id, topic, raw, delivery_id if HEADER_TOKEN.match(delivery_id) else "")
    try:
        with transaction.atomic():
            return WebhookDelivery.objects.create(
                shop=shop, platform=PLATFORM, event_id=event_id, topic=topic, payload=payload, webhook_id=webhook_id,
            ), True
    except IntegrityError:
        return WebhookDelivery.objects.for_shop(shop).get(platform=PLATFORM, event_id=event_id), False


# --- processing (runs in the worker) -------------------------------------------------------------------------


def process_delivery(delivery_id: int) -> str:
    """Apply one recorded delivery; raises on a transient failure so the task retries."""
    delivery = WebhookDelivery.all_shops.select_related("shop").filter(pk=delivery_id).first()
    if delivery is None:
        return "gone"
    if delivery.processed_at is not None:
        return "already processed"
    done = WebhookDelivery.objects.for_shop(delivery.shop_id).filter(pk=delivery.pk)
    done.update(attempts=F("attempts") + 1)
    handler = HANDLERS.get(delivery.topic)
    if delivery.payload is None or handler is None or delivery.shop.state != Shop.State.INSTALLED:
        done.update(processed_at=timezone.now(), error="nothing to apply")
        return "skipped"
    try:
        handler(delivery.shop, delivery.payload)
    except PayloadError as exc:
        logger.warning("malformed %s webhook shop=%s: %s", delivery.topic, delivery.shop.domain, exc)
        done.update(processed_at=timezone.now(), failed=True, error=f"malformed payload: {exc}"[:2000])
        return "failed"
    except Exception as exc:
        done.update(error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    # Applied: the body may hold customer PII and has served its purpose.
    done.update(processed_at=timezone.now(), payload=None, error="")
    return "processed"


def _product_changed(shop: Shop, payload: dict) -> None:
    from backend.catalog.upsert import upsert_products

    if payload.get("type") == "variation" or payload.get("type") == "variable":
        # A variation's change arrives as product.updated carrying the variation. Variants are replaced as a set,
        # so read the parent and all its variations as they are now; current data is never older than stored.
        parent_id = payloads.resource_id(payload.get("parent_id") if payload.get("type") == "variation"
                                         else payload.get("id"), "product")
        client = WooClient.for_shop(shop)
        parent = client.get(f"products/{parent_id}")
        upsert_products(shop, [payloads.product_from_wc(parent, client.variations(parent["id"]))])
        return
    upsert_products(shop, [payloads.product_from_wc(payload)])


def _product_deleted(shop: Shop, payload: dict) -> None:
    from backend.catalog.upsert import delete_products

    delete_products(shop, [payloads.deleted_id(payload)])


def _order_changed(shop: Shop, payload: dict) -> None:
    from backend.orders.upsert import upsert_orders

    upsert_orders(shop, [payloads.order_from_wc(payload)])


def _order_deleted(shop: Shop, payload: dict) -> None:
    from backend.orders.models import Order

    # A deleted order leaves the history (recommendations, analytics) the way WooCommerce's own reports do.
    Order.objects.for_shop(shop).filter(platform_id=payloads.deleted_id(payload)).delete()


def _customer_changed(shop: Shop, payload: dict) -> None:
    from backend.customers.upsert import upsert_customers

    upsert_customers(shop, [payloads.customer_from_wc(payload)])


def _customer_deleted(shop: Shop, payload: dict) -> None:
    from backend.customers.upsert import delete_customers

    delete_customers(shop, [payloads.deleted_id(payload)])


HANDLERS: dict[str, Callable[[Shop, dict], None]] = {
    "product.created": _product_changed, "product.updated": _product_changed, "product.restored": _product_changed,
    "product.deleted": _product_deleted,
    "order.created": _order_changed, "order.updated": _order_changed, "order.restored": _order_changed,
    "order.deleted": _order_deleted,
    "customer.created": _customer_changed, "customer.updated": _customer_changed,
    "customer.deleted": _customer_deleted,
}

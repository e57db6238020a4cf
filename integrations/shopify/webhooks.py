"""`POST /shopify/webhooks`: verify, record once, queue, answer; and the per-topic handlers the queued task runs.

The request path does only what must happen before Shopify hears 200: check the HMAC over the raw body, resolve
the shop, record a WebhookDelivery keyed by X-Shopify-Event-Id (a redelivery finds the row and is applied once),
queue `process_webhook` on the "webhooks" queue. The work itself runs in the worker and is idempotent: the upserts
compare `updated_at`, deletions and redactions are re-runnable, so a retried or duplicated task changes nothing.

Which shop a delivery belongs to comes from X-Shopify-Shop-Domain, which the HMAC does not cover; handlers only
ever touch that one shop's rows, and compliance and uninstall bodies, which name their shop inside the signed body,
must agree with the header.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Sum
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from backend.core.json_input import JsonInputError, parse_json, read_body
from backend.core.outage import RETRY_AFTER
from backend.core.rejections import reject
from backend.core.timefmt import parse_ts
from backend.shops import redaction
from backend.shops.models import Shop, WebhookDelivery
from backend.shops.uninstall import uninstall_shop

from . import payloads
from .payloads import PayloadError

logger = logging.getLogger("personalize.shopify.webhooks")

PLATFORM = Shop.Platform.SHOPIFY
# Shopify's largest bodies (orders with hundreds of lines) stay well under this; anything bigger is not Shopify.
MAX_BODY_BYTES = 5 * 1024 * 1024
SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com$")
HEADER_TOKEN = re.compile(r"^[A-Za-z0-9._:/@=+-]{1,255}$")

COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
# Accepted for a shop that already uninstalled: the compliance duties outlive the install, and an uninstall
# redelivery must still answer 200.
AFTER_UNINSTALL_TOPICS = COMPLIANCE_TOPICS | {"app/uninstalled"}


def _respond(status: int, state: str, reason: str = "") -> JsonResponse:
    body = {"status": state}
    if reason:
        body["reason"] = reason
    response = JsonResponse(body, status=status)
    if status == 503:  # "later", and when: the platform retries the delivery
        response["Retry-After"] = str(RETRY_AFTER)
    return response


def _refuse(status: int, reason: str, domain: str = "") -> JsonResponse:
    reject("shopify_webhook", reason, domain)
    return _respond(status, "rejected", reason)


def _verify(request: HttpRequest, raw: bytes) -> bool:
    """X-Shopify-Hmac-Sha256 is base64(HMAC-SHA256(raw body, app secret)); checked over the bytes as received,
    before anything parses them (the SDK's check parses the body first, so a hostile body crashed it)."""
    if not settings.SHOPIFY_API_SECRET:
        return False  # an empty key would make every HMAC computable by anyone
    received = (request.headers.get("X-Shopify-Hmac-Sha256") or "").encode("utf-8", "replace")
    if not received:
        return False
    valid = False
    # During a secret rotation Shopify may still sign with the previous secret. Both are compared, always.
    for secret in (settings.SHOPIFY_API_SECRET, getattr(settings, "SHOPIFY_API_SECRET_OLD", "") or ""):
        if secret:
            expected = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest())
            valid |= hmac.compare_digest(expected, received)
    return valid


@csrf_exempt
@require_POST
def receive_webhook(request: HttpRequest) -> JsonResponse:
    topic = (request.headers.get("X-Shopify-Topic") or "").strip().lower()
    domain = (request.headers.get("X-Shopify-Shop-Domain") or "").strip().lower()
    try:
        # Read from the stream, so Django's 2.5 MB form-data cap does not apply to a legitimate large order.
        raw = read_body(request, MAX_BODY_BYTES)
    except JsonInputError as exc:
        # A compliance topic answers 401 whenever its signature cannot be verified (Shopify's review checks it).
        return _refuse(401 if topic in COMPLIANCE_TOPICS else exc.status, exc.reason, domain[:255])
    if not _verify(request, raw):
        return _refuse(401, "missing or invalid X-Shopify-Hmac-Sha256", domain[:255])

    if not SHOP_DOMAIN.match(domain):
        return _refuse(400, "missing or malformed X-Shopify-Shop-Domain", domain[:255])
    if not topic or len(topic) > 100:
        return _refuse(400, "missing X-Shopify-Topic", domain)
    try:
        payload = parse_json(raw, max_bytes=MAX_BODY_BYTES)
    except JsonInputError as exc:
        return _refuse(exc.status, exc.reason, domain)
    body = raw.decode("utf-8")  # parse_json checked it is UTF-8
    if not isinstance(payload, dict):
        return _refuse(400, "body is not a JSON object", domain)
    if topic not in HANDLERS:
        # Signed by Shopify but not a topic we subscribe to: acknowledge so Shopify does not retry it for hours.
        return _refuse(200, f"unhandled topic {topic}", domain)
    named = _domain_in_body(topic, payload)
    if named and named != domain:
        return _refuse(400, "shop in the body does not match X-Shopify-Shop-Domain", domain)

    try:
        return _accept(request, topic, domain, payload, body)
    except DatabaseError:
        # A transient database failure (lock timeout, failover): nothing was promised, Shopify retries later.
        logger.exception("could not record webhook topic=%s shop=%s", topic, domain)
        return _respond(503, "retry later")


def _accept(request: HttpRequest, topic: str, domain: str, payload: dict, body: str) -> JsonResponse:
    shop = Shop.objects.filter(platform=PLATFORM, domain=domain).first()
    if shop is None:
        # Nothing to apply it to (never installed, or already redacted). A 4xx would only make Shopify retry for
        # hours and flag the endpoint as failing; there is no state a retry could find.
        if topic in COMPLIANCE_TOPICS:
            logger.info("compliance webhook for a shop we hold no data of: topic=%s shop=%s", topic, domain)
            return _respond(200, "nothing held")
        return _refuse(200, "unknown shop", domain)
    if shop.state == Shop.State.UNINSTALLED and topic not in AFTER_UNINSTALL_TOPICS:
        return _refuse(200, f"shop uninstalled, {topic} ignored", domain)

    delivery, fresh = _record(shop, topic, payload, request, body)
    if delivery.processed_at is not None:
        return _respond(200, "duplicate")
    try:
        from .tasks.webhooks import process_webhook

        process_webhook.delay(delivery.pk)
    except Exception:  # broker down (or, with eager Celery, the work failed): make Shopify retry later
        logger.exception("could not queue webhook delivery=%s topic=%s shop=%s", delivery.pk, topic, domain)
        return _respond(503, "retry later")
    return _respond(200, "queued" if fresh else "requeued")


def _domain_in_body(topic: str, payload: dict) -> str:
    if topic in COMPLIANCE_TOPICS:
        return payloads.compliance_shop_domain(payload) or "-"  # compliance bodies always name their shop
    if topic == "app/uninstalled":
        return str(payload.get("myshopify_domain") or "").strip().lower()[:255]
    return ""


def _event_id(request: HttpRequest, topic: str, body: str) -> str:
    """X-Shopify-Event-Id names the event across redeliveries; the body hash stands in if a delivery lacks it."""
    for header in ("X-Shopify-Event-Id", "X-Shopify-Webhook-Id"):
        value = (request.headers.get(header) or "").strip()
        if HEADER_TOKEN.match(value):
            return value
    return "sha256:" + hashlib.sha256(f"{topic}\n{body}".encode()).hexdigest()


def _record(shop: Shop, topic: str, payload: dict, request: HttpRequest, body: str) -> tuple[WebhookDelivery, bool]:
    event_id = _event_id(request, topic, body)
    webhook_id = (request.headers.get("X-Shopify-Webhook-Id") or "").strip()
    api_version = (request.headers.get("X-Shopify-API-Version") or "").strip()
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                shop=shop,
                platform=PLATFORM,
                event_id=event_id,
                webhook_id=webhook_id if HEADER_TOKEN.match(webhook_id) else "",
                topic=topic,
                payload=payload,
                api_version=api_version[:20],
                triggered_at=parse_ts(request.headers.get("X-Shopify-Triggered-At")),
            )
        return delivery, True
    except IntegrityError:
        existing = WebhookDelivery.objects.for_shop(shop).filter(platform=PLATFORM, event_id=event_id).first()
        if existing is None:  # not a duplicate: the shop row went away under us (a concurrent shop/redact)
            raise
        return existing, False


# --- processing (runs in the worker) -------------------------------------------------------------------------------


def process_delivery(delivery_id: int) -> str:
    """Apply one recorded delivery. Returns what happened; raises on a transient failure so the task retries."""
    # The queue message carries only the id; the row says which shop. (all_shops: the id is all a worker has.)
    delivery = WebhookDelivery.all_shops.select_related("shop").filter(pk=delivery_id).first()
    if delivery is None:
        return "gone"  # the shop was redacted while this waited in the queue
    if delivery.processed_at is not None:
        return "already processed"
    done = WebhookDelivery.objects.for_shop(delivery.shop_id).filter(pk=delivery.pk)
    done.update(attempts=F("attempts") + 1)
    handler = HANDLERS.get(delivery.topic)
    if delivery.payload is None or handler is None:
        done.update(processed_at=timezone.now(), error="nothing to apply")
        return "skipped"
    try:
        handler(delivery.shop, delivery.payload)
    except PayloadError as exc:
        # Retrying cannot fix a malformed body; keep it for a human, stop retrying.
        logger.warning("malformed %s webhook shop=%s: %s", delivery.topic, delivery.shop.domain, exc)
        done.update(processed_at=timezone.now(), failed=True, error=f"malformed payload: {exc}"[:2000])
        return "failed"
    except Exception as exc:
        done.update(error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    # Applied: the body has served its purpose and may hold customer PII, so it goes.
    done.update(processed_at=timezone.now(), payload=None, error="")
    return "processed"


def stale_deliveries(older_than: timedelta = timedelta(minutes=10), max_attempts: int = 30,
                     limit: int = 1000) -> list[int]:
    """Ids of deliveries still unapplied well after arrival: their queue message was lost or retries ran out.
    Past `max_attempts` a delivery is left for a human (its error says why) instead of looping forever."""
    # all_shops: a cross-shop maintenance job; it only reads ids and hands each to the per-shop task.
    return list(
        WebhookDelivery.all_shops.filter(
            platform=PLATFORM, processed_at__isnull=True, failed=False,
            received_at__lt=timezone.now() - older_than, attempts__lt=max_attempts,
        ).order_by("received_at").values_list("pk", flat=True)[:limit]
    )


def _product_changed(shop: Shop, payload: dict) -> None:
    from backend.catalog.upsert import upsert_products

    product = payloads.product_from_rest(payload)
    if product.handle and product.status == "active":
        # The myshopify.com address redirects to the store's primary domain.
        product = replace(product, url=f"https://{shop.domain}/products/{product.handle}")
    upsert_products(shop, [product])


def _product_deleted(shop: Shop, payload: dict) -> None:
    from backend.catalog.upsert import delete_products

    delete_products(shop, [payloads.deleted_id(payload)])


def _inventory_level_changed(shop: Shop, payload: dict) -> None:
    from backend.catalog.upsert import apply_inventory_updates

    update = payloads.inventory_update_from_rest(payload)
    if update is not None:
        apply_inventory_updates(shop, [update])


def _collection_changed(shop: Shop, payload: dict) -> None:
    from backend.catalog.upsert import upsert_collections

    upsert_collections(shop, [payloads.collection_from_rest(payload)])


def _collection_deleted(shop: Shop, payload: dict) -> None:
    from backend.catalog.upsert import delete_collections

    delete_collections(shop, [payloads.deleted_id(payload)])


def _customer_changed(shop: Shop, payload: dict) -> None:
    from backend.customers.upsert import upsert_customers

    upsert_customers(shop, [payloads.customer_from_rest(payload)])


def _customer_deleted(shop: Shop, payload: dict) -> None:
    from backend.customers.upsert import delete_customers

    delete_customers(shop, [payloads.deleted_id(payload)])


def _order_changed(shop: Shop, payload: dict) -> None:
    from backend.customers.models import Customer
    from backend.orders.upsert import upsert_orders

    order = payloads.order_from_rest(payload)
    if order.customer_platform_id and Customer.objects.for_shop(shop).filter(
        platform_id=order.customer_platform_id, redacted_at__isnull=False
    ).exists():
        # The customer was redacted: later versions of their orders must not bring the PII back.
        order = replace(
            order, email="", shipping_address={}, note_attributes=(),
            line_items=None if order.line_items is None else tuple(
                replace(li, properties=()) for li in order.line_items
            ),
        )
    upsert_orders(shop, [order])


def _refund_created(shop: Shop, payload: dict) -> None:
    """refunds/create: record the refund on its order. orders/updated follows with the full picture (line
    quantities); this makes the refunded amount right as soon as the refund happens. Idempotent by refund id."""
    from backend.orders.models import Order, Refund

    refund = payloads.refund_from_rest(payload)
    order = Order.objects.for_shop(shop).filter(platform_id=payloads.refund_order_id(payload)).first()
    if order is None:
        return  # the order itself has not arrived; its orders/create (or the reconciliation) brings the refund
    with transaction.atomic():
        Refund.objects.for_shop(shop).update_or_create(
            shop=shop, platform_id=refund.platform_id,
            defaults={"order": order, "amount": refund.amount, "note": refund.note,
                      "platform_created_at": refund.created_at},
        )
        total = Refund.objects.for_shop(shop).filter(order=order).aggregate(total=Sum("amount"))["total"]
        Order.objects.for_shop(shop).filter(pk=order.pk).update(total_refunded=total or 0)


def _app_uninstalled(shop: Shop, payload: dict) -> None:
    uninstall_shop(shop)


def _bulk_operation_finished(shop: Shop, payload: dict) -> None:
    if not shop.is_active:
        return  # the token is gone; the sync was cancelled on uninstall
    from .sync import on_bulk_operation_finished

    on_bulk_operation_finished(shop, payload)


def _customer_data_request(shop: Shop, payload: dict) -> None:
    redaction.export_customer(shop, payloads.customer_ref(payload, "orders_requested"))


def _customer_redact(shop: Shop, payload: dict) -> None:
    redaction.redact_customer(shop, payloads.customer_ref(payload, "orders_to_redact"))


# Shopify sends shop/redact 48 hours after an uninstall, unless the merchant reinstalled in between.
SHOP_REDACT_DELAY = timedelta(hours=48)


def _shop_redact(shop: Shop, payload: dict) -> None:
    if shop.is_active and shop.installed_at and shop.installed_at > timezone.now() - SHOP_REDACT_DELAY:
        # Installed again after the uninstall this request is about: the merchant is back, their data stays.
        # (Installed for longer than that means we missed app/uninstalled: then the request stands.)
        logger.warning("shop/redact for a shop reinstalled since; kept shop=%s", shop.domain)
        return
    redaction.redact_shop(shop.pk)


HANDLERS: dict[str, Callable[[Shop, dict[str, Any]], None]] = {
    "products/create": _product_changed,
    "products/update": _product_changed,
    "products/delete": _product_deleted,
    "inventory_levels/update": _inventory_level_changed,
    "collections/create": _collection_changed,
    "collections/update": _collection_changed,
    "collections/delete": _collection_deleted,
    "customers/create": _customer_changed,
    "customers/update": _customer_changed,
    "customers/delete": _customer_deleted,
    "orders/create": _order_changed,
    "orders/updated": _order_changed,
    "orders/paid": _order_changed,
    "orders/cancelled": _order_changed,
    "refunds/create": _refund_created,
    "app/uninstalled": _app_uninstalled,
    "bulk_operations/finish": _bulk_operation_finished,
    "customers/data_request": _customer_data_request,
    "customers/redact": _customer_redact,
    "shop/redact": _shop_redact,
}

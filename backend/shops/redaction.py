"""GDPR: a customer's data export, a customer's redaction, and the deletion of a whole shop.

Platform-neutral: Shopify's compliance webhooks (and WooCommerce's eraser, later) call these.
Other apps that keep personal data add to the registries from their AppConfig.ready():

    from backend.shops import redaction

    @redaction.customer_redactor
    def forget_events(shop, ref): ...            # remove the customer's PII from your rows

    @redaction.customer_exporter("events")
    def export_events(shop, ref) -> list | dict: ...   # what the export shows under "events"

`redact_shop` needs no registration: it walks every model with a foreign key to Shop. Non-database state
(caches, files) registers with `shop_redactor`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models import Q

from .models import CustomerDataExport, Shop, WebhookDelivery

logger = logging.getLogger("personalize.gdpr")


@dataclass(frozen=True)
class CustomerRef:
    """Who a compliance request is about, as the platform names them."""

    platform_id: str
    email: str = ""
    phone: str = ""
    order_ids: tuple[str, ...] = ()
    request_id: str = ""

    def needles(self) -> list[str]:
        """Strings whose presence in a stored blob means the blob is about this customer."""
        return [s for s in (self.email, self.phone) if len(s) >= 5]


CustomerRedactor = Callable[[Shop, CustomerRef], None]
CustomerExporter = Callable[[Shop, CustomerRef], Any]
ShopRedactor = Callable[[int, str], None]

_customer_redactors: list[CustomerRedactor] = []
_customer_exporters: dict[str, CustomerExporter] = {}
_shop_redactors: list[ShopRedactor] = []


def customer_redactor(fn: CustomerRedactor) -> CustomerRedactor:
    if fn not in _customer_redactors:
        _customer_redactors.append(fn)
    return fn


def customer_exporter(section: str) -> Callable[[CustomerExporter], CustomerExporter]:
    def register(fn: CustomerExporter) -> CustomerExporter:
        _customer_exporters[section] = fn
        return fn

    return register


def shop_redactor(fn: ShopRedactor) -> ShopRedactor:
    if fn not in _shop_redactors:
        _shop_redactors.append(fn)
    return fn


# --- whose rows ----------------------------------------------------------------------------------------------------


def customers_of(shop: Shop, ref: CustomerRef) -> models.QuerySet:
    """The shop's customer rows a redaction request names (by platform id or email)."""
    from backend.customers.models import Customer

    match = Q(pk__in=[])
    if ref.platform_id:
        match |= Q(platform_id=ref.platform_id)
    if ref.email:
        match |= Q(email__iexact=ref.email)
    return Customer.objects.for_shop(shop).filter(match)


def _orders(shop: Shop, ref: CustomerRef) -> models.QuerySet:
    from backend.orders.models import Order

    match = Q(pk__in=[])
    if ref.platform_id:
        match |= Q(customer_platform_id=ref.platform_id)
    if ref.email:
        match |= Q(email__iexact=ref.email)
    if ref.order_ids:
        match |= Q(platform_id__in=list(ref.order_ids))
    match |= Q(customer__in=customers_of(shop, ref))
    return Order.objects.for_shop(shop).filter(match)


# --- export --------------------------------------------------------------------------------------------------------


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def export_customer(shop: Shop, ref: CustomerRef) -> CustomerDataExport:
    """Gather what we hold about the customer and keep it for the merchant; re-running a request replaces it."""
    profile_fields = ["platform_id", "email", "phone", "first_name", "last_name", "country", "province", "city",
                      "tags", "accepts_marketing", "platform_created_at", "redacted_at"]
    profiles = [{f: _iso(getattr(c, f)) for f in profile_fields} for c in customers_of(shop, ref)]
    orders = []
    for order in _orders(shop, ref).prefetch_related("line_items", "refunds").order_by("processed_at", "pk"):
        orders.append({
            "id": order.platform_id,
            "name": order.name,
            "email": order.email,
            "processed_at": _iso(order.processed_at),
            "currency": order.currency,
            "total_price": str(order.total_price),
            "total_refunded": str(order.total_refunded),
            "channel": order.channel,
            "financial_status": order.financial_status,
            "cancelled_at": _iso(order.cancelled_at),
            "discount_codes": order.discount_codes,
            "shipping_address": order.shipping_address,
            "note_attributes": order.note_attributes,
            "line_items": [
                {"id": li.platform_id, "title": li.title, "sku": li.sku, "quantity": li.quantity,
                 "refunded_quantity": li.refunded_quantity, "price": str(li.price), "properties": li.properties}
                for li in order.line_items.all()
            ],
            "refunds": [{"id": r.platform_id, "amount": str(r.amount), "created_at": _iso(r.platform_created_at)}
                        for r in order.refunds.all()],
        })
    data: dict[str, Any] = {
        "shop": shop.domain,
        "customer": {"id": ref.platform_id, "email": ref.email, "phone": ref.phone},
        "profiles": profiles,
        "orders": orders,
    }
    for section, exporter in _customer_exporters.items():
        data[section] = exporter(shop, ref)
    request_id = ref.request_id or f"customer-{ref.platform_id or ref.email}"
    export, _ = CustomerDataExport.objects.for_shop(shop).update_or_create(
        shop=shop, request_id=request_id, defaults={"customer_platform_id": ref.platform_id, "data": data}
    )
    logger.info("customer data export ready shop=%s request=%s export=%s orders=%d",
                shop.domain, request_id, export.pk, len(orders))
    return export


# --- customer redaction --------------------------------------------------------------------------------------------


def redact_customer(shop: Shop, ref: CustomerRef) -> None:
    """Remove the customer's personal data from every app's rows; safe to re-run."""
    with transaction.atomic():
        for redactor in list(_customer_redactors):
            redactor(shop, ref)
    logger.info("customer redacted shop=%s customer=%s", shop.domain, ref.platform_id or "-")


@customer_redactor
def _redact_orders(shop: Shop, ref: CustomerRef) -> None:
    from backend.orders.models import LineItem, Order, Refund

    # Orders stay (sales history feeds recommendations) but lose who bought them and where they shipped.
    order_ids = list(_orders(shop, ref).values_list("pk", flat=True))
    for start in range(0, len(order_ids), 1000):
        chunk = order_ids[start:start + 1000]
        Order.objects.for_shop(shop).filter(pk__in=chunk).update(email="", shipping_address={}, note_attributes=[])
        LineItem.objects.for_shop(shop).filter(order_id__in=chunk).update(properties=[])
        Refund.objects.for_shop(shop).filter(order_id__in=chunk).update(note="")


@customer_redactor
def _redact_profile(shop: Shop, ref: CustomerRef) -> None:
    for customer in customers_of(shop, ref):
        customer.redact()
        customer.save()


def mentions(blob: Any, ref: CustomerRef) -> bool:
    """Does a stored JSON body name this customer (by email, phone, or as the customer object)?"""
    emails = {ref.email.lower()} - {""}
    phones = {ref.phone} - {""}
    stack = [blob]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                if key in ("email", "contact_email") and isinstance(value, str) and value.lower() in emails:
                    return True
                if key == "phone" and isinstance(value, str) and value in phones:
                    return True
                if key == "customer" and isinstance(value, dict) and ref.platform_id \
                        and str(value.get("id", "")) == ref.platform_id:
                    return True
                if isinstance(value, dict | list):
                    stack.append(value)
    return False


# Keys of platform bodies that hold personal data: blanked in queued bodies of a redacted customer.
PII_KEYS = frozenset({"email", "contact_email", "phone", "first_name", "last_name", "note", "customer_locale"})
PII_BLOCKS = frozenset({"shipping_address", "billing_address", "default_address", "addresses", "note_attributes",
                        "properties", "client_details", "browser_ip",
                        # WooCommerce's names for the same (street, company and postcode live in billing/shipping)
                        "billing", "shipping", "customer_note", "customer_ip_address", "customer_user_agent",
                        "meta_data"})


def scrub(blob: Any) -> Any:
    """A copy of a platform body without personal data; ids, amounts and statuses stay, so it still applies."""
    if isinstance(blob, list):
        return [scrub(item) for item in blob]
    if not isinstance(blob, dict):
        return blob
    out = {}
    for key, value in blob.items():
        if key in PII_KEYS:
            out[key] = ""
        elif key in PII_BLOCKS:
            out[key] = [] if isinstance(value, list) else {}
        else:
            out[key] = scrub(value)
    return out


@customer_redactor
def _forget_exports_and_scrub_queued_bodies(shop: Shop, ref: CustomerRef) -> None:
    # An export is the customer's data by design: it goes.
    exports = CustomerDataExport.objects.for_shop(shop)
    if ref.platform_id:
        exports.filter(customer_platform_id=ref.platform_id).delete()
    for export in exports.iterator(chunk_size=100):
        if mentions(export.data.get("customer"), ref) or mentions(export.data.get("profiles"), ref):
            export.delete()
    # A webhook still waiting in the queue may quote them: it keeps what it changes (a status, a refund) and
    # loses who they are. (Applying it later cannot bring the PII back: upserts keep redacted rows redacted.)
    pending = WebhookDelivery.objects.for_shop(shop).filter(payload__isnull=False)  # queued or failed
    for delivery in pending.iterator(chunk_size=500):
        about_them = mentions(delivery.payload, ref) or (
            delivery.topic.startswith("customers/") and ref.platform_id and isinstance(delivery.payload, dict)
            and str(delivery.payload.get("id", "")) == ref.platform_id
        )
        if about_them:
            delivery.payload = scrub(delivery.payload)
            delivery.save(update_fields=["payload"])


# --- shop deletion -------------------------------------------------------------------------------------------------


def shop_owned_models() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) where the model has a foreign key to Shop, children before their parents."""
    owned: list[tuple[type[models.Model], str]] = []
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is Shop:
                owned.append((model, field.name))
    return _children_first(owned)


def _children_first(owned: list[tuple[type[models.Model], str]]) -> list[tuple[type[models.Model], str]]:
    """Delete rows that point at other shop rows first, so each batch delete cascades into nothing."""
    pending = list(owned)
    ordered: list[tuple[type[models.Model], str]] = []
    while pending:
        pending_models = {m for m, _ in pending}
        ready = [
            (m, f) for m, f in pending
            if not any(
                other is not m and any(
                    fld.is_relation and fld.related_model is m for fld in other._meta.concrete_fields
                )
                for other in pending_models
            )
        ]
        if not ready:  # a cycle: let Django's cascade sort out the rest
            ready = pending
        ordered.extend(ready)
        pending = [p for p in pending if p not in ready]
    return ordered


def _batches(model: type[models.Model], field: str, shop_id: int, size: int) -> Iterator[list[Any]]:
    qs = model._base_manager.filter(**{f"{field}_id": shop_id}).order_by("pk").values_list("pk", flat=True)
    while True:
        pks = list(qs[:size])
        if not pks:
            return
        yield pks


def redact_shop(shop_id: int, batch_size: int = 2000) -> dict[str, int]:
    """Delete every row of the shop in every table, then the shop. Batched and idempotent: re-run after a crash."""
    shop = Shop.objects.filter(pk=shop_id).first()
    domain = shop.domain if shop else ""
    deleted: dict[str, int] = {}
    for model, field in shop_owned_models():
        for pks in _batches(model, field, shop_id, batch_size):
            with transaction.atomic():
                _, per_model = model._base_manager.filter(pk__in=pks).delete()
            for label, n in per_model.items():
                deleted[label] = deleted.get(label, 0) + n
    for redactor in list(_shop_redactors):
        redactor(shop_id, domain)
    if shop is not None:
        Shop.objects.filter(pk=shop_id).delete()
        deleted["shops.Shop"] = deleted.get("shops.Shop", 0) + 1
    logger.info("shop redacted shop=%s rows=%d", domain or shop_id, sum(deleted.values()))
    return deleted

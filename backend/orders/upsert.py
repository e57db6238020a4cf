"""Write platform orders (with their lines and refunds) into our models: batched, idempotent, order-safe.

An order older than the stored version changes nothing, lines and refunds included. Lines link to our product,
variant and customer rows by platform id when those exist; when the catalog arrives later, `link_line_items`
(called by the catalog upsert) fills the links in.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, models, transaction
from django.db.models import OuterRef, Subquery

from backend.catalog.models import Product, Variant
from backend.catalog.upsert import cut, ids_by_platform_id, select_fresh, upsert_rows
from backend.customers.models import Customer
from backend.shops.models import Shop
from integrations.base.types import OrderData

from .models import LineItem, Order, Refund
from .signals import REALTIME_BATCH_MAX, orders_recorded

CHANNELS = {c.value for c in Order.Channel}
ORDER_FIELDS = [
    "name", "customer", "customer_platform_id", "email", "currency", "subtotal_price", "total_price",
    "total_discounts", "total_tax", "total_refunded", "discount_codes", "channel", "source_name",
    "financial_status", "cancelled_at", "cancel_reason", "shipping_address", "note_attributes", "processed_at",
    "platform_created_at", "platform_updated_at",
]
LINE_FIELDS = [
    "order", "product", "variant", "product_platform_id", "variant_platform_id", "title", "sku", "quantity",
    "refunded_quantity", "price", "total_discount", "properties",
]


def upsert_orders(shop: Shop, items: Iterable[OrderData]) -> int:
    """Create or update orders; returns how many were applied (stale versions are skipped)."""
    with transaction.atomic():
        fresh, stored = select_fresh(Order, shop, items)
        if not fresh:
            return 0
        customers = ids_by_platform_id(Customer, shop, [o.customer_platform_id for o in fresh
                                                        if o.customer_platform_id])
        rows = [_order_row(shop, o, customers, stored.get(o.platform_id, (0, None))[1]) for o in fresh]
        order_ids = {pid: pk for pid, (pk, _) in stored.items()}
        order_ids.update(upsert_rows(Order, rows, ["shop", "platform_id"], ORDER_FIELDS, ids_by="platform_id"))
        _write_lines(shop, fresh, order_ids, preexisting=set(stored))
        _write_refunds(shop, fresh, order_ids, preexisting=set(stored))
        written = [order_ids[o.platform_id] for o in fresh if o.platform_id in order_ids]
        customer_ids = sorted({c for c in (customers.get(o.customer_platform_id) for o in fresh) if c})
        bulk = len(fresh) > REALTIME_BATCH_MAX
        transaction.on_commit(
            lambda: orders_recorded.send(
                sender=Order, shop_id=shop.pk, order_ids=written, customer_ids=customer_ids, bulk=bulk
            ),
            robust=True,  # a follower's failure must never undo or fail the write
        )
    return len(fresh)


def _order_row(shop: Shop, o: OrderData, customers: dict[str, int], stored_ts) -> dict:  # noqa: ANN001
    refunded = o.total_refunded or sum((r.amount for r in o.refunds or ()), start=o.total_refunded)
    return {
        "shop_id": shop.pk,
        "platform_id": cut(o.platform_id, 64),
        "name": cut(o.name, 64),
        "customer_id": customers.get(o.customer_platform_id),
        "customer_platform_id": cut(o.customer_platform_id, 64),
        "email": cut(o.email, 320),
        "currency": cut(o.currency or shop.currency, 3).upper(),
        "subtotal_price": o.subtotal_price,
        "total_price": o.total_price,
        "total_discounts": o.total_discounts,
        "total_tax": o.total_tax,
        "total_refunded": refunded,
        "discount_codes": [cut(c, 255) for c in o.discount_codes][:50],
        "channel": o.channel if o.channel in CHANNELS else Order.Channel.OTHER,
        "source_name": cut(o.source_name, 255),
        "financial_status": cut(o.financial_status, 40).lower(),
        "cancelled_at": o.cancelled_at,
        "cancel_reason": cut(o.cancel_reason, 64),
        "shipping_address": o.shipping_address or {},
        "note_attributes": [[cut(k, 255), cut(v, 1000)] for k, v in o.note_attributes][:50],
        "processed_at": o.processed_at or o.created_at,
        "platform_created_at": o.created_at,
        "platform_updated_at": o.updated_at or stored_ts,
    }


def _write_lines(shop: Shop, orders: list[OrderData], order_ids: dict[str, int], preexisting: set[str]) -> None:
    carrying = [o for o in orders if o.line_items is not None]
    if not carrying:
        return
    lines = [(o, li) for o in carrying for li in o.line_items or () if li.platform_id]
    products = ids_by_platform_id(Product, shop, [li.product_platform_id for _, li in lines
                                                  if li.product_platform_id])
    variants = ids_by_platform_id(Variant, shop, [li.variant_platform_id for _, li in lines
                                                  if li.variant_platform_id])
    rows = []
    for o, li in lines:
        refunded = li.refunded_quantity
        if o.refunds:
            refunded = max(refunded, sum(q for r in o.refunds for lid, q in r.line_items if lid == li.platform_id))
        rows.append({
            "shop_id": shop.pk,
            "order_id": order_ids[o.platform_id],
            "platform_id": cut(li.platform_id, 64),
            "product_id": products.get(li.product_platform_id),
            "variant_id": variants.get(li.variant_platform_id),
            "product_platform_id": cut(li.product_platform_id, 64),
            "variant_platform_id": cut(li.variant_platform_id, 64),
            "title": cut(li.title, 512),
            "sku": cut(li.sku, 255),
            "quantity": li.quantity,
            "refunded_quantity": min(li.quantity, refunded),
            "price": li.price,
            "total_discount": li.total_discount,
            "properties": [[cut(k, 255), cut(v, 1000)] for k, v in li.properties][:50],
        })
    # Only orders we had before can hold lines the new version dropped (an edited order).
    replaced = [order_ids[o.platform_id] for o in carrying if o.platform_id in preexisting]
    if replaced:
        LineItem.objects.for_shop(shop).filter(order_id__in=replaced).exclude(
            platform_id__in=[r["platform_id"] for r in rows]
        ).delete()
    upsert_rows(LineItem, rows, ["shop", "platform_id"], LINE_FIELDS)


def _write_refunds(shop: Shop, orders: list[OrderData], order_ids: dict[str, int], preexisting: set[str]) -> None:
    carrying = [o for o in orders if o.refunds is not None]
    if not carrying:
        return
    rows = [
        {"shop_id": shop.pk, "order_id": order_ids[o.platform_id], "platform_id": cut(r.platform_id, 64),
         "amount": r.amount, "note": cut(r.note, 5000), "platform_created_at": r.created_at}
        for o in carrying for r in o.refunds or () if r.platform_id
    ]
    replaced = [order_ids[o.platform_id] for o in carrying if o.platform_id in preexisting]
    if replaced:
        Refund.objects.for_shop(shop).filter(order_id__in=replaced).exclude(
            platform_id__in=[r["platform_id"] for r in rows]
        ).delete()
    upsert_rows(Refund, rows, ["shop", "platform_id"], ["order", "amount", "note", "platform_created_at"])


def link_line_items(shop: Shop, product_platform_ids: Iterable[str] = (),
                    variant_platform_ids: Iterable[str] = ()) -> int:
    """Point lines that arrived before their product or variant at the rows now present."""
    linked = 0
    for ids, fk, target in ((product_platform_ids, "product", Product), (variant_platform_ids, "variant", Variant)):
        wanted = [i for i in set(ids) if i]
        if wanted:
            linked += _link(LineItem, fk, target, shop, wanted)
    return linked


def link_orders_to_customers(shop: Shop, customer_platform_ids: Iterable[str]) -> int:
    """Orders synced before their customer get linked once the customer row exists."""
    wanted = [c for c in set(customer_platform_ids) if c]
    return _link(Order, "customer", Customer, shop, wanted) if wanted else 0


def _link(model: type[models.Model], fk: str, target: type[models.Model], shop: Shop, platform_ids: list[str]) -> int:
    """Set model.<fk> where it is empty and model.<fk>_platform_id names a row of `target` in the same shop."""
    if connection.vendor == "postgresql":
        # One statement with an array parameter: no thousand-parameter IN list to build.
        table, other = model._meta.db_table, target._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS m SET {fk}_id = t.id FROM {other} AS t "  # noqa: S608 - names from model meta
                f"WHERE m.shop_id = %s AND m.{fk}_id IS NULL AND m.{fk}_platform_id = ANY(%s) "
                f"AND t.shop_id = m.shop_id AND t.platform_id = m.{fk}_platform_id",
                [shop.pk, platform_ids],
            )
            return cursor.rowcount
    return model.objects.for_shop(shop).filter(**{f"{fk}__isnull": True, f"{fk}_platform_id__in": platform_ids}).update(
        **{f"{fk}_id": Subquery(target.objects.for_shop(shop).filter(
            platform_id=OuterRef(f"{fk}_platform_id")).values("id")[:1])}
    )

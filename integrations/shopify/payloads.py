"""Shopify's REST webhook bodies → the platform dataclasses the upserts take.

Webhook bodies are REST-shaped (numeric ids, snake_case, comma-separated tags), unlike the GraphQL the sync reads,
so they get their own small mapping. Everything here treats the body as hostile: wrong types raise PayloadError
(the delivery is marked failed, not retried), strings are capped to the columns they land in.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from backend.core.money import to_decimal
from backend.core.timefmt import parse_ts
from backend.shops.redaction import CustomerRef
from integrations.base.types import (
    CollectionData,
    CustomerData,
    InventoryUpdate,
    LineItemData,
    OrderData,
    ProductData,
    RefundData,
    VariantData,
)

from .records import channel_for

# Shopify's own sales-channel apps, by the app_id an order carries (sourceName says the same in most orders).
ONLINE_STORE_APP_ID = 580111
POS_APP_ID = 129785
DRAFT_ORDERS_APP_ID = 1354745


class PayloadError(ValueError):
    """The body does not have the shape its topic promises; retrying will not help."""


def _obj(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise PayloadError(f"{what} is not an object")
    return value


def _list(value: Any, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{what} is not a list")
    return value


def _id(value: Any, what: str = "id") -> str:
    """Shopify REST ids are integers; accept their string form too, nothing else."""
    if isinstance(value, bool) or value is None:
        raise PayloadError(f"{what} missing")
    text = str(value).strip()
    if not text.isdecimal() or len(text) > 30:
        raise PayloadError(f"{what} is not a Shopify id")
    return text


def _opt_id(value: Any) -> str:
    try:
        return _id(value)
    except PayloadError:
        return ""


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    return str(value)[:limit]


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _money(value: Any) -> Decimal:
    return to_decimal(value) or Decimal("0")


def _ts(value: Any) -> datetime | None:
    return parse_ts(value) if isinstance(value, str) else None


def _tags(value: Any) -> tuple[str, ...]:
    """REST sends tags as one comma-separated string."""
    if isinstance(value, list):
        parts = [str(t) for t in value]
    elif isinstance(value, str):
        parts = value.split(",")
    else:
        return ()
    return tuple(t.strip()[:255] for t in parts if t.strip())[:250]


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    """[{"name": ..., "value": ...}] (line item properties, note attributes) → name/value pairs."""
    out = []
    for item in _list(value, "properties"):
        if isinstance(item, dict):
            out.append((_text(item.get("name"), 255), _text(item.get("value"), 2000)))
    return tuple(out)


# --- catalog -------------------------------------------------------------------------------------------------------


def variant_from_rest(raw: Any, product_id: str) -> VariantData:
    v = _obj(raw, "variant")
    tracked = v.get("inventory_management") not in (None, "")
    policy = "continue" if v.get("inventory_policy") == "continue" else "deny"
    quantity = _int(v.get("inventory_quantity"))
    compare_at = to_decimal(v.get("compare_at_price"), default=None)
    return VariantData(
        platform_id=_id(v.get("id"), "variant id"),
        product_platform_id=product_id,
        title=_text(v.get("title"), 512),
        sku=_text(v.get("sku"), 255),
        price=_money(v.get("price")),
        compare_at_price=compare_at,
        inventory_item_id=_opt_id(v.get("inventory_item_id")),
        inventory_quantity=quantity,
        inventory_tracked=tracked,
        inventory_policy=policy,
        # REST has no availableForSale: derive it the way Shopify does for the online store.
        available_for_sale=(not tracked) or policy == "continue" or quantity > 0,
        inventory_levels=None,  # a product webhook does not say stock per location
        updated_at=_ts(v.get("updated_at")),
    )


def product_from_rest(raw: Any) -> ProductData:
    p = _obj(raw, "product")
    pid = _id(p.get("id"), "product id")
    images = tuple(
        _text(img.get("src"), 1024) for img in _list(p.get("images"), "images") if isinstance(img, dict)
    )
    image = p.get("image") if isinstance(p.get("image"), dict) else None
    image_url = _text(image.get("src"), 1024) if image else (images[0] if images else "")
    variants = p.get("variants")
    status = _text(p.get("status"), 20) or "active"
    return ProductData(
        platform_id=pid,
        title=_text(p.get("title"), 512),
        handle=_text(p.get("handle"), 255),
        vendor=_text(p.get("vendor"), 255),
        product_type=_text(p.get("product_type"), 255),
        tags=_tags(p.get("tags")),
        status=status if status in {"active", "draft", "archived"} else "active",
        image_url=image_url,
        images=images[:50],
        variants=None if variants is None else tuple(variant_from_rest(v, pid) for v in _list(variants, "variants")),
        collection_ids=None,  # product webhooks do not carry collection membership
        created_at=_ts(p.get("created_at")),
        updated_at=_ts(p.get("updated_at")),
    )


def collection_from_rest(raw: Any) -> CollectionData:
    c = _obj(raw, "collection")
    return CollectionData(
        platform_id=_id(c.get("id"), "collection id"),
        title=_text(c.get("title"), 512),
        handle=_text(c.get("handle"), 255),
        product_ids=None,  # collection webhooks do not list products; the reconciliation sync does
        updated_at=_ts(c.get("updated_at")),
    )


def inventory_update_from_rest(raw: Any) -> InventoryUpdate | None:
    """inventory_levels/update; None when Shopify reports no number (an untracked item)."""
    lvl = _obj(raw, "inventory level")
    if lvl.get("available") is None:
        return None
    return InventoryUpdate(
        inventory_item_id=_id(lvl.get("inventory_item_id"), "inventory_item_id"),
        location_id=_id(lvl.get("location_id"), "location_id"),
        available=_int(lvl.get("available")),
        updated_at=_ts(lvl.get("updated_at")),
    )


def deleted_id(raw: Any) -> str:
    """products/delete, collections/delete, customers/delete carry just the id."""
    return _id(_obj(raw, "deletion").get("id"))


# --- customers -----------------------------------------------------------------------------------------------------


def customer_from_rest(raw: Any) -> CustomerData:
    c = _obj(raw, "customer")
    address = c.get("default_address") if isinstance(c.get("default_address"), dict) else {}
    consent = c.get("email_marketing_consent") if isinstance(c.get("email_marketing_consent"), dict) else None
    accepts = consent.get("state") == "subscribed" if consent else bool(c.get("accepts_marketing"))
    country = _text(address.get("country_code"), 2).upper()
    return CustomerData(
        platform_id=_id(c.get("id"), "customer id"),
        email=_text(c.get("email"), 320),
        phone=_text(c.get("phone"), 40),
        first_name=_text(c.get("first_name"), 255),
        last_name=_text(c.get("last_name"), 255),
        country=country if country.isalpha() else "",
        province=_text(address.get("province"), 255),
        city=_text(address.get("city"), 255),
        tags=_tags(c.get("tags")),
        accepts_marketing=accepts,
        orders_count=_int(c.get("orders_count")),
        total_spent=_money(c.get("total_spent")),
        created_at=_ts(c.get("created_at")),
        updated_at=_ts(c.get("updated_at")),
    )


# --- orders --------------------------------------------------------------------------------------------------------


def channel_of(source_name: str, app_id: Any) -> str:
    """online | pos | marketplace | draft | other, from the order's source_name and the app that created it.

    Agrees with the sync's `records.channel_for` (GraphQL sourceName + app name); REST bodies carry the app's id
    instead of its name, so Shopify's own channel apps are recognised by id."""
    app = _int(app_id, default=0)
    source = (source_name or "").strip().lower()
    if source == "web" or app == ONLINE_STORE_APP_ID:
        return "online"
    if source == "pos" or app == POS_APP_ID:
        return "pos"
    if source == "shopify_draft_order" or app == DRAFT_ORDERS_APP_ID:
        return "draft"
    if app and source == str(app):
        # A third-party sales channel (Facebook & Instagram, Google, Amazon...) names itself by its app id.
        return "marketplace"
    return channel_for(source)


def refund_from_rest(raw: Any) -> RefundData:
    r = _obj(raw, "refund")
    # The money that went back is in the successful refund transactions; the line subtotals are the fallback.
    amount = sum(
        (
            _money(t.get("amount"))
            for t in _list(r.get("transactions"), "transactions")
            if isinstance(t, dict) and t.get("kind") == "refund" and t.get("status") in (None, "success")
        ),
        Decimal("0"),
    )
    lines = [li for li in _list(r.get("refund_line_items"), "refund_line_items") if isinstance(li, dict)]
    if not amount:
        amount = sum((_money(li.get("subtotal")) + _money(li.get("total_tax")) for li in lines), Decimal("0"))
    return RefundData(
        platform_id=_id(r.get("id"), "refund id"),
        amount=amount,
        note=_text(r.get("note"), 2000),
        created_at=_ts(r.get("created_at")),
        line_items=tuple((_id(li.get("line_item_id"), "line_item_id"), _int(li.get("quantity"))) for li in lines),
    )


def refund_order_id(raw: Any) -> str:
    return _id(_obj(raw, "refund").get("order_id"), "order_id")


def _line_item(raw: Any, refunded: dict[str, int]) -> LineItemData:
    li = _obj(raw, "line item")
    lid = _id(li.get("id"), "line item id")
    return LineItemData(
        platform_id=lid,
        product_platform_id=_opt_id(li.get("product_id")),
        variant_platform_id=_opt_id(li.get("variant_id")),
        title=_text(li.get("title") or li.get("name"), 512),
        sku=_text(li.get("sku"), 255),
        quantity=_int(li.get("quantity"), default=1),
        refunded_quantity=refunded.get(lid, 0),
        price=_money(li.get("price")),
        total_discount=_money(li.get("total_discount")),
        properties=_pairs(li.get("properties")),
    )


def order_from_rest(raw: Any) -> OrderData:
    o = _obj(raw, "order")
    refunds = tuple(refund_from_rest(r) for r in _list(o.get("refunds"), "refunds"))
    refunded: dict[str, int] = {}
    for refund in refunds:
        for line_id, qty in refund.line_items:
            refunded[line_id] = refunded.get(line_id, 0) + qty
    customer = o.get("customer") if isinstance(o.get("customer"), dict) else {}
    source_name = _text(o.get("source_name"), 255)
    shipping = o.get("shipping_address") if isinstance(o.get("shipping_address"), dict) else {}
    codes = tuple(
        _text(d.get("code"), 255) for d in _list(o.get("discount_codes"), "discount_codes") if isinstance(d, dict)
    )
    line_items = o.get("line_items")
    return OrderData(
        platform_id=_id(o.get("id"), "order id"),
        name=_text(o.get("name"), 64),
        customer_platform_id=_opt_id(customer.get("id")),
        email=_text(o.get("email") or o.get("contact_email"), 320),
        currency=_text(o.get("currency"), 3).upper() or "USD",
        subtotal_price=_money(o.get("subtotal_price")),
        total_price=_money(o.get("total_price")),
        total_discounts=_money(o.get("total_discounts")),
        total_tax=_money(o.get("total_tax")),
        total_refunded=sum((r.amount for r in refunds), Decimal("0")),
        discount_codes=codes,
        channel=channel_of(source_name, o.get("app_id")),
        source_name=source_name,
        financial_status=_text(o.get("financial_status"), 40),
        cancelled_at=_ts(o.get("cancelled_at")),
        cancel_reason=_text(o.get("cancel_reason"), 64),
        shipping_address={str(k)[:64]: _text(v, 512) for k, v in list(shipping.items())[:40] if v is not None},
        note_attributes=_pairs(o.get("note_attributes")),
        line_items=None if line_items is None else tuple(
            _line_item(li, refunded) for li in _list(line_items, "line_items")
        ),
        refunds=refunds,
        processed_at=_ts(o.get("processed_at")),
        created_at=_ts(o.get("created_at")),
        updated_at=_ts(o.get("updated_at")),
    )


# --- compliance ----------------------------------------------------------------------------------------------------


def customer_ref(raw: Any, orders_key: str) -> CustomerRef:
    """customers/data_request (orders_requested) and customers/redact (orders_to_redact)."""
    body = _obj(raw, "compliance request")
    customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
    request = body.get("data_request") if isinstance(body.get("data_request"), dict) else {}
    return CustomerRef(
        platform_id=_opt_id(customer.get("id")),
        email=_text(customer.get("email"), 320).strip(),
        phone=_text(customer.get("phone"), 40).strip(),
        order_ids=tuple(_id(i, "order id") for i in _list(body.get(orders_key), orders_key))[:10000],
        request_id=_opt_id(request.get("id")),
    )


def compliance_shop_domain(raw: Any) -> str:
    """The shop_domain inside a compliance body (signed, unlike the header): must match the header."""
    if not isinstance(raw, dict):
        return ""
    return _text(raw.get("shop_domain"), 255).strip().lower()

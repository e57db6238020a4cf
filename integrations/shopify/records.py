"""Shopify Admin GraphQL nodes → the platform dataclasses (integrations.base.types).

One mapper per resource reads both shapes the app receives: paged query nodes (nested connections as
`{"nodes": [...]}` or `{"edges": [{"node": ...}]}`) and bulk JSONL rows regrouped by `__parentId` (nested
connections as plain lists under the same key). Ids are GIDs on the wire; the dataclasses carry the numeric tail.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from backend.core.money import to_decimal
from backend.core.timefmt import parse_ts
from integrations.base.types import (
    CollectionData,
    CustomerData,
    InventoryLevelData,
    LineItemData,
    OrderData,
    ProductData,
    RefundData,
    VariantData,
)

ZERO = Decimal("0")
# Sales channels that are marketplaces (Shopify's own marketplace channels and common marketplace apps).
MARKETPLACE_SOURCES = ("amazon", "ebay", "etsy", "walmart", "google", "facebook", "instagram", "tiktok", "shop",
                       "marketplace", "wish", "mercado", "zalando", "target")


def gid_tail(gid: Any) -> str:
    """"gid://shopify/Product/123" → "123" (a plain id passes through)."""
    if not gid:
        return ""
    text = str(gid)
    tail = text.rsplit("/", 1)[-1]
    return tail.split("?", 1)[0][:64]


def gid_type(gid: Any) -> str:
    parts = str(gid or "").split("/")
    return parts[3] if len(parts) > 4 else ""


def nodes(value: Any) -> list[dict]:
    """The list of nodes of a connection in any of the shapes above."""
    if value is None:
        return []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    if isinstance(value, dict):
        if isinstance(value.get("nodes"), list):
            return [v for v in value["nodes"] if isinstance(v, dict)]
        if isinstance(value.get("edges"), list):
            return [e["node"] for e in value["edges"] if isinstance(e, dict) and isinstance(e.get("node"), dict)]
    return []


def complete_nodes(value: Any) -> list[dict] | None:
    """Like `nodes`, but None when the connection is absent or was cut off by its `first:` (pageInfo says there
    is more): the upsert then keeps the stored children instead of deleting the ones the page did not show."""
    if value is None:
        return None
    if isinstance(value, dict) and (value.get("pageInfo") or {}).get("hasNextPage"):
        return None
    return nodes(value)


def _money(value: Any) -> Decimal:
    """A MoneyBag ({shopMoney: {amount}}), a MoneyV2 ({amount}) or a bare amount. Shopify's amounts are decimal
    strings, parsed directly (this runs a few times per order line of a bulk file)."""
    if type(value) is dict:
        value = value.get("shopMoney", value)
        value = value.get("amount") if type(value) is dict else value
    if type(value) is str:
        try:
            amount = Decimal(value)
        except InvalidOperation:
            return ZERO
        if not amount.is_finite():
            return ZERO
        return amount if amount.as_tuple().exponent == -2 else to_decimal(amount) or ZERO
    return to_decimal(value) or ZERO


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def channel_for(source_name: str, app_name: str = "") -> str:
    """Order.sourceName (and the app that created it) → our channel."""
    source = (source_name or "").strip().lower()
    app = (app_name or "").strip().lower()
    if not source:  # older orders may lack sourceName: fall back to the creating app's name
        source = {"online store": "web", "point of sale": "pos", "draft orders": "shopify_draft_order"}.get(app, "")
    if source == "web":
        return "online"
    if source == "pos":
        return "pos"
    if source == "shopify_draft_order":
        return "draft"
    if any(m in source for m in MARKETPLACE_SOURCES) or any(m in app for m in MARKETPLACE_SOURCES):
        return "marketplace"
    return "other"


def collection_from_node(node: dict) -> CollectionData:
    return CollectionData(
        platform_id=gid_tail(node.get("id")),
        title=_text(node.get("title")),
        handle=_text(node.get("handle")),
        updated_at=parse_ts(node.get("updatedAt")),
    )


def _level(node: dict) -> InventoryLevelData:
    available = 0
    for q in node.get("quantities") or ():
        if isinstance(q, dict) and q.get("name") == "available":
            available = _int(q.get("quantity"))
    location = node.get("location") or {}
    return InventoryLevelData(location_id=gid_tail(location.get("id")), available=available,
                              location_name=_text(location.get("name")))


def variant_from_node(node: dict, product_id: str) -> VariantData:
    item = node.get("inventoryItem") or {}
    # Bulk rows carry levels directly under the variant (regrouped lines); paged nodes under inventoryItem.
    levels = complete_nodes(node["inventoryLevels"] if "inventoryLevels" in node else item.get("inventoryLevels"))
    compare = node.get("compareAtPrice")
    return VariantData(
        platform_id=gid_tail(node.get("id")),
        product_platform_id=product_id,
        title=_text(node.get("title")),
        sku=_text(node.get("sku")),
        price=_money(node.get("price")),
        compare_at_price=_money(compare) if compare not in (None, "") else None,
        inventory_item_id=gid_tail(item.get("id")),
        inventory_quantity=_int(node.get("inventoryQuantity")),
        inventory_tracked=bool(item.get("tracked", True)),
        inventory_policy=_text(node.get("inventoryPolicy") or "deny").lower(),
        available_for_sale=bool(node.get("availableForSale", True)),
        inventory_levels=None if levels is None else tuple(_level(lv) for lv in levels),
        updated_at=parse_ts(node.get("updatedAt")),
    )


def product_from_node(node: dict) -> ProductData:
    """A product node; bulk rows carry `variants` (each with `inventoryLevels`) and `collections` as lists."""
    pid = gid_tail(node.get("id"))
    variants = complete_nodes(node.get("variants"))
    collections = complete_nodes(node.get("collections"))
    media = node.get("featuredMedia") or {}
    image = (((media.get("preview") or {}).get("image") or media.get("image") or {}).get("url")) or ""
    tags = node.get("tags") or []
    return ProductData(
        platform_id=pid,
        title=_text(node.get("title")),
        handle=_text(node.get("handle")),
        vendor=_text(node.get("vendor")),
        product_type=_text(node.get("productType")),
        tags=tuple(_text(t) for t in (tags if isinstance(tags, list) else str(tags).split(","))),
        status=_text(node.get("status") or "active").lower(),
        url=_text(node.get("onlineStoreUrl")),
        image_url=_text(image),
        images=(_text(image),) if image else (),
        variants=None if variants is None else tuple(variant_from_node(v, pid) for v in variants),
        collection_ids=None if collections is None else tuple(gid_tail(c.get("id")) for c in collections),
        created_at=parse_ts(node.get("createdAt")),
        updated_at=parse_ts(node.get("updatedAt")),
    )


def customer_from_node(node: dict) -> CustomerData:
    address = node.get("defaultAddress") or {}
    # 2026-04 names contact and consent under defaultEmailAddress / defaultPhoneNumber (the flat fields are
    # deprecated); a node carrying only the old ones still reads.
    email = node.get("defaultEmailAddress") or {}
    phone = node.get("defaultPhoneNumber") or {}
    consent = email.get("marketingState") or (node.get("emailMarketingConsent") or {}).get("marketingState") or ""
    return CustomerData(
        platform_id=gid_tail(node.get("id")),
        email=_text(email.get("emailAddress") or node.get("email")),
        phone=_text(phone.get("phoneNumber") or node.get("phone")),
        first_name=_text(node.get("firstName")),
        last_name=_text(node.get("lastName")),
        country=_text(address.get("countryCodeV2")),
        province=_text(address.get("province")),
        city=_text(address.get("city")),
        tags=tuple(_text(t) for t in node.get("tags") or ()),
        accepts_marketing=str(consent).upper() == "SUBSCRIBED",
        orders_count=_int(node.get("numberOfOrders")),
        total_spent=_money(node.get("amountSpent")),
        created_at=parse_ts(node.get("createdAt")),
        updated_at=parse_ts(node.get("updatedAt")),
    )


def _line(node: dict) -> LineItemData:
    quantity = _int(node.get("quantity"))
    current = node.get("currentQuantity")
    return LineItemData(
        platform_id=gid_tail(node.get("id")),
        product_platform_id=gid_tail((node.get("product") or {}).get("id")),
        variant_platform_id=gid_tail((node.get("variant") or {}).get("id")),
        title=_text(node.get("title")),
        sku=_text(node.get("sku")),
        quantity=quantity,
        # Shopify lowers currentQuantity when items are refunded or removed.
        refunded_quantity=max(0, quantity - _int(current)) if current is not None else 0,
        price=_money(node.get("originalUnitPriceSet")),
        total_discount=_money(node.get("totalDiscountSet")),
        properties=tuple((_text(a.get("key")), _text(a.get("value"))) for a in node.get("customAttributes") or ()
                         if isinstance(a, dict)),
    )


def order_from_node(node: dict) -> OrderData:
    address = node.get("shippingAddress") or {}
    app = node.get("app") or {}
    source = _text(node.get("sourceName"))
    currency = _text(node.get("currencyCode") or ((node.get("totalPriceSet") or {}).get("shopMoney") or {})
                     .get("currencyCode") or "USD")
    lines = complete_nodes(node.get("lineItems"))
    refunds = tuple(
        RefundData(platform_id=gid_tail(r.get("id")), amount=_money(r.get("totalRefundedSet")),
                   note=_text(r.get("note")), created_at=parse_ts(r.get("createdAt")))
        for r in node.get("refunds") or () if isinstance(r, dict)
    )
    return OrderData(
        platform_id=gid_tail(node.get("id")),
        name=_text(node.get("name")),
        customer_platform_id=gid_tail((node.get("customer") or {}).get("id")),
        email=_text(node.get("email")),
        currency=currency,
        subtotal_price=_money(node.get("subtotalPriceSet")),
        total_price=_money(node.get("totalPriceSet")),
        total_discounts=_money(node.get("totalDiscountsSet")),
        total_tax=_money(node.get("totalTaxSet")),
        total_refunded=_money(node.get("totalRefundedSet")),
        discount_codes=tuple(_text(c) for c in node.get("discountCodes") or ()),
        channel=channel_for(source, _text(app.get("name"))),
        source_name=source,
        financial_status=_text(node.get("displayFinancialStatus")).lower(),
        cancelled_at=parse_ts(node.get("cancelledAt")),
        cancel_reason=_text(node.get("cancelReason")).lower(),
        # Only what segments and analytics use: no street or name (less PII to hold and to redact).
        shipping_address={k: v for k, v in {
            "country": _text(address.get("countryCodeV2")), "province": _text(address.get("provinceCode")),
            "city": _text(address.get("city")), "zip": _text(address.get("zip")),
        }.items() if v},
        note_attributes=tuple((_text(a.get("key")), _text(a.get("value"))) for a in node.get("customAttributes")
                              or () if isinstance(a, dict)),
        line_items=None if lines is None else tuple(_line(li) for li in lines),
        refunds=refunds,
        processed_at=parse_ts(node.get("processedAt")),
        created_at=parse_ts(node.get("createdAt")),
        updated_at=parse_ts(node.get("updatedAt")),
    )


MAPPERS = {
    "collections": collection_from_node,
    "products": product_from_node,
    "customers": customer_from_node,
    "orders": order_from_node,
}

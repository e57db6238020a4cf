"""WooCommerce REST API v3 JSON → the plain dataclasses the upserts take (integrations.base.types).

The same shapes arrive from the REST API (sync) and in webhook bodies, so one mapping serves both. WooCommerce
gives times twice; we read the `_gmt` ones (no offset in the string: they are UTC). Mapping choices:
- a simple product becomes one variant whose id is the product's id (products and variations share WordPress's
  post id space, so ids never collide); a variable product's variations become its variants;
- categories are our collections, with membership carried on each product; tags are product tags;
- stock: `manage_stock` → tracked, `stock_quantity` → quantity, `stock_status` and `backorders` → available;
  a variation whose stock is managed by its parent ("parent") takes the parent's quantity;
- orders: `created_via` gives the channel (checkout → online, a POS → pos, admin → draft), coupon codes become
  discount codes, refunds come as negative totals.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from backend.core.money import to_decimal
from backend.core.timefmt import parse_ts
from integrations.base.types import (
    CollectionData,
    CustomerData,
    LineItemData,
    OrderData,
    ProductData,
    RefundData,
    VariantData,
)


class PayloadError(ValueError):
    """The body is not a WooCommerce resource we can read (missing id, wrong types)."""


PRODUCT_STATUS = {"publish": "active", "draft": "draft", "pending": "draft", "private": "draft",
                  "future": "draft", "trash": "archived"}
MARKETPLACES = ("amazon", "ebay", "etsy", "google", "facebook", "tiktok", "walmart")


def resource_id(value: Any, what: str = "resource") -> str:  # noqa: ANN401
    """A WooCommerce id (a positive integer, maybe as a string) as our platform id string."""
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdecimal() or int(value) <= 0:
        raise PayloadError(f"{what} has no usable id")
    return str(int(value))


def _str(value: Any, limit: int = 512) -> str:  # noqa: ANN401
    return "" if value is None else str(value)[:limit]


def _ts(record: dict, key: str) -> datetime | None:
    value = record.get(f"{key}_gmt") or record.get(key)
    return parse_ts(value) if isinstance(value, str) else None


def _int(value: Any, default: int = 0) -> int:  # noqa: ANN401
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _names(items: Any, key: str = "name") -> tuple[str, ...]:  # noqa: ANN401
    return tuple(_str(i.get(key), 255) for i in items or () if isinstance(i, dict) and i.get(key))


def _money(value: Any) -> Decimal:  # noqa: ANN401
    return to_decimal(value) or Decimal("0")


def _available(record: dict) -> bool:
    if record.get("status") not in (None, "publish"):
        return False
    if record.get("purchasable") is False:
        return False
    return record.get("stock_status") in ("instock", "onbackorder") or record.get("backorders") in ("yes", "notify")


def variant_from_wc(v: dict, parent: dict) -> VariantData:
    managed = v.get("manage_stock")
    source = parent if managed == "parent" else v
    on_sale = bool(v.get("on_sale")) and v.get("sale_price") not in (None, "")
    return VariantData(
        platform_id=resource_id(v.get("id"), "variation"),
        product_platform_id=resource_id(parent.get("id"), "product"),
        title=" / ".join(_str(a.get("option"), 100) for a in v.get("attributes") or () if isinstance(a, dict))
        or _str(v.get("name")),
        sku=_str(v.get("sku"), 255),
        price=_money(v.get("price")),
        compare_at_price=to_decimal(v.get("regular_price"), None) if on_sale else None,
        inventory_quantity=_int(source.get("stock_quantity")),
        inventory_tracked=bool(source.get("manage_stock")),
        inventory_policy="continue" if source.get("backorders") in ("yes", "notify") else "deny",
        available_for_sale=_available(v),
        updated_at=_ts(v, "date_modified"),
    )


def product_from_wc(p: dict, variations: list[dict] | None = None) -> ProductData:
    """A product and (for a variable product) the variations fetched separately; None keeps stored variants."""
    pid = resource_id(p.get("id"), "product")
    if p.get("type") == "variable":
        variants = tuple(variant_from_wc(v, p) for v in variations) if variations is not None else None
    else:
        variants = (variant_from_wc({**p, "attributes": []}, p),)
    images = tuple(_str(i.get("src"), 1024) for i in p.get("images") or () if isinstance(i, dict) and i.get("src"))
    updated = _ts(p, "date_modified")
    if variants:
        # A variation saved after its parent makes the product newer than the parent's own stamp says.
        stamps = [v.updated_at for v in variants if v.updated_at] + ([updated] if updated else [])
        updated = max(stamps) if stamps else None
    return ProductData(
        platform_id=pid,
        title=_str(p.get("name")) or f"#{pid}",
        handle=_str(p.get("slug"), 255),
        tags=_names(p.get("tags")),
        status=PRODUCT_STATUS.get(_str(p.get("status"), 20), "draft"),
        url=_str(p.get("permalink"), 1024),
        image_url=images[0] if images else "",
        images=images,
        variants=variants,
        collection_ids=tuple(resource_id(c.get("id"), "category") for c in p.get("categories") or ()
                             if isinstance(c, dict) and c.get("id")),
        created_at=_ts(p, "date_created"),
        updated_at=updated,
    )


def category_from_wc(c: dict) -> CollectionData:
    return CollectionData(platform_id=resource_id(c.get("id"), "category"), title=_str(c.get("name")) or "",
                          handle=_str(c.get("slug"), 255))


def customer_from_wc(c: dict) -> CustomerData:
    billing = c.get("billing") if isinstance(c.get("billing"), dict) else {}
    shipping = c.get("shipping") if isinstance(c.get("shipping"), dict) else {}
    address = billing if billing.get("country") else shipping
    return CustomerData(
        platform_id=resource_id(c.get("id"), "customer"),
        email=_str(c.get("email") or billing.get("email"), 320),
        phone=_str(billing.get("phone"), 40),
        first_name=_str(c.get("first_name") or billing.get("first_name"), 255),
        last_name=_str(c.get("last_name") or billing.get("last_name"), 255),
        country=_str(address.get("country"), 2),
        province=_str(address.get("state"), 255),
        city=_str(address.get("city"), 255),
        tags=(_str(c.get("role"), 255),) if c.get("role") else (),
        created_at=_ts(c, "date_created"),
        updated_at=_ts(c, "date_modified"),
    )


def channel_for(created_via: str) -> str:
    via = created_via.lower()
    if via in ("checkout", "store-api", ""):
        return "online"
    if "pos" in via:
        return "pos"
    if via == "admin":
        return "draft"
    if any(m in via for m in MARKETPLACES):
        return "marketplace"
    return "other"


def order_from_wc(o: dict) -> OrderData:
    oid = resource_id(o.get("id"), "order")
    lines = []
    subtotal = Decimal("0")
    for li in o.get("line_items") or ():
        if not isinstance(li, dict):
            continue
        qty = max(0, _int(li.get("quantity"), 1))
        line_subtotal = _money(li.get("subtotal"))
        subtotal += line_subtotal
        product_id = _int(li.get("product_id"))
        variation_id = _int(li.get("variation_id"))
        lines.append(LineItemData(
            platform_id=resource_id(li.get("id"), "line item"),
            product_platform_id=str(product_id) if product_id > 0 else "",
            # A simple product's only variant carries the product's id (see product_from_wc).
            variant_platform_id=str(variation_id or product_id) if (variation_id or product_id) > 0 else "",
            title=_str(li.get("parent_name") or li.get("name")),
            sku=_str(li.get("sku"), 255),
            quantity=qty,
            price=(line_subtotal / qty).quantize(Decimal("0.01")) if qty else line_subtotal,
            total_discount=max(Decimal("0"), line_subtotal - _money(li.get("total"))),
        ))
    refunds = tuple(
        RefundData(platform_id=resource_id(r.get("id"), "refund"), amount=abs(_money(r.get("total"))),
                   note=_str(r.get("reason"), 2000))
        for r in o.get("refunds") or () if isinstance(r, dict)
    )
    status = _str(o.get("status"), 40)
    created_via = _str(o.get("created_via"), 255)
    shipping = o.get("shipping") if isinstance(o.get("shipping"), dict) else {}
    billing = o.get("billing") if isinstance(o.get("billing"), dict) else {}
    customer_id = _int(o.get("customer_id"))
    return OrderData(
        platform_id=oid,
        name=f"#{_str(o.get('number') or oid, 60)}",
        customer_platform_id=str(customer_id) if customer_id > 0 else "",
        email=_str(billing.get("email"), 320),
        currency=_str(o.get("currency"), 3).upper() or "USD",
        subtotal_price=subtotal,
        total_price=_money(o.get("total")),
        total_discounts=_money(o.get("discount_total")),
        total_tax=_money(o.get("total_tax")),
        total_refunded=sum((r.amount for r in refunds), start=Decimal("0")),
        discount_codes=tuple(_str(c.get("code"), 255) for c in o.get("coupon_lines") or ()
                             if isinstance(c, dict) and c.get("code")),
        channel=channel_for(created_via),
        source_name=created_via,
        financial_status=status,
        cancelled_at=_ts(o, "date_modified") if status == "cancelled" else None,
        cancel_reason="cancelled" if status == "cancelled" else "",
        shipping_address={k: _str(v, 255) for k, v in shipping.items() if isinstance(v, str | int)},
        line_items=tuple(lines),
        refunds=refunds,
        processed_at=_ts(o, "date_paid") or _ts(o, "date_created"),
        created_at=_ts(o, "date_created"),
        updated_at=_ts(o, "date_modified"),
    )


def deleted_id(payload: dict) -> str:
    return resource_id(payload.get("id"), "deleted resource")

"""Plain dataclasses every platform connector returns; sync and webhooks hand these to the upsert functions.

Ids are the platform's own, as strings (Shopify numeric ids, not GIDs; WooCommerce ids). Money is Decimal.
`updated_at` is the platform's last-modified time: upserts ignore a record older than what is stored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class InventoryLevelData:
    location_id: str
    available: int
    location_name: str = ""


@dataclass(frozen=True)
class VariantData:
    platform_id: str
    product_platform_id: str
    title: str = ""
    sku: str = ""
    price: Decimal = Decimal("0")
    compare_at_price: Decimal | None = None
    inventory_item_id: str = ""
    inventory_quantity: int = 0
    inventory_tracked: bool = True
    available_for_sale: bool = True
    # "deny" stops selling at zero stock, "continue" oversells: decides availability after a stock change.
    inventory_policy: str = "deny"
    # None means "not part of this payload": keep stored levels. A list (even empty) replaces them.
    inventory_levels: tuple[InventoryLevelData, ...] | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class ProductData:
    platform_id: str
    title: str
    handle: str = ""
    vendor: str = ""
    product_type: str = ""
    tags: tuple[str, ...] = ()
    status: str = "active"
    url: str = ""
    image_url: str = ""
    images: tuple[str, ...] = ()
    variants: tuple[VariantData, ...] | None = None  # None: payload did not carry variants
    collection_ids: tuple[str, ...] | None = None  # None: payload did not carry memberships
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class CollectionData:
    platform_id: str
    title: str
    handle: str = ""
    product_ids: tuple[str, ...] | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class InventoryUpdate:
    """A stock change for one inventory item at one location (Shopify inventory_levels/update)."""

    inventory_item_id: str
    location_id: str
    available: int
    updated_at: datetime | None = None


@dataclass(frozen=True)
class CustomerData:
    platform_id: str
    email: str = ""
    phone: str = ""
    first_name: str = ""
    last_name: str = ""
    country: str = ""
    province: str = ""
    city: str = ""
    tags: tuple[str, ...] = ()
    accepts_marketing: bool = False
    orders_count: int = 0
    total_spent: Decimal = Decimal("0")
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class LineItemData:
    platform_id: str
    product_platform_id: str = ""
    variant_platform_id: str = ""
    title: str = ""
    sku: str = ""
    quantity: int = 1
    refunded_quantity: int = 0
    price: Decimal = Decimal("0")
    total_discount: Decimal = Decimal("0")
    properties: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RefundData:
    platform_id: str
    amount: Decimal = Decimal("0")
    note: str = ""
    created_at: datetime | None = None
    # (line item platform id, quantity) refunded by this refund
    line_items: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class OrderData:
    platform_id: str
    name: str = ""
    customer_platform_id: str = ""
    email: str = ""
    currency: str = "USD"
    subtotal_price: Decimal = Decimal("0")
    total_price: Decimal = Decimal("0")
    total_discounts: Decimal = Decimal("0")
    total_tax: Decimal = Decimal("0")
    total_refunded: Decimal = Decimal("0")
    discount_codes: tuple[str, ...] = ()
    channel: str = "online"  # online | pos | marketplace | draft | other
    source_name: str = ""
    financial_status: str = ""
    cancelled_at: datetime | None = None
    cancel_reason: str = ""
    shipping_address: dict = field(default_factory=dict)
    note_attributes: tuple[tuple[str, str], ...] = ()
    line_items: tuple[LineItemData, ...] | None = None
    refunds: tuple[RefundData, ...] | None = None
    processed_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

"""The Platform protocol: what a connector (Shopify, WooCommerce) offers the sync, in plain dataclasses.

Readers yield batches (lists) so callers can upsert as they go and never hold a whole store in memory. `since`
None means everything; otherwise records updated at or after it (the reconciliation cursor).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .types import CollectionData, CustomerData, OrderData, ProductData

if TYPE_CHECKING:
    from backend.shops.models import Shop


@dataclass(frozen=True)
class DiscountCodeSpec:
    """A single-use code to create on the platform (popups' code pools): percent off or free shipping."""

    code: str
    kind: str  # "percent" | "free_shipping"
    value: Decimal  # percent off (0 for free shipping)
    starts_at: datetime
    ends_at: datetime
    title: str = ""


@dataclass(frozen=True)
class CreatedDiscountCode:
    code: str
    platform_id: str


@runtime_checkable
class Platform(Protocol):
    name: str

    def iter_products(self, shop: Shop, since: datetime | None = None) -> Iterator[list[ProductData]]: ...

    def iter_collections(self, shop: Shop, since: datetime | None = None) -> Iterator[list[CollectionData]]: ...

    def iter_customers(self, shop: Shop, since: datetime | None = None) -> Iterator[list[CustomerData]]: ...

    def iter_orders(self, shop: Shop, since: datetime | None = None) -> Iterator[list[OrderData]]: ...

    def full_sync(self, shop: Shop) -> None:
        """Bring every resource of the shop in; resumable (progress lives in SyncRun)."""
        ...


@runtime_checkable
class DiscountCodes(Protocol):
    """What popups need of a platform. Kept apart from Platform so a connector without it still is a Platform."""

    def create_discount_codes(self, shop: Shop, codes: list[DiscountCodeSpec]) -> list[CreatedDiscountCode]:
        """Create unique, single-use, expiring codes; returns those the platform accepted (others are skipped)."""
        ...

"""The Platform protocol: what a connector (Shopify, WooCommerce) offers the sync, in plain dataclasses.

Readers yield batches (lists) so callers can upsert as they go and never hold a whole store in memory. `since`
None means everything; otherwise records updated at or after it (the reconciliation cursor).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .types import CollectionData, CustomerData, OrderData, ProductData

if TYPE_CHECKING:
    from backend.shops.models import Shop


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

"""Periodic reconciliation: page through what changed since each resource's cursor and upsert it, so a missed
webhook heals. Pages are sorted by updated_at, so the cursor (the newest updated_at applied) advances after every
page and an interrupted pass resumes where it stopped. Costs are respected by the client (throttleStatus,
THROTTLED, 429); page sizes keep each query's requested cost well under Shopify's 1,000 per query.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from django.db import transaction

from backend.core.timefmt import parse_ts
from backend.shops.models import Shop
from integrations.base.types import CollectionData, CustomerData, OrderData, ProductData

from . import documents
from .client import ShopifyClient
from .records import MAPPERS
from .sync import STAGES, UPSERTS

logger = logging.getLogger("personalize.shopify.reconcile")

# Records per page, chosen so requested cost (first × nested firsts) stays a few hundred points.
PAGE_SIZES = {"collections": 100, "products": 4, "customers": 100, "orders": 4}
EXPECTED_COST = {"collections": 102, "products": 640, "customers": 402, "orders": 722}
MAX_PAGES = 2000  # per resource per pass: a runaway pass yields to the next beat tick


def reconcile_shop(shop: Shop, *, client: ShopifyClient | None = None, resources: tuple[str, ...] = STAGES) -> dict:
    """Apply every change since the stored cursors; returns records applied per resource."""
    applied: dict[str, int] = {}
    own = client is None
    client = client or ShopifyClient(shop)
    try:
        for resource in resources:
            applied[resource] = _reconcile_resource(client, shop, resource)
    finally:
        if own:
            client.close()
    return applied


def _reconcile_resource(client: ShopifyClient, shop: Shop, resource: str) -> int:
    since = parse_ts((shop.reconcile_cursors or {}).get(resource))
    upsert = UPSERTS[resource]
    total = 0
    for items in iter_changed(client, resource, since):
        total += upsert(shop, items)
        newest = max((i.updated_at for i in items if i.updated_at), default=None)
        if newest:
            _save_cursor(shop, resource, newest)
    logger.info("reconciled shop=%s %s: %s applied", shop.domain, resource, total)
    return total


def iter_changed(client: ShopifyClient, resource: str, since: datetime | None = None) -> Iterator[list]:
    """Pages of one resource (as dataclasses) updated at or after `since`, oldest first."""
    search = f"updated_at:>='{since.isoformat()}'" if since else None
    mapper = MAPPERS[resource]
    after = None
    for _ in range(MAX_PAGES):
        data = client.graphql(documents.PAGED_QUERIES[resource],
                              {"first": PAGE_SIZES[resource], "after": after, "query": search},
                              expected_cost=EXPECTED_COST[resource])
        connection = data.get(resource) or {}
        items = [mapper(node) for node in connection.get("nodes") or ()]
        if items:
            yield items
        page = connection.get("pageInfo") or {}
        if not page.get("hasNextPage") or not page.get("endCursor"):
            return
        after = page["endCursor"]


class ShopifyPlatform:
    """The Platform protocol (integrations.base.platform) for Shopify: paged readers and the bulk full sync."""

    name = "shopify"

    def _pages(self, shop: Shop, resource: str, since: datetime | None) -> Iterator[list]:
        with ShopifyClient(shop) as client:
            yield from iter_changed(client, resource, since)

    def iter_products(self, shop: Shop, since: datetime | None = None) -> Iterator[list[ProductData]]:
        return self._pages(shop, "products", since)

    def iter_collections(self, shop: Shop, since: datetime | None = None) -> Iterator[list[CollectionData]]:
        return self._pages(shop, "collections", since)

    def iter_customers(self, shop: Shop, since: datetime | None = None) -> Iterator[list[CustomerData]]:
        return self._pages(shop, "customers", since)

    def iter_orders(self, shop: Shop, since: datetime | None = None) -> Iterator[list[OrderData]]:
        return self._pages(shop, "orders", since)

    def full_sync(self, shop: Shop) -> None:
        from .sync import start_full_sync

        start_full_sync(shop)


def _save_cursor(shop: Shop, resource: str, newest: datetime) -> None:
    with transaction.atomic():
        locked = Shop.objects.select_for_update().get(pk=shop.pk)
        cursors = dict(locked.reconcile_cursors or {})
        stored = parse_ts(cursors.get(resource))
        if stored is None or newest > stored:
            cursors[resource] = newest.isoformat()
            locked.reconcile_cursors = cursors
            locked.save(update_fields=["reconcile_cursors"])
        shop.reconcile_cursors = cursors

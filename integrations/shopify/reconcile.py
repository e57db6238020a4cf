"""Periodic reconciliation: page through what changed since each resource's cursor and upsert it, so a missed
webhook heals. Pages are sorted by updated_at, so the cursor (the newest updated_at applied) advances after every
page and an interrupted pass resumes where it stopped. Costs are respected by the client (throttleStatus,
THROTTLED, 429); page sizes keep each query's requested cost well under Shopify's 1,000 per query.
"""
from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from backend.core.timefmt import parse_ts
from backend.shops.models import Shop

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
    since = (shop.reconcile_cursors or {}).get(resource)
    search = f"updated_at:>='{since}'" if since else None
    mapper, upsert = MAPPERS[resource], UPSERTS[resource]
    after = None
    total = 0
    for _ in range(MAX_PAGES):
        data = client.graphql(documents.PAGED_QUERIES[resource],
                              {"first": PAGE_SIZES[resource], "after": after, "query": search},
                              expected_cost=EXPECTED_COST[resource])
        connection = data.get(resource) or {}
        items = [mapper(node) for node in connection.get("nodes") or ()]
        if items:
            total += upsert(shop, items)
            newest = max((i.updated_at for i in items if i.updated_at), default=None)
            if newest:
                _save_cursor(shop, resource, newest)
        page = connection.get("pageInfo") or {}
        if not page.get("hasNextPage") or not page.get("endCursor"):
            break
        after = page["endCursor"]
    logger.info("reconciled shop=%s %s: %s applied", shop.domain, resource, total)
    return total


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

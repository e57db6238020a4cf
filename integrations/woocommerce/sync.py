"""Bring a WooCommerce store's categories, products (with variations), customers and orders into our models.

Pages of 100 in id order, so records created during the sync land on later pages instead of shifting earlier
ones. Every page is upserted and then recorded in the SyncRun (`stages[resource]`: page reached, last id, totals
from X-WP-Total / X-WP-TotalPages), so a sync that dies resumes at the next page; the upserts are idempotent and
order-safe, so a page applied twice changes nothing. If a deletion in the store shrinks X-WP-Total between two
pages, the previous page is read again and anything past the last id seen is applied: a deletion cannot make us
skip a record. The next page (with its variations, read four at a time) is fetched while the current one is
written, so the store's latency and our database overlap.

Incremental runs pass `modified_after` (products, orders) from the newest `date_modified_gmt` applied last time
(`Shop.reconcile_cursors["woocommerce:<resource>"]`). WooCommerce's customers endpoint has no such filter, so
customers are re-read in full; their upsert skips what has not changed. A change to a variation alone does not move
its parent's date_modified, so incremental runs also list `variations?modified_after` (WooCommerce 10.3+; skipped
on older stores, where only the product.updated webhook carrying the variation brings those in) and re-read the
parents it names.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from backend.core.timefmt import parse_ts
from backend.shops.models import Shop, SyncRun
from backend.shops.signals import sync_finished
from integrations.base.errors import ClientError
from integrations.base.types import CollectionData, CustomerData, OrderData, ProductData

from . import payloads
from .client import PER_PAGE, Page, WooClient

logger = logging.getLogger("personalize.woocommerce.sync")

STAGES = ("categories", "products", "customers", "orders")
ENDPOINTS = {"categories": "products/categories", "products": "products", "customers": "customers",
             "orders": "orders"}
SUPPORTS_MODIFIED_AFTER = {"products", "orders"}
VARIATION_FETCHERS = 4  # variations are one request per variable product: fetch a page's worth in parallel


class SyncCancelled(Exception):
    """The shop disconnected or the run was cancelled while the sync was going."""


def cursor_key(resource: str) -> str:
    return f"woocommerce:{resource}"


# --- fetching and mapping ------------------------------------------------------------------------------------


def _variations_for(client: WooClient, items: list[dict]) -> dict[Any, list[dict]]:
    variable = [p for p in items if p.get("type") == "variable" and p.get("variations")]
    if not variable:
        return {}
    with ThreadPoolExecutor(max_workers=min(VARIATION_FETCHERS, len(variable))) as pool:
        return dict(zip([p["id"] for p in variable], pool.map(lambda p: client.variations(p["id"]), variable),
                        strict=True))


def pair_items(client: WooClient, resource: str, items: list[dict]) -> list[tuple[dict, Any]]:
    """Each readable item with its dataclass; an unreadable one is logged and left out."""
    variations = _variations_for(client, items) if resource == "products" else {}
    out = []
    for item in items:
        try:
            if resource == "products":
                default = [] if item.get("type") == "variable" else None
                out.append((item, payloads.product_from_wc(item, variations.get(item.get("id"), default))))
            else:
                out.append((item, MAPPERS[resource](item)))
        except payloads.PayloadError as exc:
            logger.warning("skipping unreadable %s shop=%s: %s", resource, client.shop_domain, exc)
    return out


def map_items(client: WooClient, resource: str, items: list[dict]) -> list:
    return [mapped for _, mapped in pair_items(client, resource, items)]


MAPPERS = {"categories": payloads.category_from_wc, "customers": payloads.customer_from_wc,
           "orders": payloads.order_from_wc}


def apply_items(shop: Shop, resource: str, items: list) -> int:
    from backend.catalog.upsert import upsert_collections, upsert_products
    from backend.customers.upsert import upsert_customers
    from backend.orders.upsert import upsert_orders

    upsert = {"categories": upsert_collections, "products": upsert_products, "customers": upsert_customers,
              "orders": upsert_orders}[resource]
    return upsert(shop, items)


def list_params(resource: str, since: str | None) -> dict[str, str]:
    params = {"orderby": "id", "order": "asc"}
    if resource == "customers":
        params["role"] = "all"  # the default lists only the "customer" role; staff and subscribers buy too
    if since and resource in SUPPORTS_MODIFIED_AFTER:
        params.update(modified_after=since, dates_are_gmt="true")
    return params


# --- the Platform protocol -----------------------------------------------------------------------------------


class WooCommercePlatform:
    """integrations.base.platform.Platform for WooCommerce: batches of dataclasses, one per REST page."""

    name = "woocommerce"

    def _iter(self, shop: Shop, resource: str, since: datetime | None) -> Iterator[list]:
        client = WooClient.for_shop(shop)
        params = list_params(resource, _iso(since) if since else None)
        page_no = 1
        while True:
            page = client.page(ENDPOINTS[resource], page_no, **params)
            yield map_items(client, resource, page.items)
            if page_no >= page.total_pages or not page.items:
                return
            page_no += 1

    def iter_products(self, shop: Shop, since: datetime | None = None) -> Iterator[list[ProductData]]:
        return self._iter(shop, "products", since)

    def iter_collections(self, shop: Shop, since: datetime | None = None) -> Iterator[list[CollectionData]]:
        return self._iter(shop, "categories", None)

    def iter_customers(self, shop: Shop, since: datetime | None = None) -> Iterator[list[CustomerData]]:
        return self._iter(shop, "customers", since)

    def iter_orders(self, shop: Shop, since: datetime | None = None) -> Iterator[list[OrderData]]:
        return self._iter(shop, "orders", since)

    def full_sync(self, shop: Shop) -> None:
        run_sync(start_sync(shop, kind="full"))


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


# --- resumable runs ------------------------------------------------------------------------------------------


def start_sync(shop: Shop, kind: str = "full") -> SyncRun:
    """A new run, or the shop's run already going (two runs of one shop would only race each other)."""
    with transaction.atomic():
        locked = Shop.objects.select_for_update().get(pk=shop.pk)
        running = SyncRun.objects.for_shop(shop).filter(status=SyncRun.Status.RUNNING).order_by("-started_at").first()
        if running is not None:
            return running
        cursors = locked.reconcile_cursors or {}
        stages = {}
        for resource in STAGES:
            since = None
            if kind == "incremental" and cursors.get(cursor_key(resource)):
                ts = parse_ts(cursors[cursor_key(resource)])
                # A second of overlap: WooCommerce compares strictly and times have one-second resolution.
                since = _iso(ts - timedelta(seconds=1)) if ts else None
            stages[resource] = {"state": "pending", "page": 0, "pages": None, "total": None, "last_id": 0,
                                "rows": 0, "since": since, "newest": None}
        return SyncRun.objects.create(shop=shop, kind=kind, stages=stages)


def resume_sync(run: SyncRun) -> SyncRun:
    """Mark a failed run running again; `run_sync` then continues from the page each stage reached."""
    SyncRun.objects.for_shop(run.shop_id).filter(pk=run.pk, status=SyncRun.Status.FAILED).update(
        status=SyncRun.Status.RUNNING, error="", finished_at=None)
    run.refresh_from_db()
    return run


def run_sync(run: SyncRun, client: WooClient | None = None) -> SyncRun:
    """Work through the run's stages. Raises on failure after recording it in the run (the caller may retry)."""
    shop = Shop.objects.get(pk=run.shop_id)
    client = client or WooClient.for_shop(shop)
    try:
        if run.rows_total is None:
            _count_totals(run, client)
        for resource in STAGES:
            if run.stages.get(resource, {}).get("state") != "done":
                _sync_stage(run, shop, client, resource)
        if run.kind == "incremental":
            heal_variations(shop, client)
    except SyncCancelled as exc:
        SyncRun.objects.for_shop(shop).filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
            status=SyncRun.Status.CANCELLED, error=str(exc)[:2000], finished_at=timezone.now())
        run.refresh_from_db()
        return run
    except Exception as exc:
        SyncRun.objects.for_shop(shop).filter(pk=run.pk).update(
            status=SyncRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now())
        run.refresh_from_db()
        logger.warning("woocommerce sync failed shop=%s run=%s: %s", shop.domain, run.pk, exc)
        raise
    SyncRun.objects.for_shop(shop).filter(pk=run.pk).update(status=SyncRun.Status.DONE, finished_at=timezone.now())
    if run.kind == "full":
        # Followers recompute the whole shop; incremental runs (every 15 minutes) reach them through the
        # orders_recorded / customers_recorded signals of the rows they wrote, as Shopify's reconciliation does.
        transaction.on_commit(lambda: sync_finished.send(sender=SyncRun, shop_id=shop.pk, kind=run.kind),
                              robust=True)
    run.refresh_from_db()
    logger.info("woocommerce sync done shop=%s run=%s rows=%s", shop.domain, run.pk, run.rows_done)
    return run


def _count_totals(run: SyncRun, client: WooClient) -> None:
    """One cheap request per resource (per_page=1) so the progress bar knows its end from the start."""
    total = 0
    for resource in STAGES:
        st = run.stages[resource]
        page = client.page(ENDPOINTS[resource], 1, per_page=1, **list_params(resource, st.get("since")))
        st["total"] = page.total
        total += page.total
    run.rows_total = total
    _save(run, ["stages", "rows_total"])


def _save(run: SyncRun, fields: list[str]) -> None:
    SyncRun.objects.for_shop(run.shop_id).filter(pk=run.pk).update(**{f: getattr(run, f) for f in fields})


def _check_still_wanted(run: SyncRun, shop: Shop) -> None:
    status = SyncRun.objects.for_shop(shop).filter(pk=run.pk).values_list("status", flat=True).first()
    state = Shop.objects.filter(pk=shop.pk).values_list("state", flat=True).first()
    if status == SyncRun.Status.CANCELLED or state != Shop.State.INSTALLED:
        raise SyncCancelled("shop disconnected" if state != Shop.State.INSTALLED else "cancelled")


def _fetch(client: WooClient, resource: str, page_no: int, params: dict) -> tuple[Page, list[tuple[dict, Any]]] | None:
    """A page and its items mapped (variations included): network and CPU only, so it runs ahead of the writes."""
    try:
        page = client.page(ENDPOINTS[resource], page_no, PER_PAGE, **params)
    except ClientError as exc:
        # Asked past the last page (records deleted since the page was recorded): the stage is complete.
        if page_no > 1 and exc.status == 400:
            return None
        raise
    return page, pair_items(client, resource, page.items)


def _sync_stage(run: SyncRun, shop: Shop, client: WooClient, resource: str) -> None:
    st = run.stages[resource]
    st["state"] = "running"
    params = list_params(resource, st.get("since"))
    page_no = int(st.get("page") or 0) + 1
    # One page is fetched while the previous one is written: the store's latency and our database overlap.
    with ThreadPoolExecutor(max_workers=1) as ahead:
        pending = ahead.submit(_fetch, client, resource, page_no, params)
        while True:
            _check_still_wanted(run, shop)
            fetched = pending.result()
            if fetched is None:
                break
            page, pairs = fetched
            if page_no < page.total_pages and page.items:
                pending = ahead.submit(_fetch, client, resource, page_no + 1, params)
            last_id = int(st.get("last_id") or 0)
            if page_no > 1 and st.get("total") is not None and page.total < int(st["total"]):
                # Records were deleted in the store since the last page: some may have slid back onto it.
                previous = _fetch(client, resource, page_no - 1, params)
                seen = {raw.get("id") for raw, _ in pairs}
                pairs = [p for p in (previous[1] if previous else []) if p[0].get("id") not in seen] + pairs
            pairs = [(raw, item) for raw, item in pairs if _num(raw.get("id")) > last_id]
            items = [raw for raw, _ in pairs]
            with transaction.atomic():
                apply_items(shop, resource, [item for _, item in pairs])
                newest = max((i.get("date_modified_gmt") or "" for i in items), default="")
                st.update(page=page_no, pages=page.total_pages, total=page.total,
                          last_id=max([last_id, *(_num(i.get("id")) for i in items)]),
                          rows=int(st.get("rows") or 0) + len(items),
                          newest=max(st.get("newest") or "", newest) or None)
                run.rows_done += len(items)
                if page_no >= page.total_pages or not page.items:
                    st["state"] = "done"
                # Totals move while we read (new orders arrive): keep the bar's end in step.
                run.rows_total = max(run.rows_total or 0, run.rows_done + _remaining(run))
                _save(run, ["stages", "rows_done", "rows_total"])
            if st["state"] == "done":
                break
            page_no += 1
    st["state"] = "done"
    _save(run, ["stages"])
    _advance_cursor(shop, resource, st.get("newest"))


def heal_variations(shop: Shop, client: WooClient) -> int:
    """Re-read the parents of variations changed since the last run; returns how many parents were re-read."""
    cursors = Shop.objects.filter(pk=shop.pk).values_list("reconcile_cursors", flat=True).first() or {}
    ts = parse_ts(cursors.get(cursor_key("variations")) or cursors.get(cursor_key("products")) or "")
    if ts is None:
        return 0  # never synced: the full sync reads every variation anyway
    params = {"modified_after": _iso(ts - timedelta(seconds=1)), "dates_are_gmt": "true", "orderby": "id",
              "order": "asc"}
    parents: set[int] = set()
    newest = ""
    page_no = 1
    while True:
        try:
            page = client.page("variations", page_no, PER_PAGE, **params)
        except ClientError as exc:
            if exc.status == 404:  # WooCommerce before 10.3 has no /variations listing
                return 0
            raise
        parents |= {_num(v.get("parent_id")) for v in page.items} - {0}
        newest = max([newest, *(v.get("date_modified_gmt") or "" for v in page.items)])
        if page_no >= page.total_pages or not page.items:
            break
        page_no += 1
    ids = sorted(parents)
    for start in range(0, len(ids), PER_PAGE):
        chunk = ",".join(str(i) for i in ids[start:start + PER_PAGE])
        page = client.page(ENDPOINTS["products"], 1, PER_PAGE, include=chunk, orderby="include")
        with transaction.atomic():
            apply_items(shop, "products", map_items(client, "products", page.items))
    _advance_cursor(shop, "variations", newest or None)
    return len(ids)


def _remaining(run: SyncRun) -> int:
    left = 0
    for resource in STAGES:
        st = run.stages.get(resource, {})
        if st.get("state") != "done" and st.get("total") is not None:
            left += max(0, int(st["total"]) - int(st.get("rows") or 0))
    return left


def _num(value: Any) -> int:  # noqa: ANN401
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _advance_cursor(shop: Shop, resource: str, newest: str | None) -> None:
    if not newest:
        return
    with transaction.atomic():
        locked = Shop.objects.select_for_update().get(pk=shop.pk)
        cursors = dict(locked.reconcile_cursors or {})
        if newest > (cursors.get(cursor_key(resource)) or ""):
            cursors[cursor_key(resource)] = newest
            Shop.objects.filter(pk=shop.pk).update(reconcile_cursors=cursors)

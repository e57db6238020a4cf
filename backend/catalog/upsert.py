"""Write platform catalog data into our models: batched, idempotent and order-safe.

Every function takes plain dataclasses (integrations.base.types) for one shop. Re-applying a batch changes nothing;
a record whose `updated_at` is older than the stored `platform_updated_at` is skipped with all of its children, so
a late webhook never overwrites a newer sync (and the other way round). Rows are written with
INSERT ... ON CONFLICT DO UPDATE (Django's bulk_create(update_conflicts=True)), which PostgreSQL and SQLite share.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, Protocol, TypeVar

import orjson
from django.db import connection, models, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from backend.shops.models import Shop
from integrations.base.types import (
    CollectionData,
    InventoryLevelData,
    InventoryUpdate,
    ProductData,
    VariantData,
)

from .models import Collection, CollectionMembership, InventoryLevel, Product, Variant

PRODUCT_FIELDS = [
    "title", "handle", "vendor", "product_type", "tags", "status", "url", "image_url", "images",
    "platform_created_at", "platform_updated_at", "synced_at",
]
PRODUCT_STOCK_FIELDS = ["total_inventory", "available_for_sale"]
VARIANT_FIELDS = [
    "product", "title", "sku", "price", "compare_at_price", "inventory_item_id", "inventory_quantity",
    "inventory_tracked", "inventory_policy", "available_for_sale", "platform_updated_at",
]


class Versioned(Protocol):
    platform_id: str
    updated_at: datetime | None


V = TypeVar("V", bound=Versioned)


def cut(value: Any, limit: int) -> str:
    """Platform strings are outside input: coerce to str and cap to the column's length."""
    return ("" if value is None else str(value))[:limit]


def not_older(new: datetime | None, stored: datetime | None) -> bool:
    """True when `new` may overwrite `stored` (unknown times never block; equal times re-apply harmlessly)."""
    return new is None or stored is None or new >= stored


def latest_per_id(items: Iterable[V]) -> dict[str, V]:
    """Collapse a batch to the newest version of each record (a batch may carry one record twice)."""
    out: dict[str, V] = {}
    for item in items:
        if not item.platform_id:
            continue
        prev = out.get(item.platform_id)
        if prev is None or not_older(item.updated_at, prev.updated_at):
            out[item.platform_id] = item
    return out


def select_fresh(
    model: type[models.Model], shop: Shop, items: Iterable[V]
) -> tuple[list[V], dict[str, tuple[int, datetime | None]]]:
    """The items not older than the stored rows, and the stored (id, platform_updated_at) by platform id.

    Runs inside the caller's transaction; on PostgreSQL the stored rows are locked so a concurrent webhook and
    sync cannot interleave between this check and the write.
    """
    latest = latest_per_id(items)
    if not latest:
        return [], {}
    rows = _lookup(model, shop, list(latest), "platform_id, id, platform_updated_at", lock=True)
    stored = {pid: (pk, ts) for pid, pk, ts in rows}
    fresh = [it for pid, it in latest.items() if pid not in stored or not_older(it.updated_at, stored[pid][1])]
    return fresh, stored


_remembered: ContextVar[tuple[int, dict[type[models.Model], dict[str, int]]] | None] = ContextVar(
    "remembered_ids", default=None)
REMEMBER_MAX = 500_000  # platform ids per model: ~50 MB at most, then start over


@contextmanager
def remembered_ids(shop: Shop, *read_only: type[models.Model]) -> Iterator[None]:
    """Within a bulk import that only reads these models' rows (a sync stage writing orders links them to products,
    variants and customers), answer repeated platform id → pk lookups from memory instead of asking every batch.
    Only found rows are remembered, so a row created meanwhile is still found by the next lookup."""
    token = _remembered.set((shop.pk, {model: {} for model in read_only}))
    try:
        yield
    finally:
        _remembered.reset(token)


def forget_remembered() -> bool:
    """Empty the active memo (a remembered row was deleted meanwhile); False when none is active."""
    active = _remembered.get()
    if active is None:
        return False
    for memo in active[1].values():
        memo.clear()
    return True


def ids_by_platform_id(model: type[models.Model], shop: Shop, platform_ids: Iterable[str]) -> dict[str, int]:
    ids = set(platform_ids)
    if not ids:
        return {}
    active = _remembered.get()
    memo = active[1].get(model) if active is not None and active[0] == shop.pk else None
    if memo is None:
        return dict(_lookup(model, shop, list(ids), "platform_id, id"))
    # .get: the sync's appliers share the memo, and one may clear it while another reads.
    found = {pid: pk for pid in ids if (pk := memo.get(pid)) is not None}
    missing = [pid for pid in ids if pid not in found]
    if missing:
        loaded = dict(_lookup(model, shop, missing, "platform_id, id"))
        if len(memo) + len(loaded) > REMEMBER_MAX:
            memo.clear()
        memo.update(loaded)
        found.update(loaded)
    return found


def _lookup(model: type[models.Model], shop: Shop, platform_ids: list[str], columns: str,
            lock: bool = False) -> list[tuple]:
    """Rows of this shop with these platform ids. On PostgreSQL one array parameter (`= ANY(%s)`) instead of a
    thousand-parameter IN list, whose building costs more than the lookup itself."""
    if connection.vendor != "postgresql":
        qs = model.objects.for_shop(shop).filter(platform_id__in=platform_ids).order_by("id")
        if lock:
            qs = qs.select_for_update()
        return list(qs.values_list(*[c.strip() for c in columns.split(",")]))
    table = connection.ops.quote_name(model._meta.db_table)
    suffix = " ORDER BY id FOR UPDATE" if lock else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE shop_id = %s AND platform_id = ANY(%s){suffix}",  # noqa: S608
                       [shop.pk, platform_ids])
        return cursor.fetchall()


def upsert_rows(model: type[models.Model], rows: Sequence[dict[str, Any]], unique: list[str],
                fields: list[str], ids_by: str = "") -> dict[Any, int]:
    """INSERT ... ON CONFLICT (unique) DO UPDATE SET fields, for many rows given as {attname: value} dicts (one
    row per unique key, the last wins). Plain dicts, not model instances: building instances costs more than
    writing the rows. With `ids_by` (an attname, and `fields` not empty) it returns {row[ids_by]: pk} of every
    row written, so the caller need not look them up again."""
    if not rows:
        return {}
    opts = model._meta
    key_columns = [opts.get_field(f).attname for f in unique]
    deduped = list({tuple(r.get(c) for c in key_columns): r for r in rows}.values())
    if connection.vendor == "postgresql" and len(deduped) >= COPY_THRESHOLD:
        return _copy_upsert(model, deduped, unique, fields, ids_by)
    if fields:
        # Django sets the primary keys of update_conflicts rows on PostgreSQL and SQLite.
        objs = model.objects.bulk_create(
            [model(**row) for row in deduped], batch_size=1000, update_conflicts=True, unique_fields=unique,
            update_fields=fields,
        )
        return {getattr(obj, ids_by): obj.pk for obj in objs} if ids_by else {}
    model.objects.bulk_create([model(**row) for row in deduped], batch_size=1000, ignore_conflicts=True)
    return {}


COPY_THRESHOLD = 100


def _copy_getters(fields: list[models.Field]) -> list[Callable[[dict[str, Any]], Any]]:
    """Per column, how to read a row dict's database value (defaults for absent keys, JSON wrapped)."""
    from psycopg.types.json import Jsonb

    now = timezone.now()
    getters: list[Callable[[dict[str, Any]], Any]] = []
    for f in fields:
        default = f.get_default()
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            getters.append(lambda row, now=now: now)
        elif isinstance(f, models.JSONField):
            def json_value(row: dict, a: str = f.attname, d: Any = default) -> Any:
                value = row.get(a, d)
                return None if value is None else Jsonb(value, dumps=orjson.dumps)

            getters.append(json_value)
        else:
            getters.append(lambda row, a=f.attname, d=default: row.get(a, d))
    return getters


def _copy_upsert(model: type[models.Model], rows: Sequence[dict[str, Any]], unique: list[str],
                 fields: list[str], ids_by: str = "") -> dict[Any, int]:
    """PostgreSQL fast path: COPY the rows into a scratch table, then one INSERT ... SELECT ... ON CONFLICT.

    Same semantics as bulk_create(update_conflicts=True), without building a statement with tens of thousands of
    parameters (which costs more Python time than the database spends on the rows).
    """
    opts = model._meta
    table = connection.ops.quote_name(opts.db_table)
    scratch = connection.ops.quote_name(f"upsert_{opts.db_table}")
    concrete = [f for f in opts.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in concrete)
    conflict = ", ".join(connection.ops.quote_name(opts.get_field(f).column) for f in unique)
    updates = ", ".join(
        f"{q} = EXCLUDED.{q}" for q in (connection.ops.quote_name(opts.get_field(f).column) for f in fields)
    )
    with connection.cursor() as cursor:
        # Session-local scratch table with the target's column types and no constraints; emptied per use.
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {scratch} AS "  # noqa: S608 - names from model meta
                       f"SELECT {columns} FROM {table} WITH NO DATA")
        cursor.execute(f"TRUNCATE {scratch}")
        getters = _copy_getters(concrete)
        with cursor.cursor.copy(f"COPY {scratch} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([get(row) for get in getters])
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        returning = ""
        if ids_by and updates:  # DO NOTHING would return only the rows it inserted
            returning = f" RETURNING {connection.ops.quote_name(opts.get_field(ids_by).column)}, {opts.pk.column}"
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {scratch} "  # noqa: S608
                       f"ON CONFLICT ({conflict}) {action}{returning}")
        return dict(cursor.fetchall()) if returning else {}


# --- products, variants, stock -------------------------------------------------------------------------------


def _variant_quantity(v: VariantData) -> int:
    # The variant's total is the sum over locations when the payload carries them (that is what Shopify shows).
    return sum(level.available for level in v.inventory_levels) if v.inventory_levels else v.inventory_quantity


def _product_row(shop: Shop, p: ProductData, stored_ts: datetime | None) -> dict[str, Any]:
    row = {
        "shop_id": shop.pk,
        "platform_id": cut(p.platform_id, 64),
        "title": cut(p.title, 512),
        "handle": cut(p.handle, 255),
        "vendor": cut(p.vendor, 255),
        "product_type": cut(p.product_type, 255),
        "tags": [cut(t, 255) for t in p.tags][:250],
        "status": cut(p.status or "active", 20).lower(),
        "url": cut(p.url, 1024),
        "image_url": cut(p.image_url or (p.images[0] if p.images else ""), 1024),
        "images": [cut(i, 1024) for i in p.images][:50],
        "platform_created_at": p.created_at,
        "platform_updated_at": p.updated_at or stored_ts,
    }
    if p.variants is not None:
        row["total_inventory"] = sum(_variant_quantity(v) for v in p.variants if v.inventory_tracked)
        row["available_for_sale"] = any(v.available_for_sale for v in p.variants)
    return row


def upsert_products(shop: Shop, items: Iterable[ProductData]) -> int:
    """Create or update products with their variants, stock levels and collection memberships. Returns the
    number of products applied (skipped stale ones not counted)."""
    with transaction.atomic():
        fresh, stored = select_fresh(Product, shop, items)
        if not fresh:
            return 0
        with_variants = [_product_row(shop, p, stored.get(p.platform_id, (0, None))[1]) for p in fresh
                         if p.variants is not None]
        without = [_product_row(shop, p, stored.get(p.platform_id, (0, None))[1]) for p in fresh
                   if p.variants is None]
        unique = ["shop", "platform_id"]
        upsert_rows(Product, with_variants, unique, PRODUCT_FIELDS + PRODUCT_STOCK_FIELDS)
        upsert_rows(Product, without, unique, PRODUCT_FIELDS)
        product_ids = {pid: pk for pid, (pk, _) in stored.items()}
        product_ids.update(ids_by_platform_id(Product, shop, [p.platform_id for p in fresh if p.platform_id
                                                              not in stored]))
        _write_variants(shop, fresh, product_ids, preexisting=set(stored))
        _write_memberships_from_products(shop, fresh, product_ids, preexisting=set(stored))
        from backend.orders.upsert import link_line_items

        link_line_items(shop, product_platform_ids=list(product_ids),
                        variant_platform_ids=[v.platform_id for p in fresh for v in (p.variants or ())])
    return len(fresh)


def _write_variants(shop: Shop, products: list[ProductData], product_ids: dict[str, int],
                    preexisting: set[str]) -> None:
    rows: list[dict[str, Any]] = []
    carried: list[VariantData] = []
    for p in products:
        if p.variants is None:
            continue
        for v in p.variants:
            if not v.platform_id:
                continue
            carried.append(v)
            rows.append({
                "shop_id": shop.pk,
                "product_id": product_ids[p.platform_id],
                "platform_id": cut(v.platform_id, 64),
                "title": cut(v.title, 512),
                "sku": cut(v.sku, 255),
                "price": v.price,
                "compare_at_price": v.compare_at_price,
                "inventory_item_id": cut(v.inventory_item_id, 64),
                "inventory_quantity": _variant_quantity(v),
                "inventory_tracked": v.inventory_tracked,
                "inventory_policy": cut(v.inventory_policy or "deny", 20).lower(),
                "available_for_sale": v.available_for_sale,
                "platform_updated_at": v.updated_at or p.updated_at,
            })
    # Variants that vanished from a product we already had were deleted on the platform.
    replaced = [product_ids[p.platform_id] for p in products if p.variants is not None and p.platform_id in preexisting]
    if replaced:
        Variant.objects.for_shop(shop).filter(product_id__in=replaced).exclude(
            platform_id__in=[v.platform_id for v in carried]
        ).delete()
    upsert_rows(Variant, rows, ["shop", "platform_id"], VARIANT_FIELDS)
    with_levels = [v for v in carried if v.inventory_levels is not None]
    if not with_levels:
        return
    variant_ids = ids_by_platform_id(Variant, shop, [v.platform_id for v in with_levels])
    level_rows = [
        {
            "shop_id": shop.pk,
            "variant_id": variant_ids[v.platform_id],
            "location_id": cut(level.location_id, 64),
            "location_name": cut(level.location_name, 255),
            "available": level.available,
            "platform_updated_at": v.updated_at,
        }
        for v in with_levels
        for level in _dedupe_levels(v.inventory_levels or ())
    ]
    if preexisting:
        # Levels at locations the payload no longer lists were removed (location deactivated, stock untracked).
        keep = {(r["variant_id"], r["location_id"]) for r in level_rows}
        stored = InventoryLevel.objects.for_shop(shop).filter(variant_id__in=[r for r in variant_ids.values()])
        gone = [pk for pk, vid, loc in stored.values_list("id", "variant_id", "location_id") if (vid, loc) not in keep]
        if gone:
            InventoryLevel.objects.for_shop(shop).filter(id__in=gone).delete()
    upsert_rows(InventoryLevel, level_rows, ["shop", "variant", "location_id"],
                ["location_name", "available", "platform_updated_at"])


def _dedupe_levels(levels: Iterable[InventoryLevelData]) -> list[InventoryLevelData]:
    return list({lv.location_id: lv for lv in levels if lv.location_id}.values())


def _write_memberships_from_products(shop: Shop, products: list[ProductData], product_ids: dict[str, int],
                                     preexisting: set[str]) -> None:
    carrying = [p for p in products if p.collection_ids is not None]
    if not carrying:
        return
    collection_ids = ids_by_platform_id(Collection, shop, [c for p in carrying for c in p.collection_ids or ()])
    wanted = {
        (collection_ids[c], product_ids[p.platform_id])
        for p in carrying for c in p.collection_ids or () if c in collection_ids
    }
    touched = [product_ids[p.platform_id] for p in carrying if p.platform_id in preexisting]
    if touched:
        existing = set(CollectionMembership.objects.for_shop(shop).filter(product_id__in=touched)
                       .values_list("collection_id", "product_id", "id"))
        gone = [pk for cid, pid, pk in existing if (cid, pid) not in wanted]
        if gone:
            CollectionMembership.objects.for_shop(shop).filter(id__in=gone).delete()
    upsert_rows(CollectionMembership, [{"shop_id": shop.pk, "collection_id": c, "product_id": p}
                                       for c, p in sorted(wanted)], ["shop", "collection", "product"], [])


def delete_products(shop: Shop, platform_ids: Iterable[str]) -> int:
    """Soft delete: the row stays (order history points at it) but storefront and engines skip it."""
    ids = [cut(p, 64) for p in platform_ids if p]
    if not ids:
        return 0
    return Product.objects.for_shop(shop).filter(platform_id__in=ids, deleted_at__isnull=True).update(
        deleted_at=timezone.now(), available_for_sale=False
    )


# --- collections ---------------------------------------------------------------------------------------------


def upsert_collections(shop: Shop, items: Iterable[CollectionData]) -> int:
    with transaction.atomic():
        fresh, stored = select_fresh(Collection, shop, items)
        if not fresh:
            return 0
        rows = [
            {"shop_id": shop.pk, "platform_id": cut(c.platform_id, 64), "title": cut(c.title, 512),
             "handle": cut(c.handle, 255),
             "platform_updated_at": c.updated_at or stored.get(c.platform_id, (0, None))[1]}
            for c in fresh
        ]
        upsert_rows(Collection, rows, ["shop", "platform_id"], ["title", "handle", "platform_updated_at"])
        carrying = [c for c in fresh if c.product_ids is not None]
        if carrying:
            collection_ids = ids_by_platform_id(Collection, shop, [c.platform_id for c in carrying])
            product_ids = ids_by_platform_id(Product, shop, [p for c in carrying for p in c.product_ids or ()])
            CollectionMembership.objects.for_shop(shop).filter(
                collection_id__in=collection_ids.values()
            ).exclude(product_id__in=list(product_ids.values())).delete()
            members = []
            for c in carrying:
                for position, pid in enumerate(c.product_ids or ()):
                    if pid in product_ids:
                        members.append({"shop_id": shop.pk, "collection_id": collection_ids[c.platform_id],
                                        "product_id": product_ids[pid], "position": position})
            # Memberships are keyed by (collection, product); positions follow the collection's own order.
            upsert_rows(CollectionMembership, members, ["shop", "collection", "product"], ["position"])
    return len(fresh)


def delete_collections(shop: Shop, platform_ids: Iterable[str]) -> int:
    ids = [cut(p, 64) for p in platform_ids if p]
    if not ids:
        return 0
    deleted, _ = Collection.objects.for_shop(shop).filter(platform_id__in=ids).delete()
    return deleted


# --- stock changes -------------------------------------------------------------------------------------------


def apply_inventory_updates(shop: Shop, items: Iterable[InventoryUpdate]) -> int:
    """Stock of one inventory item at one location. A level older than the stored one is ignored; the
    variant's total and the product's total and availability are recomputed from the levels."""
    latest: dict[tuple[str, str], InventoryUpdate] = {}
    for it in items:
        key = (it.inventory_item_id, it.location_id)
        prev = latest.get(key)
        if it.inventory_item_id and it.location_id and (prev is None or not_older(it.updated_at, prev.updated_at)):
            latest[key] = it
    if not latest:
        return 0
    with transaction.atomic():
        variants = list(
            Variant.objects.for_shop(shop)
            .select_for_update()
            .filter(inventory_item_id__in={item for item, _ in latest})
            .order_by("id")
            .values_list("id", "inventory_item_id", "product_id")
        )
        by_item: dict[str, list[tuple[int, int]]] = {}
        for vid, item_id, product_id in variants:
            by_item.setdefault(item_id, []).append((vid, product_id))
        variant_ids = [vid for vid, _, _ in variants]
        stored = {
            (vid, loc): ts
            for vid, loc, ts in InventoryLevel.objects.for_shop(shop)
            .filter(variant_id__in=variant_ids)
            .values_list("variant_id", "location_id", "platform_updated_at")
        }
        rows = []
        for (item_id, location), upd in latest.items():
            for vid, _ in by_item.get(item_id, ()):
                if (vid, location) in stored and not not_older(upd.updated_at, stored[(vid, location)]):
                    continue
                rows.append({"shop_id": shop.pk, "variant_id": vid, "location_id": cut(location, 64),
                             "available": upd.available, "platform_updated_at": upd.updated_at})
        if not rows:
            return 0
        upsert_rows(InventoryLevel, rows, ["shop", "variant", "location_id"], ["available", "platform_updated_at"])
        touched = {r["variant_id"] for r in rows}
        refresh_variant_stock(shop, touched)
        refresh_product_stock(shop, {pid for vid, _, pid in variants if vid in touched})
    return len(rows)


def refresh_variant_stock(shop: Shop, variant_ids: Iterable[int]) -> None:
    """A variant's quantity is the sum of its levels; availability follows its inventory policy."""
    ids = list(variant_ids)
    totals = dict(
        InventoryLevel.objects.for_shop(shop).filter(variant_id__in=ids)
        .values("variant_id").annotate(total=Sum("available")).values_list("variant_id", "total")
    )
    variants = list(Variant.objects.for_shop(shop).filter(id__in=ids))
    for v in variants:
        v.inventory_quantity = int(totals.get(v.id) or 0)
        v.available_for_sale = (not v.inventory_tracked or v.inventory_policy == "continue"
                                or v.inventory_quantity > 0)
    Variant.objects.for_shop(shop).bulk_update(variants, ["inventory_quantity", "available_for_sale"],
                                               batch_size=1000)


def refresh_product_stock(shop: Shop, product_ids: Iterable[int]) -> None:
    """Keep Product.total_inventory and available_for_sale equal to what its variants say."""
    ids = list(product_ids)
    stats = {
        row["product_id"]: row
        for row in Variant.objects.for_shop(shop).filter(product_id__in=ids).values("product_id").annotate(
            total=Sum("inventory_quantity", filter=Q(inventory_tracked=True)),
            available=Count("id", filter=Q(available_for_sale=True)),
        )
    }
    products = list(Product.objects.for_shop(shop).filter(id__in=ids))
    for p in products:
        row = stats.get(p.id, {})
        p.total_inventory = int(row.get("total") or 0)
        p.available_for_sale = bool(row.get("available")) and p.deleted_at is None
    Product.objects.for_shop(shop).bulk_update(products, PRODUCT_STOCK_FIELDS, batch_size=1000)

"""Also-bought from the shop's orders: full recompute, incremental update after one order, and the lookup.

The math is `cooccurrence` (pure, shared with the benches); this module only turns orders into baskets and
stores the neighbour lists. A basket is everything one customer bought (orders from every channel, POS too);
orders without a customer are baskets on their own. That beat per-order baskets on the UCI validation split
(bench/bench_offline_quality.py). Cancelled orders, fully refunded lines and lines without a product are left out;
variants fold into their product because lines are read by product.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, F, FloatField, Func, Q, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from backend.orders.models import LineItem
from backend.recommendations import cooccurrence as co
from backend.recommendations.models import AlsoBoughtList, AlsoBoughtState, ItemStat
from backend.recommendations.registry import ALSO_BOUGHT_ALGORITHMS
from backend.shops.models import Shop

log = logging.getLogger(__name__)

DEFAULT_PARAMS = co.DEFAULT_PARAMS  # registry.DEFAULT_ALSO_BOUGHT_ALGORITHM names the same (tested)
HORIZON_DAYS = 540  # with a 60-day half-life older orders weigh < 0.2 %
MAX_BASKETS_PER_PRODUCT = 3000  # incremental update reads at most this many recent baskets per affected product
WRITE_BATCH = 2000


def params_for(algorithm: str) -> co.Params:
    return replace(DEFAULT_PARAMS, algorithm=algorithm if algorithm in ALSO_BOUGHT_ALGORITHMS else
                   DEFAULT_PARAMS.algorithm)


class Epoch(Func):
    """Seconds since 1970 as a float, computed by the database: a million datetimes never become Python objects."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):  # noqa: ANN001, ANN003
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::float8", **extra)

    def as_sqlite(self, compiler, connection, **extra):  # noqa: ANN001, ANN003
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
                           **extra)


def _lines(shop: Shop, since: datetime):
    return (
        LineItem.objects.for_shop(shop)
        .filter(product__isnull=False, order__cancelled_at__isnull=True, quantity__gt=F("refunded_quantity"))
        .annotate(when=Coalesce("order__processed_at", "order__platform_created_at"))
        .filter(when__gte=since)
    )


def _line_arrays(qs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: ANN001
    """Basket keys, product pks and timestamps of the lines, built in SQL and read as plain numbers.

    Customers and guest orders share one key space: even = a customer's basket, odd = a guest order.
    """
    rows = qs.annotate(
        basket=Case(When(order__customer_id__isnull=True, then=F("order_id") * 2 + 1),
                    default=F("order__customer_id") * 2, output_field=BigIntegerField()),
        ts=Epoch("when"),
    ).values_list("basket", "product_id", "ts")
    data = np.array(list(rows.iterator(chunk_size=50000)), dtype=np.float64).reshape(-1, 3)
    now = timezone.now().timestamp()
    times = np.where(np.isnan(data[:, 2]), now, data[:, 2])
    return data[:, 0].astype(np.int64), data[:, 1].astype(np.int64), times


def algorithms_in_use(shop: Shop) -> list[str]:
    """The default plus whatever the merchant picked for the widget (the only lists worth storing)."""
    algos = {DEFAULT_PARAMS.algorithm}
    algos.update(
        AlsoBoughtList.objects.for_shop(shop).values_list("algorithm", flat=True).distinct().order_by()
    )
    try:
        from backend.storefront.rules import rule_for

        chosen = getattr(rule_for(shop, "also_bought"), "algorithm", "")
        if chosen in ALSO_BOUGHT_ALGORITHMS:
            algos.add(chosen)
    except Exception:  # noqa: BLE001 - the storefront rules are optional here: without them, the default serves
        log.debug("no widget rule for also_bought on shop %s", shop.pk)
    return sorted(a for a in algos if a in ALSO_BOUGHT_ALGORITHMS)


def write_lists(shop: Shop, algorithm: str, neigh: co.Neighbours, pks: np.ndarray,
                only: np.ndarray | None = None) -> int:
    """Rewrite the stored lists of `algorithm` (all of the shop's, or only the products `only`, as pks)."""
    now = timezone.now()
    starts = np.searchsorted(neigh.item, np.arange(neigh.n_items + 1))
    rows = []
    for item in np.unique(neigh.item):
        lo, hi = starts[item], starts[item + 1]
        rows.append((
            int(pks[item]),
            pks[neigh.neighbour[lo:hi]].tolist(),
            [float(f"{s:.6g}") for s in neigh.score[lo:hi]],
            neigh.support[lo:hi].tolist(),
        ))
    with transaction.atomic():
        stale = AlsoBoughtList.objects.for_shop(shop).filter(algorithm=algorithm)
        if only is not None:
            stale = stale.filter(product_id__in=[int(p) for p in only])
        stale.delete()
        if connection.vendor == "postgresql" and len(rows) > WRITE_BATCH:
            _copy_lists(shop, algorithm, rows, now)
        else:
            AlsoBoughtList.objects.bulk_create(
                [AlsoBoughtList(shop_id=shop.pk, product_id=product, algorithm=algorithm, neighbour_ids=ids,
                                scores=scores, supports=supports, computed_at=now)
                 for product, ids, scores, supports in rows],
                batch_size=WRITE_BATCH,
            )
    return len(rows)


def _copy_lists(shop: Shop, algorithm: str, rows: list, now: datetime) -> None:
    """PostgreSQL COPY: a full rewrite of tens of thousands of lists in a fraction of bulk_create's time."""
    table = connection.ops.quote_name(AlsoBoughtList._meta.db_table)
    columns = "shop_id, product_id, algorithm, neighbour_ids, scores, supports, computed_at"
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for product, ids, scores, supports in rows:
            copy.write_row((shop.pk, product, algorithm, json.dumps(ids), json.dumps(scores), json.dumps(supports),
                            now))


def full_recompute(shop: Shop, algorithms: list[str] | None = None) -> dict:
    """Rebuild every neighbour list of the shop from its orders (the scheduled job)."""
    started = time.perf_counter()
    now = timezone.now()
    keys, products, times = _line_arrays(_lines(shop, now - timedelta(days=HORIZON_DAYS)))
    read_s = time.perf_counter() - started
    pks, items = np.unique(products, return_inverse=True)
    anchor = now.timestamp()
    baskets = co.encode(keys, items, times, n_items=len(pks))
    stats = co.item_stats(baskets, anchor, DEFAULT_PARAMS)
    written = {}
    core_s = write_s = 0.0
    for algo in algorithms or algorithms_in_use(shop):
        t0 = time.perf_counter()
        neigh = co.neighbours(baskets, anchor, params_for(algo), stats)
        t1 = time.perf_counter()
        written[algo] = write_lists(shop, algo, neigh, pks)
        core_s, write_s = core_s + t1 - t0, write_s + time.perf_counter() - t1
    with transaction.atomic():
        ItemStat.objects.for_shop(shop).delete()
        ItemStat.objects.bulk_create(
            [ItemStat(shop=shop, product_id=int(pk), weight=float(w), baskets=int(b))
             for pk, w, b in zip(pks, stats.weight, stats.baskets, strict=True)],
            batch_size=WRITE_BATCH,
        )
        AlsoBoughtState.objects.for_shop(shop).update_or_create(
            shop=shop,
            defaults={"anchor": now, "total_weight": stats.total_weight, "n_items_active": stats.n_items_active,
                      "avg_baskets": stats.avg_baskets, "computed_at": timezone.now(), "lines": len(products),
                      "seconds": time.perf_counter() - started},
        )
    took = time.perf_counter() - started
    log.info("also-bought recompute shop=%s lines=%d products=%d lists=%s in %.2fs (read %.2fs, core %.2fs, "
             "write %.2fs)", shop.domain, len(products), len(pks), written, took, read_s, core_s, write_s)
    return {"lines": len(products), "products": len(pks), "lists": written, "seconds": round(took, 2),
            "read_s": round(read_s, 2), "core_s": round(core_s, 2), "write_s": round(write_s, 2)}


def update_for_products(shop: Shop, product_ids: Iterable[int]) -> int:
    """Recompute the lists of the products one new order touched, from every basket that holds them.

    Only pairs inside the new basket change their co-counts, so rewriting the touched products' lists is enough;
    other products' normalisers drift slightly until the next full recompute.
    """
    affected = sorted({int(p) for p in product_ids if p})
    if not affected:
        return 0
    state = AlsoBoughtState.objects.for_shop(shop).first()
    if state is None:
        full_recompute(shop)
        return len(affected)
    since = timezone.now() - timedelta(days=HORIZON_DAYS)
    holders = (
        _lines(shop, since).filter(product_id__in=affected).order_by("-when")
        .values_list("order_id", "order__customer_id")[: MAX_BASKETS_PER_PRODUCT * len(affected)]
    )
    customers, guest_orders = set(), set()
    for order_id, customer_id in holders:
        (customers.add(customer_id) if customer_id else guest_orders.add(order_id))
    keys, products, times = _line_arrays(
        _lines(shop, since).filter(Q(order__customer_id__in=customers) | Q(order_id__in=guest_orders))
    )
    if not len(products):
        return 0
    pks, items = np.unique(products, return_inverse=True)
    anchor = state.anchor.timestamp()
    baskets = co.encode(keys, items, times, n_items=len(pks))
    local = co.item_stats(baskets, anchor, DEFAULT_PARAMS)
    weight, raw = local.weight.copy(), local.baskets.copy()
    affected_mask = np.isin(pks, affected)
    stored = dict(
        (pid, (w, b)) for pid, w, b in ItemStat.objects.for_shop(shop)
        .filter(product_id__in=[int(p) for p in pks[~affected_mask]]).values_list("product_id", "weight", "baskets")
    )
    for n, pk in enumerate(pks):
        if not affected_mask[n] and int(pk) in stored:
            weight[n], raw[n] = stored[int(pk)]
    stats = co.ItemStats(weight=weight, baskets=raw, total_weight=max(state.total_weight, float(weight.max())),
                         n_items_active=max(state.n_items_active, len(pks)), avg_baskets=state.avg_baskets)
    rows_idx = np.flatnonzero(affected_mask)
    for algo in algorithms_in_use(shop):
        neigh = co.neighbours(baskets, anchor, params_for(algo), stats, rows=rows_idx)
        write_lists(shop, algo, neigh, pks, only=pks[rows_idx])
    for n in rows_idx:
        ItemStat.objects.for_shop(shop).update_or_create(
            shop=shop, product_id=int(pks[n]), defaults={"weight": float(weight[n]), "baskets": int(raw[n])}
        )
    return len(rows_idx)


def stored_neighbours(shop: Shop, product_id: int, algorithm: str = "") -> list[int]:
    """The stored list for one product (unfiltered), best first; empty when the product has no co-purchases."""
    algorithm = algorithm if algorithm in ALSO_BOUGHT_ALGORITHMS else DEFAULT_PARAMS.algorithm
    ids = (
        AlsoBoughtList.objects.for_shop(shop).filter(product_id=product_id, algorithm=algorithm)
        .values_list("neighbour_ids", flat=True).first()
    )
    if ids is None and algorithm != DEFAULT_PARAMS.algorithm:
        return stored_neighbours(shop, product_id)
    return list(ids or [])

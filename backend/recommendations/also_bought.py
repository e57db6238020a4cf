"""Also-bought from the shop's orders: full recompute, incremental update after one order, and the lookup.

The math is `cooccurrence` (pure, shared with the benches); this module only turns orders into baskets and
stores the neighbour lists. The full recompute also backtests every similarity and popularity blend on the shop's
own last 90 days (predictions.also_bought_choice) and stores the winner's lists as "auto": what the widget serves
unless the merchant picked a similarity (lift only while the backtest shows it beating popularity).
A basket is everything one customer bought (orders from every channel, POS too); orders without a customer are
baskets on their own. That beat per-order baskets on the UCI validation split (bench/bench_offline_quality.py).
Cancelled orders, fully refunded lines and lines without a product are left out; variants fold into their product
because lines are read by product.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, replace
from datetime import datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, F, FloatField, Func, Q, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from backend.orders.models import LineItem
from backend.predictions import also_bought_choice, also_bought_record
from backend.recommendations import cooccurrence as co
from backend.recommendations.models import AlsoBoughtList, AlsoBoughtState, ItemStat
from backend.recommendations.registry import ALSO_BOUGHT_ALGORITHMS
from backend.shops.models import Shop

log = logging.getLogger(__name__)

DEFAULT_PARAMS = co.DEFAULT_PARAMS  # registry.DEFAULT_ALSO_BOUGHT_ALGORITHM names the same (tested)
HORIZON_DAYS = 540  # with a 60-day half-life older orders weigh < 0.2 %
MAX_BASKETS_PER_PRODUCT = 3000  # incremental update reads at most this many recent baskets per affected product
WRITE_BATCH = 2000
AUTO = "auto"  # the stored lists of the backtest's winner (similarity + popularity blend)


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


def algorithms_in_use(shop: Shop, pick: also_bought_record.Pick | None = None) -> list[str]:
    """The explicit similarities worth storing: the merchant's pick and whatever is stored already (experiments may
    ask for them); lift only while the backtest lets it serve. The "auto" lists are written besides these."""
    pick = pick or also_bought_record.latest(shop.pk)
    algos = set()
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
    return sorted(a for a in algos if a in ALSO_BOUGHT_ALGORITHMS and (a != "lift" or pick.lift_ok))


Popular = tuple[list[int], list[float]]  # the shop's top sellers (pks) and their weight scaled to the best one


def popular_from(pks: np.ndarray, weight: np.ndarray, top_k: int) -> Popular:
    top = np.argsort(-weight, kind="stable")[: top_k + 1]  # one more: a product never lists itself
    best = float(weight[top[0]]) if len(top) and weight[top[0]] > 0 else 1.0
    return [int(pks[i]) for i in top if weight[i] > 0], [float(weight[i]) / best for i in top if weight[i] > 0]


def write_lists(shop: Shop, algorithm: str, neigh: co.Neighbours, pks: np.ndarray,
                only: np.ndarray | None = None, blend: float = 0.0, popular: Popular = ([], [])) -> int:
    """Rewrite the stored lists of `algorithm` (all of the shop's, or only the products `only`, as pks). With a
    `blend`, every product's list mixes in the `popular` products as the backtest scored the blend."""
    now = timezone.now()
    starts = np.searchsorted(neigh.item, np.arange(neigh.n_items + 1))
    rows = []
    items = np.unique(neigh.item)
    if blend > 0:  # popularity gives every product a list, co-purchased or not
        items = np.flatnonzero(np.isin(pks, only)) if only is not None else np.arange(len(pks))
    for item in items:
        lo, hi = starts[item], starts[item + 1]
        ids, scores = pks[neigh.neighbour[lo:hi]].tolist(), neigh.score[lo:hi].tolist()
        supports = dict(zip(ids, neigh.support[lo:hi].tolist(), strict=True))
        if blend > 0:
            ids, scores = also_bought_choice.blend_row(ids, scores, *popular, blend, DEFAULT_PARAMS.top_k,
                                                       own=int(pks[item]))
        if ids:
            rows.append((int(pks[item]), ids, [float(f"{s:.6g}") for s in scores],
                         [supports.get(i, 0) for i in ids]))
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
    t0 = time.perf_counter()
    pick = choose(shop, keys, items, times, len(pks))
    backtest_s = time.perf_counter() - t0
    algos = algorithms or algorithms_in_use(shop, pick)
    if not pick.lift_ok:  # guarded out: the merchant's lift pick reads the auto lists instead
        AlsoBoughtList.objects.for_shop(shop).filter(algorithm="lift").delete()
    popular = popular_from(pks, stats.weight, DEFAULT_PARAMS.top_k)
    written = {}
    core_s = write_s = 0.0
    computed: dict[str, co.Neighbours] = {}
    for algo, source, blend in [(AUTO, pick.algorithm, pick.blend), *((a, a, 0.0) for a in algos)]:
        t0 = time.perf_counter()
        if source not in computed:
            computed[source] = co.neighbours(baskets, anchor, params_for(source), stats)
        t1 = time.perf_counter()
        written[algo] = write_lists(shop, algo, computed[source], pks, blend=blend, popular=popular)
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
    log.info("also-bought recompute shop=%s lines=%d products=%d lists=%s in %.2fs (read %.2fs, backtest %.2fs, "
             "core %.2fs, write %.2fs)", shop.domain, len(products), len(pks), written, took, read_s, backtest_s,
             core_s, write_s)
    return {"lines": len(products), "products": len(pks), "lists": written, "seconds": round(took, 2),
            "read_s": round(read_s, 2), "backtest_s": round(backtest_s, 2), "core_s": round(core_s, 2),
            "write_s": round(write_s, 2), "chosen": asdict(pick)}  # plain JSON: a Celery result


def choose(shop: Shop, keys: np.ndarray, items: np.ndarray, times: np.ndarray, n_items: int
           ) -> also_bought_record.Pick:
    """Backtest on the lines the recompute already read (a customer's history is their basket) and store it."""
    if not len(items):
        return also_bought_record.UNTESTED
    started = time.perf_counter()
    try:
        bt = also_bought_choice.backtest_also_bought(keys, items, times, n_items)
    except Exception:  # the lists must still be rebuilt: keep the last stored choice and hear about the bug
        log.exception("also-bought backtest failed on shop %s", shop.pk)
        return also_bought_record.latest(shop.pk)
    row = also_bought_record.record(shop.pk, bt, time.perf_counter() - started)
    return also_bought_record.pick_of(row)


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
    pick = also_bought_record.latest(shop.pk)
    popular = _stored_popular(shop)
    computed: dict[str, co.Neighbours] = {}
    for algo, source, blend in [(AUTO, pick.algorithm, pick.blend), *((a, a, 0.0) for a in algorithms_in_use(
            shop, pick))]:
        if source not in computed:
            computed[source] = co.neighbours(baskets, anchor, params_for(source), stats, rows=rows_idx)
        write_lists(shop, algo, computed[source], pks, only=pks[rows_idx], blend=blend, popular=popular)
    for n in rows_idx:
        ItemStat.objects.for_shop(shop).update_or_create(
            shop=shop, product_id=int(pks[n]), defaults={"weight": float(weight[n]), "baskets": int(raw[n])}
        )
    return len(rows_idx)


def _stored_popular(shop: Shop) -> Popular:
    rows = list(ItemStat.objects.for_shop(shop).filter(weight__gt=0).order_by("-weight", "product_id")
                .values_list("product_id", "weight")[: DEFAULT_PARAMS.top_k + 1])
    best = rows[0][1] if rows else 1.0
    return [p for p, _ in rows], [w / best for _, w in rows]


def stored_neighbours(shop: Shop, product_id: int, algorithm: str = "") -> list[int]:
    """The stored list for one product (unfiltered), best first; empty when the product has nothing stored.

    "" (the merchant left it to us) reads the backtest's "auto" list; an explicit similarity reads its own, and
    where it has none (no co-purchases, or lift guarded out) the auto list; shops not recomputed since the auto
    lists exist read the offline default.
    """
    chain = [AUTO, DEFAULT_PARAMS.algorithm]
    if algorithm in ALSO_BOUGHT_ALGORITHMS:
        chain.insert(0, algorithm)
    found = dict(
        AlsoBoughtList.objects.for_shop(shop).filter(product_id=product_id, algorithm__in=chain)
        .values_list("algorithm", "neighbour_ids")
    )
    return list(next((found[a] for a in chain if found.get(a)), []))

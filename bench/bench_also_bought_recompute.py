"""Bench 3: also-bought full recompute over 1,000,000 order lines (target <= 30 s).

Generates a realistic long-tailed order history (Zipf product popularity, geometric basket sizes with a heavy
tail, planted co-purchase themes, 500 days of timestamps), then times separately:
  core   the pure NumPy/SciPy co-occurrence + top-K (backend.recommendations.cooccurrence), peak memory too;
  db     writing the neighbour table for every product (backend.recommendations.also_bought.write_lists) into the
         database named by DATABASE_URL (default: a throwaway SQLite file).
Usage: bench_also_bought_recompute.py [--lines 1000000] [--products 50000] [--skip-db]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def generate(lines: int, products: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(basket key, product index, timestamp) per line, ~`lines` long. Keys as the database path builds them:
    a customer's orders form one basket (70 % of orders, customers reorder on a long tail), guests' orders are
    baskets of their own."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, products + 1)
    pop = 1.0 / ranks**1.05
    pop /= pop.sum()
    # Basket sizes: mostly 1-4 lines, a heavy tail of wholesale-like baskets up to 80 lines.
    sizes = np.minimum(rng.geometric(0.33, size=lines) + (rng.random(lines) < 0.03) * rng.integers(5, 60, lines), 80)
    csum = np.cumsum(sizes)
    n_baskets = int(np.searchsorted(csum, lines)) + 1
    sizes = sizes[:n_baskets]
    sizes[-1] -= int(csum[n_baskets - 1] - lines)
    sizes = sizes[sizes > 0]
    basket = np.repeat(np.arange(len(sizes)), sizes)
    total = len(basket)
    # Half the lines come from a theme (a cluster of 20 related products) anchored on the basket's first item.
    items = rng.choice(products, size=total, p=pop)
    first = items[np.r_[0, np.cumsum(sizes)[:-1]]]
    themed = rng.random(total) < 0.5
    theme_item = (first[basket] // 20) * 20 + rng.integers(0, 20, total)
    items = np.where(themed, np.minimum(theme_item, products - 1), items)
    now = 1_780_000_000.0
    t_basket = now - rng.random(len(sizes)) * 500 * 86400  # inside the recompute horizon (540 days)
    n_orders = len(sizes)
    customers = rng.zipf(1.6, size=n_orders) + rng.integers(0, n_orders // 3, n_orders)
    key = np.where(rng.random(n_orders) < 0.7, customers * 2, np.arange(n_orders) * 2 + 1)
    return key[basket], items.astype(np.int64), t_basket[basket]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--products", type=int, default=50_000)
    ap.add_argument("--algorithm", default="")
    ap.add_argument("--skip-db", action="store_true")
    ap.add_argument("--db-full", action="store_true",
                    help="also load the orders into the database and time also_bought.full_recompute end to end "
                         "(loading 1M lines takes minutes; off by default)")
    args = ap.parse_args()

    from backend.recommendations import cooccurrence as co
    from backend.recommendations.registry import DEFAULT_ALSO_BOUGHT_ALGORITHM

    algorithm = args.algorithm or DEFAULT_ALSO_BOUGHT_ALGORITHM
    basket, items, times = generate(args.lines, args.products)
    print(f"generated {len(items):,} order lines, {len(np.unique(basket)):,} baskets (customers + guest orders), "
          f"{args.products:,} products")

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    t0 = time.perf_counter()
    baskets = co.encode(basket, items, times, n_items=args.products)
    from dataclasses import replace

    params = replace(co.DEFAULT_PARAMS, algorithm=algorithm)
    neigh = co.neighbours(baskets, anchor=float(times.max()), params=params)
    core_s = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    covered = len(np.unique(neigh.item))
    print(f"core ({algorithm}): {core_s:.2f} s, peak traced memory {peak / 2**20:.0f} MiB, "
          f"process max RSS {rss1 / 1024:.0f} MiB (before: {rss0 / 1024:.0f} MiB); "
          f"{len(neigh.item):,} neighbour entries for {covered:,} products  target <= 30 s: "
          f"{'PASS' if core_s <= 30 else 'FAIL'}")
    if args.skip_db:
        return

    tmp = None
    if not os.environ.get("DATABASE_URL"):
        tmp = tempfile.mkdtemp(prefix="bench_ab_")
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from backend.catalog.models import Product
    from backend.recommendations.also_bought import write_lists
    from backend.shops.models import Shop

    shop = Shop(platform="shopify", domain=f"bench-recompute-{os.getpid()}.myshopify.com")
    shop.save()
    Product.objects.bulk_create(
        [Product(shop=shop, platform_id=str(i), title=f"P{i}") for i in range(args.products)], batch_size=5000
    )
    pks = np.array(Product.objects.for_shop(shop).order_by("id").values_list("id", flat=True))
    t1 = time.perf_counter()
    written = write_lists(shop, algorithm, neigh, pks)
    db_s = time.perf_counter() - t1
    engine = django.db.connection.vendor
    print(f"db write ({engine}): {db_s:.2f} s for {written:,} product lists; total core + write {core_s + db_s:.2f} s")
    if args.db_full:
        full_path(shop, pks, basket, items, times)
    shop.delete()


def full_path(shop, pks: np.ndarray, basket: np.ndarray, items: np.ndarray, times: np.ndarray) -> None:
    """Load the generated history as orders + lines, then time the production recompute (read + core + write)."""
    from datetime import UTC, datetime

    from django.utils import timezone

    from backend.customers.models import Customer
    from backend.orders.models import LineItem, Order
    from backend.recommendations.also_bought import full_recompute

    t0 = time.perf_counter()
    shift = timezone.now().timestamp() - float(times.max())  # the generated history ends now
    cust_keys = np.unique(basket[basket % 2 == 0]) // 2
    Customer.objects.bulk_create([Customer(shop=shop, platform_id=f"c{k}") for k in cust_keys], batch_size=5000)
    cust_pk = dict(Customer.objects.for_shop(shop).values_list("platform_id", "pk"))
    # One order per (basket, timestamp): a customer's basket spans several orders.
    order_keys = np.unique(np.stack([basket, times.astype(np.int64)]), axis=1)
    orders = []
    for n, (key, when) in enumerate(order_keys.T):
        orders.append(Order(
            shop=shop, platform_id=f"o{n}", processed_at=datetime.fromtimestamp(when + shift, tz=UTC),
            customer_id=cust_pk[f"c{key // 2}"] if key % 2 == 0 else None, channel="online",
        ))
    Order.objects.bulk_create(orders, batch_size=5000)
    order_pk = np.array(Order.objects.for_shop(shop).order_by("id").values_list("id", flat=True))
    idx = {(int(k), int(t)): n for n, (k, t) in enumerate(order_keys.T)}
    lines = []
    for n, (key, item, when) in enumerate(zip(basket, items, times.astype(np.int64), strict=True)):
        lines.append(LineItem(shop=shop, order_id=int(order_pk[idx[(int(key), int(when))]]), platform_id=f"l{n}",
                              product_id=int(pks[item]), quantity=1))
        if len(lines) == 20000:
            LineItem.objects.bulk_create(lines)
            lines = []
    LineItem.objects.bulk_create(lines)
    print(f"loaded {len(orders):,} orders and {len(items):,} lines in {time.perf_counter() - t0:.0f} s")
    t1 = time.perf_counter()
    result = full_recompute(shop)
    print(f"full_recompute from the database: {time.perf_counter() - t1:.2f} s (read {result['read_s']} s, "
          f"core {result['core_s']} s, write {result['write_s']} s), {result['lines']:,} lines, "
          f"lists {result['lists']}")


if __name__ == "__main__":
    main()

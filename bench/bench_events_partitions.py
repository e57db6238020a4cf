"""Storefront events partitioned by month on PostgreSQL (issue 17): insert rate and the widget engines' query
latency with `--events` stored events (20 million by default) spread over two years of monthly partitions.

Loads the bulk in SQL (INSERT ... SELECT over generate_series, month by month: the rate printed is the database's
own), then measures the app's write path (Event.objects.bulk_create in ingestion-sized batches) on top of it, then
the reads the engines make, each over random shops and visitors: recently viewed (90-day bound, the hand-written
query the storefront runs), the same without a time bound (every partition probed), the popup frequency cap (one
day), one shop-day of rollup counts. Finally retention: dropping the oldest month's partition.
Own database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/personalize_scale_events).
  bench_events_partitions.py [--events 20000000] [--shops 200] [--probes 300] [--keep]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/personalize_scale_events"
VISITORS_PER_SHOP = 5000
MONTHS = 24


def _database(url: str, fresh: bool) -> None:
    from urllib.parse import urlparse

    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {1000 * statistics.median(ordered):7.2f} ms   p95 {1000 * p95:7.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20_000_000)
    ap.add_argument("--shops", type=int, default=200)
    ap.add_argument("--probes", type=int, default=300)
    ap.add_argument("--keep", action="store_true", help="reuse the loaded database if it holds the events")
    args = ap.parse_args()

    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        sys.exit("bench_events_partitions needs PostgreSQL")
    _database(os.environ["DATABASE_URL"], fresh=not args.keep)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from backend.events import partitions
    from backend.events.models import Event, EventType
    from backend.recommendations.recently_viewed import _OWN_VIEWS, RECENT_DAYS
    from backend.shops.models import Shop

    call_command("migrate", verbosity=0)
    now = timezone.now()
    rng = random.Random(17)
    with connection.cursor() as cur:
        partitions.ensure_ahead(now, cursor=cur, since=now - timedelta(days=31 * MONTHS))
        cur.execute("SELECT count(*) FROM events_event")
        stored = cur.fetchone()[0]
    if stored < args.events:
        shops = []
        for i in range(args.shops):
            shop = Shop(platform=Shop.Platform.SHOPIFY, domain=f"bench-events-{i}.myshopify.com")
            shop.access_token = "shpat_bench"
            shop.mark_installed()
            shops.append(shop)
        Shop.objects.bulk_create(shops, ignore_conflicts=True)
        ids = list(Shop.objects.filter(domain__startswith="bench-events-").values_list("pk", flat=True))
        per_month = (args.events - stored) // MONTHS
        types = [t.value for t in EventType]
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            for m in range(MONTHS):
                end = now - timedelta(days=30.4 * m)
                cur.execute("""
                    INSERT INTO events_event (shop_id, visitor_id, session_id, customer_id, type, product_id,
                                              collection_id, widget, experiment, variant, created_at)
                    SELECT (%(ids)s::bigint[])[1 + (g %% %(n)s)],
                           'v' || (g * 7919 %% %(visitors)s), 's' || (g / 20), NULL,
                           (%(types)s::text[])[1 + (g %% %(ntypes)s)], NULL, NULL,
                           CASE WHEN g %% 5 = 0 THEN 'bestsellers' ELSE '' END, '', '',
                           %(end)s - make_interval(secs => (g::float8 / %(per)s) * 30.4 * 86400)
                    FROM generate_series(1, %(per)s) g""",
                            {"ids": ids, "n": len(ids), "visitors": VISITORS_PER_SHOP, "types": types,
                             "ntypes": len(types), "end": end, "per": per_month})
                print(f"  month {m + 1}/{MONTHS}: {(m + 1) * per_month:,} rows, "
                      f"{(m + 1) * per_month / (time.perf_counter() - t0):,.0f} rows/s", flush=True)
            cur.execute("ANALYZE events_event")
        loaded = per_month * MONTHS
        print(f"bulk load (SQL, indexes maintained): {loaded:,} events in {time.perf_counter() - t0:.0f} s = "
              f"{loaded / (time.perf_counter() - t0):,.0f} rows/s")
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM events_event")
        total = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events_event'::regclass")
        n_parts = cur.fetchone()[0]
    ids = list(Shop.objects.filter(domain__startswith="bench-events-").values_list("pk", flat=True))
    print(f"{total:,} events in {n_parts} partitions, {len(ids)} shops (machine: 2 shared, busy cores)")

    # The app's write path: ingestion stores a request's batch with one bulk_create.
    batch, rounds = 50, 200
    samples = []
    for _ in range(rounds):
        shop_id = rng.choice(ids)
        rows = [Event(shop_id=shop_id, visitor_id=f"v{rng.randrange(VISITORS_PER_SHOP)}", session_id="s",
                      type=EventType.PRODUCT_VIEWED) for _ in range(batch)]
        t = time.perf_counter()
        Event.objects.bulk_create(rows)
        samples.append(time.perf_counter() - t)
    print(f"insert (app path, bulk_create of {batch}): {batch * rounds / sum(samples):,.0f} events/s; "
          f"per batch {_ms(samples)}")

    def probe(label: str, run) -> None:  # noqa: ANN001
        times = []
        for _ in range(args.probes):
            shop_id, visitor = rng.choice(ids), f"v{rng.randrange(VISITORS_PER_SHOP)}"
            t = time.perf_counter()
            run(shop_id, visitor)
            times.append(time.perf_counter() - t)
        print(f"  {label:<48} {_ms(times)}")

    since = partitions.recent_since(RECENT_DAYS)
    unbounded = _OWN_VIEWS.replace(" AND e.created_at >= %s", "")

    def recent(shop_id: int, visitor: str) -> None:
        with connection.cursor() as cur:
            cur.execute(_OWN_VIEWS, [shop_id, visitor, shop_id, visitor, "product_viewed", since, 300])
            cur.fetchall()

    def everything(shop_id: int, visitor: str) -> None:
        with connection.cursor() as cur:
            cur.execute(unbounded, [shop_id, visitor, shop_id, visitor, "product_viewed", 300])
            cur.fetchall()

    def cap(shop_id: int, visitor: str) -> None:
        Event.objects.for_shop(shop_id).filter(visitor_id=visitor, type=EventType.POPUP_SHOWN,
                                               created_at__gte=now - timedelta(days=1)).exists()

    def rollup_day(shop_id: int, visitor: str) -> None:
        day = now - timedelta(days=rng.randrange(1, 8))
        list(Event.objects.for_shop(shop_id).filter(created_at__gte=day - timedelta(days=1), created_at__lt=day)
             .exclude(widget="").values("type", "widget").annotate(n=django.db.models.Count("id")))

    print(f"query latency over {args.probes} random shops/visitors:")
    probe(f"recently viewed, {RECENT_DAYS}-day bound (storefront)", recent)
    probe("recently viewed, no time bound (every partition)", everything)
    probe("popup frequency cap (1 day)", cap)
    probe("rollup: one shop-day of widget counts", rollup_day)

    with connection.cursor() as cur:
        bounds = sorted(b for b in partitions.partitions(cur).values() if b is not None)
        oldest = None
        for low, high in bounds:  # the oldest month that holds events
            cur.execute("SELECT count(*) FROM events_event WHERE created_at >= %s AND created_at < %s", [low, high])
            rows = cur.fetchone()[0]
            if rows:
                oldest = high
                break
    if oldest is None:
        return
    t = time.perf_counter()
    dropped = partitions.drop_expired(oldest, horizon=0)  # as the daily job does once that month leaves the horizon
    print(f"retention: dropped {', '.join(dropped)} ({rows:,} rows in the newest of them) in "
          f"{1000 * (time.perf_counter() - t):.0f} ms (no DELETE)")


if __name__ == "__main__":
    main()

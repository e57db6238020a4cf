"""Storefront events partitioned by month on PostgreSQL (issue 17): insert rate and the widget engines' query
latency with `--events` stored events (20 million by default) spread over two years of monthly partitions.

Loads the bulk with COPY (psycopg's copy, rows generated in streaming chunks so memory stays bounded; secondary
indexes rebuilt after the load), then measures the app's write path (Event.objects.bulk_create in ingestion-sized
batches) on top of it, then the reads the engines make, each over random shops and visitors, p50/p95/p99:
continue shopping (recently viewed, 90-day bound, the hand-written query the storefront runs), the same without a
time bound (every partition probed), the popup frequency cap (one day), one shop-day of rollup counts, and a
profile refresh's event read (bounded by its running totals, and the whole history it replaced).
Finally retention: dropping the oldest month's partition.
Own database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/personalize_scale_events).
  bench_events_partitions.py [--events 20000000] [--shops 200] [--probes 300] [--chunk 100000] [--keep]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
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
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return (f"p50 {1000 * statistics.median(ordered):7.2f} ms   p95 {1000 * p95:7.2f} ms   "
            f"p99 {1000 * p99:7.2f} ms")


COLUMNS = "shop_id, visitor_id, session_id, type, widget, experiment, variant, created_at"


def _chunks(ids: list[int], total: int, now: datetime, chunk: int):  # noqa: ANN202
    """COPY text for `total` events over MONTHS months, oldest first, `chunk` rows at a time: memory stays at one
    chunk whatever the total. Visitors and types drawn with numpy (Python's per-row random would dominate)."""
    import numpy as np

    from backend.events.models import EventType

    gen = np.random.default_rng(17)
    types = np.array([t.value for t in EventType])
    # Most events are product views, as on a real storefront.
    weights = np.array([0.55, 0.12, 0.08, 0.12, 0.03, 0.04, 0.03, 0.03])
    shop_ids = np.array(ids)
    start = now - timedelta(days=30.4 * MONTHS)
    span = (now - start).total_seconds()
    done = 0
    while done < total:
        n = min(chunk, total - done)
        shop = shop_ids[gen.integers(0, len(shop_ids), n)]
        visitor = gen.integers(0, VISITORS_PER_SHOP, n)
        kind = types[gen.choice(len(types), n, p=weights / weights.sum())]
        widget = np.where(gen.random(n) < 0.2, "bestsellers", "")
        # Evenly spaced in time across the whole load, so the rows arrive oldest first, month by month.
        micros = int(start.timestamp() * 1e6) + (np.arange(done, done + n) * (span * 1e6 / total)).astype(np.int64)
        stamp = np.datetime_as_string(micros.astype("datetime64[us]"), timezone="UTC")  # vectorised, in C
        day = (micros // 86_400_000_000).tolist()
        lines = [f"{s}\tv{v}\ts{v}-{d}\t{k}\t{w}\t\t\t{t}\n"
                 for s, v, k, w, d, t in zip(shop.tolist(), visitor.tolist(), kind.tolist(), widget.tolist(), day,
                                             stamp.tolist(), strict=True)]
        done += n
        yield n, "".join(lines).encode()


def _copy_load(connection, ids: list[int], total: int, now: datetime, chunk: int) -> tuple[int, float]:  # noqa: ANN001
    """Stream `total` events into the partitioned table with COPY, foreign-key triggers off for the load (as
    pg_restore --disable-triggers does). The secondary indexes are dropped first and
    rebuilt once at the end (a sorted build per partition instead of 20M random B-tree inserts); their
    definitions are read back from the catalog, so they come back exactly as the migrations made them."""
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("""SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                       WHERE x.indrelid = 'events_event'::regclass AND NOT x.indisprimary""")
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute("SET synchronous_commit TO OFF")
        # The foreign keys are deferred: left on, the commit would queue and then run one check per row (20M
        # lookups into shops_shop, ~1 GB of trigger queue). The generated shop ids are valid by construction.
        cur.execute("SET session_replication_role TO replica")
        loaded = 0
        with cur.cursor.copy(f"COPY events_event ({COLUMNS}) FROM STDIN") as copy:
            for n, data in _chunks(ids, total, now, chunk):
                copy.write(data)
                loaded += n
                if loaded % (chunk * 20) < chunk:
                    print(f"  {loaded:,} rows, {loaded / (time.perf_counter() - t0):,.0f} rows/s", flush=True)
        cur.execute("SET session_replication_role TO DEFAULT")
        t1 = time.perf_counter()
        cur.execute("SET maintenance_work_mem TO '256MB'")
        for _, ddl in indexes:
            # The catalog writes a partitioned index as "ON ONLY" (the parent alone): build it on every partition.
            cur.execute(ddl.replace(" ON ONLY ", " ON ", 1))
        print(f"  COPY {t1 - t0:.0f} s, index build {time.perf_counter() - t1:.0f} s", flush=True)
        cur.execute("ANALYZE events_event")
    return loaded, time.perf_counter() - t0


def _profile_refresh(ids: list[int], rng: random.Random, probes: int, now: datetime) -> None:
    """A profile refresh's event read (customers.profiles._apply_events) for a visitor, whole history (no running
    totals yet, or identities changed) and the usual case: totals one day old, only the events after their edge."""
    from backend.customers.models import CustomerProfile
    from backend.customers.profiles import _apply_events

    whole, bounded, profiles = [], [], []
    for _ in range(probes):
        shop_id, visitor = rng.choice(ids), f"v{rng.randrange(VISITORS_PER_SHOP)}"
        profile = CustomerProfile(shop_id=shop_id)
        t = time.perf_counter()
        _apply_events(profile, [], [visitor], 30, now - timedelta(days=1))
        whole.append(time.perf_counter() - t)
        profiles.append((profile, visitor))
    rng.shuffle(profiles)  # a second pass in another order: not the pages the whole read just touched
    for profile, visitor in profiles:
        t = time.perf_counter()
        _apply_events(profile, [], [visitor], 30, now)
        bounded.append(time.perf_counter() - t)
    print(f"  {'profile refresh events, whole history':<48} {_ms(whole)}")
    print(f"  {'profile refresh events, after the totals edge':<48} {_ms(bounded)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20_000_000)
    ap.add_argument("--shops", type=int, default=200)
    ap.add_argument("--probes", type=int, default=300)
    ap.add_argument("--keep", action="store_true", help="reuse the loaded database (no load if it holds any events)")
    ap.add_argument("--chunk", type=int, default=100_000, help="rows generated and sent per COPY chunk")
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
    if stored < args.events and not (args.keep and stored):  # --keep: measure again what is there
        shops = []
        for i in range(args.shops):
            shop = Shop(platform=Shop.Platform.SHOPIFY, domain=f"bench-events-{i}.myshopify.com")
            shop.access_token = "shpat_bench"
            shop.mark_installed()
            shops.append(shop)
        Shop.objects.bulk_create(shops, ignore_conflicts=True)
        ids = list(Shop.objects.filter(domain__startswith="bench-events-").values_list("pk", flat=True))
        loaded, took = _copy_load(connection, ids, args.events - stored, now, args.chunk)
        print(f"bulk load (COPY, streamed in chunks of {args.chunk:,}, indexes built after): {loaded:,} events in "
              f"{took:.0f} s = {loaded / took:,.0f} rows/s")
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
    _profile_refresh(ids, rng, args.probes, now)

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

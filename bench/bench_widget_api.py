"""Bench: the public widget API under load (issue 3, figure 1).

gunicorn with the app's production config (backend/config/gunicorn.conf.py: here 2 workers × 4 threads, each
worker holding at most 8 of the load generator's 16 keep-alive connections) on PostgreSQL and Redis, driven by
bench/loadgen.py in a second process. Prints requests/s and p50/p99 at a fixed 500 requests/s (open loop, latency
from each request's scheduled start) and at full speed, for the widget API and for a bare Django view on the same
server (`/api/storefront/ping`, same middleware) as the reference; full speed is measured with wrk when installed
(`apt-get install -y wrk`; loadgen.py otherwise). Targets (issue 16): p99 ≤ 10 ms at 500 req/s and at least
0.6x the bare view's throughput, the mix's ratio printed beside the bare view of the same run.
The bare view's own tail at 500 req/s was mostly the workers' full garbage collections (~220k long-lived objects
walked, all threads of a worker stalled, every few thousand requests): workers now freeze those objects once loaded
(backend/config/worker_memory.py). What is left on a busy machine is mostly the load generator waiting for a core,
printed as "gen. lag p99".
Two request sets: "shared" is what a CDN could answer (also-bought on the 500 most viewed product pages,
bestsellers overall and per collection); "mix" adds 10% personal "continue shopping" requests, which are never
cached whole: each reads the visitor's recent views from Redis (events/recent_views.py; the events table only on
a visitor's first request) over product cards a worker keeps a minute (taken from Redis, formatted, when
another worker read them), joined from bytes serialised once per card.
Needs PostgreSQL and Redis on 127.0.0.1 (BENCH_PG_URL, BENCH_REDIS_URL); prints "skipped" without them.
Usage: bench_widget_api.py [--duration 10] [--rate 500] [--quick]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import storefront_server as harness  # noqa: E402

DB = os.environ.get("BENCH_DB", "bench_widget_api")  # another name when several checkouts bench at once


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--quick", action="store_true", help="5 s runs, smaller catalog")
    args = ap.parse_args()
    if args.quick:
        args.duration = 5
    found = harness.services(DB)
    if found is None:
        return
    env = harness.setup_django(*found)
    t0 = time.perf_counter()
    shop, products, collections, lines = harness.seed(products=1000 if args.quick else 2000,
                                                      orders=8000 if args.quick else 20000)
    print(f"seeded {len(products)} products, {lines} order lines in {time.perf_counter() - t0:.1f}s; "
          + harness.recompute(shop))
    seed_views(shop, products)

    rng = random.Random(1)
    key = shop.public_key
    shared = (
        [f"/api/storefront/widgets/also_bought?key={key}&product={p.platform_id}&locale=es"
         for p in products[:500]]
        + [f"/api/storefront/widgets/bestsellers?key={key}&locale=es"] * 100
        + [f"/api/storefront/widgets/bestsellers?key={key}&collection={c.platform_id}&locale=en" for c in collections]
    )
    personal = [f"/api/storefront/widgets/recently_viewed?key={key}&visitor=visitor-{v}&locale=es" for v in range(500)]
    mix = [rng.choice(personal) if rng.random() < 0.1 else rng.choice(shared) for _ in range(20000)]
    ping = ["/api/storefront/ping"]

    server = harness.Gunicorn(env)

    def fresh_payloads() -> None:
        """Every shared payload built anew just before a widget run, so none turns stale (PUBLIC_TTL) during it.

        In steady state each payload is rebuilt in the background once a minute, spread over time; here all were
        built in the same second, so without this their rebuilds would all land inside one later run.
        """
        from backend.storefront import hotcache
        from backend.storefront.rules import invalidate

        invalidate(shop.pk)
        time.sleep(hotcache.VERSION_TTL + 0.2)  # every worker has read the new rule version
        cpu0, t0 = server.cpu_seconds(), time.perf_counter()
        warm = harness.load(server.port, shared, concurrency=4, count=len(shared), duration=1)
        cpu = server.cpu_seconds() - cpu0
        print(f"payloads: {len(shared)} built in {time.perf_counter() - t0:.1f}s, {1000 * cpu / len(shared):.1f} ms "
              f"server CPU each (p50 {warm['p50_ms']} ms, p99 {warm['p99_ms']} ms per cache miss); rebuilt once a "
              f"minute that is {cpu / 60:.0%} of one core in steady state")
        # Steady state is also every worker having served the pages before (their page ids and the payloads, held
        # in memory a few seconds): each page asked a few times over 16 connections, which spread over the workers.
        harness.load(server.port, shared, concurrency=16, count=3 * len(shared), duration=1)

    try:
        fresh_payloads()  # also: every worker has opened its DB and Redis connections
        runs = {
            "ping @rate": lambda: harness.load(server.port, ping, rate=args.rate, duration=args.duration),
            "widgets mix @rate": lambda: harness.load(server.port, mix, rate=args.rate, duration=args.duration),
            "widgets shared @rate": lambda: harness.load(server.port, shared, rate=args.rate, duration=args.duration),
            "ping max (wrk)": lambda: harness.wrk_max(server.port, ping, duration=args.duration),
            "widgets mix max (wrk)": lambda: harness.wrk_max(server.port, mix, duration=args.duration),
            "widgets shared max (wrk)": lambda: harness.wrk_max(server.port, shared, duration=args.duration),
        }
        results = {}
        for name, run in runs.items():
            if name.startswith("widgets"):
                fresh_payloads()
            before = server.cpu_seconds()
            results[name] = run()
            served = results[name].get("sent") or 1
            results[name]["cpu_ms"] = round(1000 * (server.cpu_seconds() - before) / served, 2)
    finally:
        server.stop()
    # "gen. lag p99": scheduled start -> first byte written, the load generator's own share of the p99 (a busy
    # machine starves it before the server); the latency columns still count it, from each scheduled start.
    print(f"\n{'run':<26}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'gen. lag p99':>14}"
          f"{'server CPU ms/req':>19}  statuses")
    for name, r in results.items():
        lag = r.get("send_lag_p99_ms", "-")
        print(f"{name:<26}{r['rps']:>9}{r['p50_ms']:>9}{r['p90_ms']:>9}{r['p99_ms']:>9}{lag:>14}{r['cpu_ms']:>19}  "
              f"{r['statuses']} errors={r['errors']}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end of the runs")
    print(f"(bare view at {args.rate:.0f} req/s: p99 {results['ping @rate']['p99_ms']} ms — the floor this machine "
          "allows right now)")
    # Issue 16's targets: the mix (10 % personal) at >= 0.6x the bare view, p99 <= 10 ms at the fixed rate.
    bare = results["ping max (wrk)"]["rps"]
    for kind, floor in (("mix", 0.6), ("shared", 0.6)):
        at_rate = results[f"widgets {kind} @rate"]
        ratio = results[f"widgets {kind} max (wrk)"]["rps"] / max(1.0, bare)
        print(f"widget API ({kind}) at {args.rate:.0f} req/s: p99 {at_rate['p99_ms']} ms (target ≤ 10) "
              f"{'PASS' if at_rate['p99_ms'] <= 10 else 'MISS'}; max {results[f'widgets {kind} max (wrk)']['rps']} "
              f"req/s beside the bare view's {bare} req/s in this run: {ratio:.2f}x (target ≥ {floor}x) "
              f"{'PASS' if ratio >= floor else 'MISS'}")
    harness.drop_database(DB)


def seed_views(shop, products) -> None:  # noqa: ANN001
    """500 visitors with a few product views each, so "continue shopping" has something to show."""
    from datetime import timedelta

    from django.utils import timezone

    from backend.events.models import Event

    now = timezone.now()
    rng = random.Random(2)
    Event.objects.bulk_create(
        [Event(shop=shop, visitor_id=f"visitor-{v}", session_id=f"s{v}", type="product_viewed",
               product=products[rng.randrange(len(products))], created_at=now - timedelta(minutes=k))
         for v in range(500) for k in range(6)],
        batch_size=3000,
    )


if __name__ == "__main__":
    main()

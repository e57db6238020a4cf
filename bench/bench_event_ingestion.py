"""Bench: storefront event ingestion (issue 3, figure 2): events/s accepted and stored, with none lost.

gunicorn (production config: 2 workers × 4 threads) on PostgreSQL and Redis; bench/loadgen.py in a second process
posts batches the way the storefront script does (text/plain JSON, 20 events per batch, 2,000 visitors, mixed
event types, analytics
consent given, 5% of batches from logged-in customers so stitching runs too) for a fixed time. Afterwards the rows
are counted: stored must equal the sum of "accepted" in the 202 answers. Target ≥ 2,000 events/s.
Per-IP budgets are raised for the run (every request comes from 127.0.0.1); per-visitor budgets stay as shipped.
Needs PostgreSQL and Redis on 127.0.0.1 (BENCH_PG_URL, BENCH_REDIS_URL); prints "skipped" without them.
Usage: bench_event_ingestion.py [--duration 10] [--batch 20] [--quick]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import storefront_server as harness  # noqa: E402

DB = "bench_event_ingestion"
TYPES = ["product_viewed"] * 6 + ["collection_viewed", "added_to_cart", "widget_impression", "widget_click"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--quick", action="store_true", help="5 s run")
    args = ap.parse_args()
    if args.quick:
        args.duration = 5
    found = harness.services(DB)
    if found is None:
        return
    env = harness.setup_django(*found, extra_env={"STOREFRONT_EVENTS_PER_IP_PER_MINUTE": "10000000"})
    shop, products, collections, _ = harness.seed(products=1000, orders=200)
    from backend.customers.models import Customer
    from backend.events.models import Event
    from backend.storefront.access import customer_signature

    customers = Customer.objects.bulk_create(
        [Customer(shop=shop, platform_id=str(7000 + i)) for i in range(100)]
    )
    rng = random.Random(3)
    now_ms = int(time.time() * 1000)
    bodies = []
    for n in range(4000):
        events = []
        for _ in range(args.batch):
            etype = rng.choice(TYPES)
            event = {"type": etype, "ts": now_ms}
            if etype in ("product_viewed", "added_to_cart", "widget_click"):
                event["product"] = rng.choice(products).platform_id
            if etype == "collection_viewed":
                event["collection"] = rng.choice(collections).platform_id
            if etype.startswith("widget_"):
                event["widget"] = rng.choice(["also_bought", "bestsellers", "recently_viewed"])
            events.append(event)
        body = {"key": shop.public_key, "visitor": f"visitor-{n % 2000}", "session": f"s-{n % 2000}",
                "consent": {"analytics": True}, "events": events}
        if n % 20 == 0:
            customer = customers[n % len(customers)].platform_id
            body.update(customer=customer, customer_sig=customer_signature(shop, customer))
        bodies.append(json.dumps(body))

    server = harness.Gunicorn(env)
    try:
        harness.load(server.port, ["/api/storefront/ping"], concurrency=4, duration=1)  # workers up and connected
        before = Event.objects.for_shop(shop).count()
        cpu_before = server.cpu_seconds()
        result = harness.load(server.port, ["/api/storefront/events"], method="POST", bodies=bodies,
                              concurrency=args.concurrency, duration=args.duration, count_accepted=True)
        cpu = server.cpu_seconds() - cpu_before
    finally:
        server.stop()
    stored = Event.objects.for_shop(shop).count() - before
    rate = result["accepted"] / result["elapsed"]
    print(f"batches sent {result['sent']}, answered {result['statuses']}, errors {result['errors']}")
    print(f"batch latency p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms ({args.batch} events per batch, "
          f"{args.concurrency} connections)")
    print(f"events accepted {result['accepted']}, rows stored {stored}, lost {result['accepted'] - stored}")
    per_event = 1000 * cpu / max(1, result["accepted"])
    print(f"server CPU {per_event:.3f} ms per event (≈ {1000 / per_event:,.0f} events/s per fully used core)")
    print(f"ingestion: {rate:,.0f} events/s accepted and stored (target ≥ 2,000) "
          f"{'PASS' if rate >= 2000 and stored == result['accepted'] else 'MISS'}")
    harness.drop_database(DB)


if __name__ == "__main__":
    main()

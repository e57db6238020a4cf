"""Event-to-segment latency under a steady storefront event load (issue 5; target p95 <= 2 s).

A stream of storefront event batches goes through the real ingestion path (backend.events.ingest.store_batch ->
events hook -> backend.segments.tasks.visitor_changed). Most batches are background traffic (product views by
many visitors); every `--probe-every`-th batch is a known visitor's second session, which must move them into
"returning visitors". Latency = from the start of store_batch until `segment_keys_for(visitor)` — what the widget
API reads — shows segment:returning-visitors.

With REDIS_URL set, a real Celery worker (-Q compute) runs in a second process against Redis and the database
named by DATABASE_URL (PostgreSQL recommended); otherwise tasks run eagerly inside store_batch.
Default database: a throwaway SQLite file. Usage:
  bench_segment_latency.py [--rate 10] [--seconds 15] [--probe-every 5] [--worker-concurrency 2]
                           [--worker-pool prefork|threads|solo]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=10.0, help="event batches per second")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--probe-every", type=int, default=5)
    ap.add_argument("--worker-concurrency", type=int, default=2)
    ap.add_argument("--worker-pool", default="prefork", choices=["prefork", "threads", "solo"])
    args = ap.parse_args()

    tmp = None
    if not os.environ.get("DATABASE_URL"):
        tmp = tempfile.mkdtemp(prefix="bench_segments_")
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # one line per task would drown the figures
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from backend.catalog.models import Product
    from backend.events.ingest import Envelope, store_batch
    from backend.segments.membership import segment_keys_for
    from backend.segments.presets import ensure_presets
    from backend.shops.models import Shop

    domain = f"bench-latency-{int(time.time())}.myshopify.com"
    shop = Shop(platform=Shop.Platform.SHOPIFY, domain=domain)
    shop.mark_installed()
    shop.save()
    ensure_presets(shop)
    Product.objects.bulk_create([Product(shop=shop, platform_id=str(1000 + i), title=f"P{i}") for i in range(50)])

    eager = settings.CELERY_TASK_ALWAYS_EAGER
    worker = None
    if not eager:
        env = dict(os.environ)
        worker = subprocess.Popen(  # noqa: S603 - our own celery binary and fixed arguments
            [str(Path(sys.executable).parent / "celery"), "-A", "backend.config", "worker", "-Q", "compute",
             "--pool", args.worker_pool,
             "-c", str(args.worker_concurrency), "--loglevel", os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING"),
             "-n", f"bench-latency-{os.getpid()}@%h"],
            cwd=ROOT, env=env,
        )
    mode = ("eager (no REDIS_URL)" if eager
            else f"Celery worker ({args.worker_pool} x{args.worker_concurrency}) on {settings.CELERY_BROKER_URL}")
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"mode: {mode}; database: {engine}; load: {args.rate:g} batches/s for {args.seconds:g} s, "
          f"every {args.probe_every}th a probe; machine load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")

    try:
        view = lambda i: [{"type": "product_viewed", "product": str(1000 + i % 50)}]  # noqa: E731
        # Every probe visitor had a first session well before the run (so the second one is what changes them).
        n_batches = int(args.rate * args.seconds)
        probes = [f"probe-{i}" for i in range(n_batches // args.probe_every + 1)]
        for i, visitor in enumerate(probes):
            store_batch(shop.pk, domain, Envelope(visitor, f"{visitor}-s1", "", True, view(i)), None)
        # Wait until the worker has processed every first session (an unknown visitor already reads as
        # "visitors:new", so wait for the segment membership itself), so the clock starts on a drained queue.
        deadline = time.time() + 120
        while time.time() < deadline and not all("segment:new-visitors" in segment_keys_for(shop, visitor_id=v)
                                                 for v in probes):
            time.sleep(0.2)

        pending: dict[str, float] = {}
        latencies: list[float] = []
        lock = threading.Lock()
        stop = threading.Event()

        def watch() -> None:
            from django.db import connection

            while not stop.is_set() or pending:
                with lock:
                    items = list(pending.items())
                for visitor, started in items:
                    if "segment:returning-visitors" in segment_keys_for(shop, visitor_id=visitor):
                        with lock:
                            pending.pop(visitor, None)
                            latencies.append(time.perf_counter() - started)
                        if os.environ.get("BENCH_TRACE"):
                            print(f"TRACE seen {visitor} at {time.time():.3f}", flush=True)
                    elif time.perf_counter() - started > 30:
                        with lock:
                            pending.pop(visitor, None)
                time.sleep(0.005)
            connection.close()

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started_at = time.perf_counter()
        sent = probes_sent = 0
        ingest_times: list[float] = []
        for k in range(n_batches):
            due = started_at + k / args.rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            t0 = time.perf_counter()
            if k % args.probe_every == 0 and probes_sent < len(probes):
                visitor = probes[probes_sent]
                probes_sent += 1
                with lock:
                    pending[visitor] = t0
                store_batch(shop.pk, domain, Envelope(visitor, f"{visitor}-s2", "", True, view(k)), None)
                if os.environ.get("BENCH_TRACE"):
                    print(f"TRACE sent {visitor} at {time.time():.3f}", flush=True)
            else:
                store_batch(shop.pk, domain, Envelope(f"bg-{k % 500}", f"bg-{k % 500}-s", "", True, view(k)), None)
            ingest_times.append(time.perf_counter() - t0)
            sent += 1
        elapsed = time.perf_counter() - started_at
        stop.set()
        watcher.join(timeout=40)

        missed = probes_sent - len(latencies)
        print(f"sent {sent} batches in {elapsed:.1f} s ({sent / elapsed:.1f}/s achieved); probes {probes_sent}, "
              f"reflected {len(latencies)}, missed {missed}")
        print(f"ingest call p50 {1000 * _percentile(ingest_times, 50):.1f} ms, "
              f"p95 {1000 * _percentile(ingest_times, 95):.1f} ms")
        print(f"event-to-segment latency: p50 {1000 * _percentile(latencies, 50):.0f} ms, "
              f"p95 {1000 * _percentile(latencies, 95):.0f} ms, max {1000 * max(latencies or [float('nan')]):.0f} ms "
              f"(target p95 <= 2000 ms)")

    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        Shop.objects.filter(pk=shop.pk).delete()


if __name__ == "__main__":
    main()

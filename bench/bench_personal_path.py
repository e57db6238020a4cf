"""Bench: CPU per request of the widget API's personal path ("continue shopping"), in one process (issue 16).

The widget bench's throughput ratio moves with whatever else the machine runs; this figure hardly does. The app is
called through its WSGI handler, as a gunicorn worker calls it, on PostgreSQL and Redis, and each request's CPU
time (time.process_time: this process only, so not the database's or Redis's own work) is averaged over many
requests, for the three states a worker meets a visitor's product cards in:
  warm   every card in the worker's memory (served this minute);
  redis  cards only in the shared cache (another worker read them): one round trip for them;
  cold   cards nowhere: read from the database and formatted (and shared for the other workers).
The bare view (`/api/storefront/ping`, same middleware) is printed beside them as the floor, and "shared": a
shared payload (also-bought) the worker holds in memory, what 90 % of the widget bench's mix asks.
Needs PostgreSQL and Redis on 127.0.0.1 (BENCH_PG_URL, BENCH_REDIS_URL); prints "skipped" without them.
Measured on a shared 2-core machine at load average 12-15 (1500 requests per state): cold 12.0 -> 6.0 ms when the
cards' catalogue read became one hand-written query; warm ~1.6-2.2 and redis ~2.7-3.0 ms, ping ~0.5 ms.
At load 6-8 (widget routes tried first): ping 0.13, shared 0.24, warm 0.58, redis 0.76, cold 2.6 ms. Through
gunicorn (bench_widget_api's "server CPU ms/req") the bare view costs 0.6-1.0 ms: most of a cheap request's cost is
gthread's dispatch (poller thread -> pool thread -> back through a pipe, the socket re-registered each time).
Usage: bench_personal_path.py [--requests 3000] [--profile warm redis cold ping] [--keep | --reuse]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import storefront_server as harness  # noqa: E402
from bench_widget_api import seed_views  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DB = os.environ.get("BENCH_DB", "bench_personal_path")
VISITORS = 500  # as many as seed_views gives views to


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=3000, help="timed requests per state")
    ap.add_argument("--profile", nargs="*", default=[], choices=("warm", "redis", "cold", "shared", "ping"),
                    help="print a cProfile of these states")
    ap.add_argument("--states", nargs="*", default=[], help="only these states (default: all)")
    ap.add_argument("--keep", action="store_true",
                    help="leave the seeded database for a later --reuse (drop it yourself when done)")
    ap.add_argument("--reuse", action="store_true", help="the database a --keep run left, not a fresh one")
    args = ap.parse_args()
    if args.reuse:
        pg = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
        found = (f"{pg}/{DB}", os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4"))
    else:
        found = harness.services(DB)
    if found is None:
        return
    t0 = time.perf_counter()
    harness.setup_django(*found)
    if args.reuse:
        from django.core.cache import cache

        from backend.shops.models import Shop

        cache.clear()
        shop = Shop.objects.get(domain="bench.myshopify.com")
    else:
        shop, products, _, _ = harness.seed(products=2000, orders=2000)
        seed_views(shop, products)
    print(f"database ready in {time.perf_counter() - t0:.1f}s")
    try:
        run(shop.public_key, args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            harness.drop_database(DB)


def run(key: str, args: argparse.Namespace) -> None:
    from django.core.cache import cache
    from django.core.wsgi import get_wsgi_application

    from backend.storefront import cards, hotcache

    # Cards stay as long as the bench runs: "warm" must not turn into "redis" or "cold" halfway (a profiled run on
    # a busy machine can last longer than the minute a card is kept).
    cards.CARD_TTL = 3600.0
    app = get_wsgi_application()
    statuses: dict[int, int] = {}

    def call(path: str) -> bytes:
        environ = wsgi_environ(path)
        status = []
        body = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
        code = int(status[0].split()[0])
        statuses[code] = statuses.get(code, 0) + 1
        return body

    personal = [f"/api/storefront/widgets/recently_viewed?key={key}&visitor=visitor-{v}&locale=es"
                for v in range(VISITORS)]
    t0 = time.perf_counter()
    for path in personal:  # every visitor's recent views now in Redis, every card in memory and in Redis
        call(path)
    print(f"first pass over {len(personal)} visitors in {time.perf_counter() - t0:.1f}s")

    def forget_local() -> None:
        hotcache.cards.clear()

    def forget_everywhere() -> None:
        hotcache.cards.clear()
        client = cache._cache.get_client(None, write=True)
        stored = list(client.scan_iter(match=cache.make_key("storefront:card:*"), count=1000))
        if stored:
            client.delete(*stored)

    # The mix's other 90 %: shared payloads (also-bought on product pages) this worker already holds.
    shared = [f"/api/storefront/widgets/also_bought?key={key}&product={100000 + i}&locale=es" for i in range(200)]
    for path in shared:
        call(path)
    states = {
        "ping": (["/api/storefront/ping"], None),
        "shared": (shared, None),
        "warm": (personal, None),
        "redis": (personal, forget_local),
        "cold": (personal, forget_everywhere),
    }
    print(f"{'state':<8}{'CPU ms/req':>12}{'wall ms/req':>13}  requests")
    for name, (paths, before_each) in states.items():
        if args.states and name not in args.states:
            continue
        n = args.requests if name != "cold" else max(300, args.requests // 5)
        cpu = wall = 0.0
        # CPU time, not wall time: on a busy machine a send that waits for its turn on a core is not our cost.
        profiler = cProfile.Profile(time.process_time) if name in args.profile else None
        for i in range(n):
            path = paths[i % len(paths)]
            if before_each is not None:
                before_each()  # not timed: it stands for what other workers and time did meanwhile
            c0, w0 = time.process_time(), time.perf_counter()
            if profiler is not None:
                profiler.enable()
            call(path)
            if profiler is not None:
                profiler.disable()
            cpu += time.process_time() - c0
            wall += time.perf_counter() - w0
        print(f"{name:<8}{1000 * cpu / n:>12.3f}{1000 * wall / n:>13.3f}  {n}")
        if profiler is not None:
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("tottime").print_stats(35)
            stats.sort_stats("cumulative").print_stats(60)
            print(out.getvalue())
            stats.dump_stats(ROOT / "var" / f"personal_path_{name}.prof")
    print(f"statuses: {statuses}")


def wsgi_environ(path: str) -> dict:
    """What gunicorn hands the app for a plain GET from a browser."""
    route, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": route, "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50000", "RAW_URI": path,
        "HTTP_HOST": "127.0.0.1:8000", "HTTP_USER_AGENT": harness.UA, "HTTP_ACCEPT": "*/*",
        "HTTP_CONNECTION": "keep-alive",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }


if __name__ == "__main__":
    main()

"""First sync of a big Shopify store, on PostgreSQL: rows per second and the syncing process's peak memory.

    .venv/bin/python bench/bench_shopify_sync.py              # 50,000 products (150,000 variants), 200,000 orders
    .venv/bin/python bench/bench_shopify_sync.py --quick      # a tenth of that
    DATABASE_URL=postgres://... .venv/bin/python bench/bench_shopify_sync.py

Targets (issue 2): the whole sync under 2 minutes on a 2-core machine, peak RSS under 400 MB.

The Shopify stand-in runs in its own process (it generates the store and serves the bulk JSONL, ungrouped as
Shopify writes it from API 2026-01: children before, after or far from their parent); this process is the syncing
worker: it installs the app through the OAuth code grant, then runs the real full sync (bulk operations, JSONL
downloaded over HTTP and sorted into families, batched upserts). It prints the orphans count (child lines not
applied with their parent; must be 0). Without DATABASE_URL it uses a local database
`bench_sync`, dropped and recreated on each run.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_sync"
SHOP = "bench.myshopify.com"
API_KEY, API_SECRET = "bench-api-key", "bench-api-secret-0123456789abcdef0123456789"


def prepare_database(url: str, fresh: bool) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if exists and fresh:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                exists = None
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        sys.exit(f"PostgreSQL not reachable at {admin}: {exc}")


def start_standin(args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "tests.standins.shopify", "--port", "0", "--shop", SHOP, "--api-key", API_KEY,
           "--api-secret", API_SECRET, "--products", str(args.products), "--orders", str(args.orders),
           "--customers", str(args.customers), "--bulk-duration", "0", "--bucket-size", "2000",
           "--restore-rate", "100"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, bufsize=1)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("SHOPIFY_STANDIN_URL="):
            return proc, line.split("=", 1)[1].strip()
    sys.exit("the Shopify stand-in did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tenth of the default size")
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=50_000)
    args = parser.parse_args()
    if args.quick:
        args.products, args.orders, args.customers = args.products // 10, args.orders // 10, args.customers // 10

    db_url = os.environ.get("DATABASE_URL") or DEFAULT_DB
    if not db_url.startswith("postgres"):
        sys.exit("this benchmark is about PostgreSQL: set DATABASE_URL=postgres://...")
    prepare_database(db_url, fresh=db_url == DEFAULT_DB)
    os.environ["DATABASE_URL"] = db_url
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    standin, standin_url = start_standin(args)
    try:
        run_bench(args, standin_url, standin.pid)
    finally:
        standin.terminate()
        standin.wait(timeout=10)


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU of this process, or of another one (from /proc)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def run_bench(args: argparse.Namespace, standin_url: str, standin_pid: int) -> None:
    import django
    from django.conf import settings

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    settings.SHOPIFY_API_KEY, settings.SHOPIFY_API_SECRET = API_KEY, API_SECRET
    settings.SHOPIFY_STANDIN_URL = standin_url

    from backend.catalog.models import Collection, CollectionMembership, InventoryLevel, Product, Variant
    from backend.customers.models import Customer
    from backend.orders.models import LineItem, Order, Refund
    from backend.shops.install import install_shop
    from backend.shops.models import Shop
    from integrations.shopify.http import shopify_client
    from integrations.shopify.oauth import authorize_url, exchange_code, issue_state
    from integrations.shopify.sync import run_sync, start_full_sync

    old = Shop.objects.filter(platform="shopify", domain=SHOP).first()
    if old is not None:
        sys.exit(f"{SHOP} already exists in this database: use a fresh database (unset DATABASE_URL for bench_sync)")
    with shopify_client() as http:  # the OAuth code grant, as a merchant's browser would walk it
        approved = http.get(authorize_url(SHOP, issue_state(SHOP)))
        code = dict(parse_qsl(urlsplit(approved.headers["location"]).query))["code"]
        token = exchange_code(SHOP, code, http=http)
    shop = install_shop(Shop.Platform.SHOPIFY, SHOP, token, start_sync=False)

    # The figure is the sync. What follows it (also-bought recompute, profiles, rollups) runs on the compute queue's
    # own workers in production and has its own benches; eager Celery here would run it inline and time it too.
    from backend.shops.signals import sync_finished

    sync_finished.receivers.clear()
    print(f"first sync of {args.products:,} products, {args.customers:,} customers, {args.orders:,} orders "
          f"on {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]} ...", flush=True)
    started = time.perf_counter()
    cpu_before, standin_before = cpu_seconds(), cpu_seconds(standin_pid)
    run = start_full_sync(shop, enqueue=False)
    run_sync(shop, run, poll_interval=0.2)
    elapsed = time.perf_counter() - started
    cpu_sync, cpu_standin = cpu_seconds() - cpu_before, cpu_seconds(standin_pid) - standin_before
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    tables = {
        "collections": Collection, "products": Product, "variants": Variant, "inventory levels": InventoryLevel,
        "memberships": CollectionMembership, "customers": Customer, "orders": Order, "line items": LineItem,
        "refunds": Refund,
    }
    counts = {name: model.objects.for_shop(shop).count() for name, model in tables.items()}
    total = sum(counts.values())
    run.refresh_from_db()
    orphans = sum(int(state.get("orphans") or 0) for state in run.stages.values())
    print(f"status: {run.status}; JSONL lines applied: {run.rows_done:,}; bulk output asked at API "
          f"{settings.SHOPIFY_API_VERSION} ({'grouped' if settings.SHOPIFY_API_VERSION < '2026-01' else 'ungrouped'})")
    for stage, state in run.stages.items():
        print(f"  stage {stage:<11} {state.get('lines_done', 0):>10,} lines {state.get('families_done', 0):>9,} "
              f"parents  {int(state.get('orphans') or 0):,} orphans")
    print(f"orphans (child lines not applied with their parent): {orphans:,}  (target 0)")
    for name, n in counts.items():
        print(f"  {name:<17} {n:>10,} rows")
    print(f"whole sync: {elapsed:.1f} s  (target < 120 s)")
    print(f"throughput: {total / elapsed:,.0f} rows/s written ({total:,} rows), "
          f"{run.rows_done / elapsed:,.0f} JSONL lines/s")
    print(f"peak memory (RSS high-water mark of the syncing process): {peak_mb:.0f} MB  (target < 400 MB)")
    print(f"CPU during the sync: syncing process {cpu_sync:.1f} s, stand-in (generating and serving the JSONL) "
          f"{cpu_standin:.1f} s, on {os.cpu_count()} cores; the rest of the wall time is PostgreSQL and waiting")


if __name__ == "__main__":
    main()

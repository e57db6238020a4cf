"""First sync of a stand-in WooCommerce store with 20,000 products and 100,000 orders: rows per second.

The stand-in store runs in its own process (python -m tests.standins.woocommerce) and is read over real HTTP with
OAuth 1.0a signatures, exactly as a store without TLS is; the app side is the real client, sync and upserts,
writing to DATABASE_URL (default: a throwaway SQLite file). Prints records/s (what the store lists), database
rows/s (products, variants, memberships, customers, orders, line items written), requests and peak memory.
Usage: bench_woocommerce_sync.py [--products 20000] [--orders 100000] [--customers 10000] [--quick]
(--quick: a tenth of the size. The full size took 14 min on SQLite with the 2 cores shared at load ~12;
the --quick run on PostgreSQL used 7.4 CPU-seconds in the app process for 38,041 rows.)
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--products", type=int, default=20_000)
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--quick", action="store_true", help="a tenth of the size")
    args = ap.parse_args()
    if args.quick:
        args.products, args.orders, args.customers = args.products // 10, args.orders // 10, args.customers // 10

    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='bench_woo_')}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    os.environ["WOOCOMMERCE_ALLOW_LOOPBACK_STORES"] = "1"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from backend.catalog.models import CollectionMembership, Product, Variant
    from backend.customers.models import Customer
    from backend.orders.models import LineItem, Order
    from backend.shops.models import Shop
    from backend.shops.redaction import redact_shop
    from integrations.woocommerce.auth import shop_domain
    from integrations.woocommerce.client import WooClient
    from integrations.woocommerce.models import WooStore
    from integrations.woocommerce.sync import run_sync, start_sync

    store = subprocess.Popen(
        [sys.executable, "-m", "tests.standins.woocommerce", "--products", str(args.products), "--orders",
         str(args.orders), "--customers", str(args.customers)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(store.stdout.readline())
        shop = Shop(platform=Shop.Platform.WOOCOMMERCE, domain=shop_domain(info["url"]))
        shop.access_token, shop.refresh_token = info["consumer_key"], info["consumer_secret"]
        shop.mark_installed()
        shop.save()
        WooStore.objects.create(shop=shop, store_url=info["url"])
        client = WooClient.for_shop(shop)
        print(f"store: {args.products:,} products, {args.customers:,} customers, {args.orders:,} orders at "
              f"{info['url']} (separate process); database: {django.db.connection.vendor}")
        started, cpu0 = time.perf_counter(), _cpu()
        run = run_sync(start_sync(shop), client)
        elapsed, cpu = time.perf_counter() - started, _cpu() - cpu0
        rows = {
            "products": Product.objects.for_shop(shop).count(),
            "variants": Variant.objects.for_shop(shop).count(),
            "memberships": CollectionMembership.objects.for_shop(shop).count(),
            "customers": Customer.objects.for_shop(shop).count(),
            "orders": Order.objects.for_shop(shop).count(),
            "line items": LineItem.objects.for_shop(shop).count(),
        }
        db_rows = sum(rows.values())
        print(f"sync {run.status} in {elapsed:.1f} s: {run.rows_done:,} records ({run.rows_done / elapsed:,.0f} "
              f"records/s), {db_rows:,} database rows ({db_rows / elapsed:,.0f} rows/s)")
        print("  " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
        print(f"  {client.requests_sent:,} HTTP requests ({client.requests_sent / elapsed:,.0f}/s), "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
        # Wall time depends on what else the machine runs; the app's own CPU time does not.
        print(f"  app CPU {cpu:.1f} s ({db_rows / max(cpu, 0.001):,.0f} database rows per CPU-second), "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        if run.status != "done" or rows["orders"] != args.orders or rows["products"] != args.products:
            raise SystemExit("sync incomplete")
        redact_shop(shop.pk)
    finally:
        store.terminate()
        store.wait(timeout=10)


if __name__ == "__main__":
    main()

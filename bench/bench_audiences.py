"""A 200,000-member ad audience: the first upload, then a 1 % change, to Meta and to Google; time and peak memory.

    .venv/bin/python bench/bench_audiences.py                 # 200,000 members
    .venv/bin/python bench/bench_audiences.py --members 20000 # quicker
    DATABASE_URL=postgres://... .venv/bin/python bench/bench_audiences.py

The members are a segment's (every one with marketing consent, an email, a name and a country), so each row Meta
receives carries 5 hashed fields and each Google member an email. The stand-ins run in their own processes (what they
hold is not counted), and every sync runs in a fresh process of its own, so the peak memory printed (RSS high-water
mark) is that sync's: building the difference, hashing, the SDK requests of 10,000 rows, the ledger writes.
The 1 % change: 1 % of the members leave the segment and as many new people join; the run must send exactly those
(sent rows are counted by the stand-ins). Without DATABASE_URL a throwaway SQLite file is used.
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
SHOP = "bench-audiences.myshopify.com"


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    os.environ.setdefault("DEMO_MODE", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()


def _people(shop_id: int, start: int, count: int) -> list[int]:
    """`count` consenting customers with their profiles and identities, written in bulk; returns profile ids."""
    from backend.customers.models import Customer, CustomerProfile, Identity

    ids: list[int] = []
    for lo in range(start, start + count, 10_000):
        hi = min(lo + 10_000, start + count)
        customers = Customer.objects.bulk_create([
            Customer(shop_id=shop_id, platform_id=str(i), email=f"Person.{i}@Example.com", first_name=f"Name{i % 997}",
                     last_name=f"Family{i % 1009}", country="ES", accepts_marketing=True) for i in range(lo, hi)])
        profiles = CustomerProfile.objects.bulk_create([
            CustomerProfile(shop_id=shop_id, email=f"person.{i}@example.com", country="ES", is_known=True,
                            accepts_marketing=True) for i in range(lo, hi)])
        Identity.objects.bulk_create(
            [Identity(shop_id=shop_id, profile=p, kind="customer", value=str(c.pk), customer=c)
             for c, p in zip(customers, profiles, strict=True)]
            + [Identity(shop_id=shop_id, profile=p, kind="email", value=p.email) for p in profiles], batch_size=5000)
        ids += [p.pk for p in profiles]
    return ids


def setup(args: argparse.Namespace) -> None:
    _django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from backend.audiences.models import AdConnection, Audience
    from backend.segments.models import Segment, SegmentMembership
    from backend.shops.models import Shop

    shop = Shop.objects.create(platform="shopify", domain=SHOP, state="installed")
    segment = Segment.objects.create(shop=shop, slug="bench", name="Bench", rules={})
    profile_ids = _people(shop.pk, 0, args.members)
    SegmentMembership.objects.bulk_create([SegmentMembership(shop_id=shop.pk, segment=segment, profile_id=p)
                                           for p in profile_ids], batch_size=10_000)
    for platform, url_var in (("meta", "META"), ("google", "GOOGLE")):
        conn = AdConnection.objects.create(shop=shop, platform=platform, account_id=args.accounts[url_var],
                                           access_token=args.tokens[url_var])
        Audience.objects.create(shop=shop, name=f"bench {platform}", source="segment", segment=segment,
                                connection=conn)


def change(args: argparse.Namespace) -> None:
    """1 % of the members leave the segment, as many new people join it."""
    _django()
    from backend.segments.models import Segment, SegmentMembership
    from backend.shops.models import Shop

    shop = Shop.objects.get(domain=SHOP)
    segment = Segment.objects.for_shop(shop).get(slug="bench")
    n = args.members // 100
    leaving = list(SegmentMembership.objects.for_shop(shop).filter(segment=segment).order_by("?")
                   .values_list("pk", flat=True)[:n])
    SegmentMembership.objects.for_shop(shop).filter(pk__in=leaving).delete()
    joining = _people(shop.pk, args.members, n)
    SegmentMembership.objects.bulk_create([SegmentMembership(shop_id=shop.pk, segment=segment, profile_id=p)
                                           for p in joining], batch_size=10_000)


def sync(args: argparse.Namespace) -> None:
    _django()
    from backend.audiences.models import Audience
    from backend.audiences.sync import sync_audience
    from backend.shops.models import Shop

    shop = Shop.objects.get(domain=SHOP)
    audience = Audience.objects.for_shop(shop).select_related("connection").get(connection__platform=args.platform)
    started, cpu_started = time.perf_counter(), time.process_time()
    run = sync_audience(audience)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"status": run.status, "error": run.error, "added": run.added, "removed": run.removed,
                      "batches": run.batches, "seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak}))


def _standin(module: str, var: str) -> tuple[subprocess.Popen, dict[str, str]]:
    proc = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    found: dict[str, str] = {}
    for line in proc.stdout:
        key, _sep, value = line.strip().partition("=")
        found[key] = value
        if len(found) == 3:
            break
    return proc, {"url": found[f"{var}_STANDIN_URL"], "token": found["TOKEN"], "account": found["ACCOUNT"]}


def _child(step: str, args: argparse.Namespace, env: dict[str, str], *extra: str) -> str:
    cmd = [sys.executable, __file__, step, "--members", str(args.members), *extra]
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("step", nargs="?", default="all", choices=["all", "setup", "change", "sync"])
    ap.add_argument("--members", type=int, default=200_000)
    ap.add_argument("--platform", default="meta")
    args = ap.parse_args()
    if args.step != "all":
        args.accounts = {"META": os.environ.get("BENCH_META_ACCOUNT", ""),
                         "GOOGLE": os.environ.get("BENCH_GOOGLE_ACCOUNT", "")}
        args.tokens = {"META": os.environ.get("BENCH_META_TOKEN", ""),
                       "GOOGLE": os.environ.get("BENCH_GOOGLE_TOKEN", "")}
        {"setup": setup, "change": change, "sync": sync}[args.step](args)
        return

    env = dict(os.environ)
    tmp = None
    if not env.get("DATABASE_URL"):
        tmp = tempfile.mkdtemp(prefix="bench_audiences_")
        env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    elif env["DATABASE_URL"].startswith("postgres"):
        sys.path.insert(0, str(ROOT / "bench"))
        from bench_shopify_sync import prepare_database

        prepare_database(env["DATABASE_URL"], fresh=True)
    meta, meta_info = _standin("tests.standins.meta", "META")
    google, google_info = _standin("tests.standins.google_datamanager", "GOOGLE")
    try:
        env.update({"META_GRAPH_URL": meta_info["url"], "GOOGLE_DATAMANAGER_URL": google_info["url"],
                    "BENCH_META_ACCOUNT": meta_info["account"], "BENCH_META_TOKEN": meta_info["token"],
                    "BENCH_GOOGLE_ACCOUNT": google_info["account"], "BENCH_GOOGLE_TOKEN": google_info["token"]})
        started = time.perf_counter()
        _child("setup", args, env)
        print(f"setup: {args.members:,} consenting members written in {time.perf_counter() - started:.0f} s "
              f"({env['DATABASE_URL'].split(':')[0]})")
        results = {}
        for platform in ("meta", "google"):
            results[(platform, "first")] = json.loads(_child("sync", args, env, "--platform", platform))
        _child("change", args, env)
        for platform in ("meta", "google"):
            results[(platform, "change")] = json.loads(_child("sync", args, env, "--platform", platform))
    finally:
        meta.kill()
        google.kill()
    n = args.members // 100
    print(f"{'destination':<12}{'run':<18}{'added':>9}{'removed':>9}{'requests':>10}{'seconds':>9}{'CPU s':>8}"
          f"{'peak MB':>9}")
    for (platform, kind), r in results.items():
        label = "first upload" if kind == "first" else "1 % change"
        print(f"{platform:<12}{label:<18}{r['added']:>9,}{r['removed']:>9,}{r['batches']:>10}{r['seconds']:>9.1f}"
              f"{r.get('cpu_seconds', 0):>8.1f}{r['peak_mb']:>9.0f}")
        expected = (args.members, 0) if kind == "first" else (n, n)
        if r["status"] != "done" or (r["added"], r["removed"]) != expected:
            sys.exit(f"{platform} {label}: expected added/removed {expected}, got {r}")
    print("(each run in its own process; seconds = wall clock, CPU s = that process's own CPU (the stand-ins and the "
          "database work elsewhere); peak = its RSS high-water mark, ~200 MB of which is Django and the two SDKs "
          "imported; 2 shared cores)")


if __name__ == "__main__":
    main()

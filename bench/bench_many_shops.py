"""Periodic work for 2,000 shops on PostgreSQL, before (the fixed clock: every job over every shop) and after (work
by need, backend/upkeep): CPU seconds and database time per simulated hour, idle and active, per shop (issue 17).

Data: `--shops` shops (2,000) with a realistic spread of sizes: most with hundreds of customers, 7 % with thousands,
1 % large. The large ones have `--large` customers (20,000 by default: 100k+ shops scaled down so generation fits
in minutes on this machine; `--large 100000` for the real size). Customers, their orders, unified profiles and
identities are generated in SQL; presets and memberships by the app's own full pass.

After: a day of simulated time (the clock moves, nothing sleeps): every beat tick of the by-need schedule runs with
that time, and `--active` percent of shops (3 %) get storefront events and orders every hour through the real
write paths (order upserts, event hooks). Ticks and the tasks they dispatch run in this process (eager Celery) and
are metered; the shoppers' own real-time work is not periodic work and is not counted.
Before: the same per-shop tasks of the fixed clock, each run over a stratified sample of shops and extrapolated
by stratum to all shops and by runs per hour (running 144 full passes x 2,000 shops for a day would take the
machine the day).

Reconciliation calls the platform: here the platform call returns at once (its cost is the platform's and the
network's), so the figures are our side; the printed "platform calls/hour" is what the shops' APIs see.
CPU = this process (the worker); DB time = wall time spent inside database calls. Usage:
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/personalize_scale bench_many_shops.py [--shops 2000]
      [--large 20000] [--active 3] [--hours 24] [--sample 80] [--regenerate]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PREFIX = "bench-many-"
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/personalize_scale"


# ------------------------------------------------------------------ metering


class Meter:
    """CPU of this process and wall time inside database calls, attributed to whatever is on top of the stack."""

    def __init__(self) -> None:
        self.db = 0.0
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):  # noqa: ANN001, ANN204 - Django's execute_wrapper
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.db += time.perf_counter() - start
            self.queries += 1

    def snap(self) -> tuple[float, float, int]:
        return time.process_time(), self.db, self.queries


METER = Meter()


@contextmanager
def measured(into: dict, key: str):  # noqa: ANN201
    cpu0, db0, q0 = METER.snap()
    try:
        yield
    finally:
        cpu1, db1, q1 = METER.snap()
        slot = into.setdefault(key, [0.0, 0.0, 0])
        slot[0] += cpu1 - cpu0
        slot[1] += db1 - db0
        slot[2] += q1 - q0


class TaskLedger:
    """Per-shop cost of every task the ticks dispatch (Celery's prerun/postrun fire for eager tasks too)."""

    def __init__(self) -> None:
        self.stack: list[tuple[float, float]] = []
        self.per_shop: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
        self.by_task: dict[str, int] = defaultdict(int)
        self.enabled = False

    def prerun(self, task=None, args=None, **kw) -> None:  # noqa: ANN001, ANN003
        if self.enabled:
            self.stack.append(METER.snap()[:2])

    def postrun(self, task=None, args=None, **kw) -> None:  # noqa: ANN001, ANN003
        if not self.enabled or not self.stack:
            return
        cpu0, db0 = self.stack.pop()
        cpu1, db1, _ = METER.snap()
        name = task.name.rsplit(".", 1)[-1]
        self.by_task[name] += 1
        if args and isinstance(args[0], int) and not self.stack:
            slot = self.per_shop[args[0]]
            slot[0] += cpu1 - cpu0
            slot[1] += db1 - db0
            slot[2] += 1


# ------------------------------------------------------------------ data


def sizes(n: int, large: int, rng: random.Random) -> list[int]:
    out = []
    for i in range(n):
        if i % 100 == 99:  # 1 %: large
            out.append(large)
        elif i % 100 >= 92:  # 7 %: thousands
            out.append(int(rng.uniform(1_000, 10_000)))
        else:  # most: hundreds (log-normal around 300)
            out.append(max(50, min(1_000, int(rng.lognormvariate(5.7, 0.6)))))
    return out


def _insert_select(model, source: str, exprs: dict[str, str], include_pk: bool = False) -> tuple[str, list]:  # noqa: ANN001
    """INSERT INTO model's table SELECT ... FROM source: each column from `exprs` or, if absent, its default."""
    from django.db import connection

    cols, values, params = [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key and not include_pk:
            continue
        cols.append(connection.ops.quote_name(f.column))
        if f.column in exprs:
            values.append(exprs[f.column])
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            values.append("now()")
        else:
            values.append("%s")
            default = f.get_default() if f.has_default() else None
            if default is None and not f.null:
                default = "" if f.get_internal_type() in ("CharField", "TextField", "SlugField") else default
            params.append(f.get_db_prep_save(default, connection))
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(cols)}) SELECT {', '.join(values)} FROM {source}"
    return sql, params


def generate(n_shops: int, large: int, seed: int) -> None:
    from django.db import connection, transaction

    from backend.customers.models import Customer, CustomerProfile, Identity
    from backend.orders.models import Order
    from backend.segments.presets import ensure_presets
    from backend.shops.models import Shop

    rng = random.Random(seed)
    t = time.perf_counter()
    shops = []
    for i in range(n_shops):
        shop = Shop(platform=Shop.Platform.SHOPIFY, domain=f"{PREFIX}{i:05d}.myshopify.com")
        shop.access_token = "shpat_bench"
        shop.mark_installed()
        shops.append(shop)
    Shop.objects.bulk_create(shops, batch_size=500)
    ids = list(Shop.objects.filter(domain__startswith=PREFIX).order_by("domain").values_list("pk", flat=True))
    size_of = dict(zip(ids, sizes(n_shops, large, rng), strict=True))
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE bench_sizes (shop_id bigint, size int) ON COMMIT DROP")
        cur.executemany("INSERT INTO bench_sizes VALUES (%s, %s)", list(size_of.items()))
        sql, params = _insert_select(Customer, "bench_sizes s, generate_series(1, s.size) g", {
            "shop_id": "s.shop_id", "platform_id": "'c' || g", "email": "'c' || g || '@s' || s.shop_id || '.example'",
            "country": "'US'", "platform_created_at": "now() - interval '500 days'",
            "platform_updated_at": "now() - interval '500 days'"})
        cur.execute(sql, params)
        cur.execute(f"""CREATE TEMP TABLE bench_map ON COMMIT DROP AS
            SELECT c.id AS cid, c.shop_id, c.platform_id, c.email,
                   nextval(pg_get_serial_sequence('{CustomerProfile._meta.db_table}', 'id')) AS pid,
                   floor(power(random(), 1.5) * 4.5)::int AS k, random() AS r
            FROM {Customer._meta.db_table} c JOIN bench_sizes s ON s.shop_id = c.shop_id""")
        sql, params = _insert_select(Order, "bench_map m, generate_series(1, m.k) g", {
            "shop_id": "m.shop_id", "platform_id": "'o' || m.cid || '-' || g", "customer_id": "m.cid",
            "customer_platform_id": "m.platform_id", "total_price": "50", "subtotal_price": "50",
            "processed_at": "now() - make_interval(days => (m.r * 400 + g * 20)::int)",
            "platform_created_at": "now() - make_interval(days => (m.r * 400 + g * 20)::int)",
            "platform_updated_at": "now() - make_interval(days => (m.r * 400 + g * 20)::int)"})
        cur.execute(sql, params)
        last = "now() - make_interval(days => (m.r * 400 + 20)::int)"
        first = "now() - make_interval(days => (m.r * 400 + m.k * 20)::int)"
        sql, params = _insert_select(CustomerProfile, "bench_map m", {
            "id": "m.pid", "shop_id": "m.shop_id", "email": "m.email", "is_known": "true", "country": "'US'",
            "orders_count": "m.k", "total_spent": "m.k * 50", "aov": "CASE WHEN m.k > 0 THEN 50 ELSE 0 END",
            "first_order_at": f"CASE WHEN m.k > 0 THEN {first} END",
            "last_order_at": f"CASE WHEN m.k > 0 THEN {last} END",
            "last_seen_at": f"CASE WHEN m.k > 0 THEN {last} END", "sessions_count": "m.k + 1",
            "channels": "CASE WHEN m.k > 0 THEN '|online|' ELSE '' END"}, include_pk=True)
        cur.execute(sql, params)
        for kind, value, customer in (("customer", "m.cid::text", "m.cid"), ("email", "m.email", "NULL")):
            sql, params = _insert_select(Identity, "bench_map m", {
                "shop_id": "m.shop_id", "profile_id": "m.pid", "kind": f"'{kind}'", "value": value,
                "customer_id": customer, "channel": "'online'", "created_at": "now()"})
            cur.execute(sql, params)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    print(f"generated {n_shops} shops, {sum(size_of.values()):,} customers in {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    for shop_id in ids:
        ensure_presets(shop_id)
    print(f"presets in {time.perf_counter() - t:.0f} s")


def stamp_due() -> None:
    """Every profile's next time-based moment, in one UPDATE (the app's full pass computes the same per shop, but at
    ~1.8M profiles that first pass alone took longer than the rest of the bench on this machine). The presets'
    only time-based conditions are days since last order (60 and 180: at-risk, lapsed) and an abandoned cart
    (no carts here): the earliest of last_order_at + 60 d, + 180 d still ahead, as backend.segments.due computes.
    Memberships start empty: each profile enters its segments when it is next evaluated (the sampled full pass
    runs once unmetered first, so "before" is measured in its steady state)."""
    from django.db import connection

    t = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("""UPDATE customers_customerprofile SET segments_due_at = CASE
                           WHEN last_order_at + interval '60 days' > now() THEN last_order_at + interval '60 days 1 s'
                           WHEN last_order_at + interval '180 days' > now() THEN last_order_at + interval '180 days 1 s'
                       END WHERE last_order_at IS NOT NULL AND segments_due_at IS NULL""")
        cur.execute("ANALYZE customers_customerprofile")
    print(f"next moments stamped in {time.perf_counter() - t:.0f} s", flush=True)


# ------------------------------------------------------------------ before: the fixed clock


OLD_JOBS = {  # task, runs per hour on the fixed clock (backend/config/celery.py FIXED_CLOCK)
    "segments catch-up": ("backend.segments.tasks.catch_up_shop", 60),
    "segments full pass": ("backend.segments.tasks.full_pass_shop", 6),
    "reconciliation": ("integrations.shopify.tasks.reconcile_shop", 4),
    "rollups": ("backend.dashboard.tasks.rollup_one_shop", 1),
    "CLV refit": ("backend.segments.tasks.refit_shop_task", 1 / 24),
    "recommendations rebuild": ("backend.recommendations.tasks.recompute_shop_task", 1 / 24),
}


def strata(size_of: dict[int, int]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {"hundreds": [], "thousands": [], "large": []}
    for shop_id, size in size_of.items():
        out["hundreds" if size < 1000 else "thousands" if size < 15000 else "large"].append(shop_id)
    return out


def before(size_of: dict[int, int], sample: int, rng: random.Random) -> dict:
    from backend.config.celery import app

    groups = strata(size_of)
    picks = {"hundreds": max(2, sample * 3 // 4), "thousands": max(2, sample // 5), "large": max(1, sample // 20)}
    per_job: dict[str, float] = {}
    per_job_db: dict[str, float] = {}
    per_shop_day: dict[str, float] = {}
    for job, (task_name, per_hour) in OLD_JOBS.items():
        task = app.tasks[task_name]
        cpu_h = db_h = 0.0
        for group, members in groups.items():
            chosen = rng.sample(members, min(len(members), picks[group]))
            costs: dict[str, list] = {}
            for shop_id in chosen:
                if job in ("segments catch-up", "segments full pass"):
                    task.apply(args=(shop_id,))  # the first run places the cursors / fills the memberships
                with measured(costs, "x"):
                    task.apply(args=(shop_id,))
            cpu, db, _ = costs.get("x", [0.0, 0.0, 0])
            mean_cpu, mean_db = cpu / max(1, len(chosen)), db / max(1, len(chosen))
            cpu_h += mean_cpu * len(members) * per_hour
            db_h += mean_db * len(members) * per_hour
            per_shop_day[group] = per_shop_day.get(group, 0.0) + mean_cpu * per_hour * 24
        per_job[job], per_job_db[job] = cpu_h, db_h
        print(f"  before: {job:<24} {cpu_h:9.1f} CPU-s/h {db_h:9.1f} DB-s/h", flush=True)
    return {"cpu_h": per_job, "db_h": per_job_db, "per_shop_day": per_shop_day,
            "platform_calls_h": 4 * len(size_of)}


# ------------------------------------------------------------------ after: by need, a simulated day


def activity(shop_id: int, now, rng: random.Random, seq: list[int]) -> None:  # noqa: ANN001
    """An hour of a busy shop: storefront events (through the events hooks) and a few webhook orders."""
    from decimal import Decimal

    from backend.events import hooks
    from backend.events.models import Event
    from backend.orders.upsert import upsert_orders
    from backend.shops.models import Shop
    from integrations.base.types import OrderData

    visitors = [f"v{shop_id}-{rng.randrange(10_000)}" for _ in range(6)]
    events = [Event(shop_id=shop_id, visitor_id=rng.choice(visitors), session_id="s", type="product_viewed",
                    created_at=now) for _ in range(30)]
    Event.objects.bulk_create(events)
    hooks.dispatch(shop_id, [hooks.StoredEvent(type=e.type, visitor_id=e.visitor_id, session_id=e.session_id,
                                               customer_id=None, product_id=None, collection_id=None, widget="",
                                               created_at=now) for e in events])
    if rng.random() < 0.6:
        shop = Shop.objects.get(pk=shop_id)
        items = []
        for _ in range(rng.randint(1, 3)):
            seq[0] += 1
            items.append(OrderData(platform_id=f"live-{seq[0]}", customer_platform_id=f"c{rng.randint(1, 50)}",
                                   total_price=Decimal("60"), processed_at=now, created_at=now, updated_at=now))
        upsert_orders(shop, items)


def after(ids: list[int], active_pct: float, hours: int, rng: random.Random, ledger: TaskLedger) -> dict:
    from django.db.models import Max
    from django.utils import timezone

    from backend.orders.models import Order
    from backend.upkeep import tasks as upkeep
    from backend.upkeep.models import JobCursor, ShopUpkeep

    upkeep.ensure_rows()
    # Steady state before the day: every job has seen everything so far (no marks newer than its last run, every
    # stored order counted, each shop fitted at install).
    ShopUpkeep.all_shops.filter(shop_id__in=ids).update(activity_at=None, orders_at=None, orders_since_refit=0,
                                                         catch_up_since=None, rollup_at=None, recommend_at=None,
                                                         refit_at=timezone.now())
    JobCursor.objects.update_or_create(name="orders",
                                       defaults={"value": Order.all_shops.aggregate(m=Max("pk"))["m"] or 0})
    active = set(rng.sample(ids, max(1, int(len(ids) * active_pct / 100))))
    start = timezone.now().replace(second=0, microsecond=0)
    hourly: list[dict] = []
    reconciled: list[int] = []  # shops reconciled at each minute tick (the herd, or its absence)
    seq = [0]
    calls_before = CALLS[0]
    for hour in range(hours):
        costs: dict[str, list] = {}
        t_hour = start + timedelta(hours=hour)
        for shop_id in active:
            activity(shop_id, t_hour, rng, seq)
        ledger.enabled = True
        for minute in range(1, 61):
            now = t_hour + timedelta(minutes=minute)
            with measured(costs, "tick_minute"):
                reconciled.append(upkeep.tick_minute(now.isoformat())["reconcile"])
            if minute % 5 == 0:
                with measured(costs, "tick_five_minutes"):
                    upkeep.tick_five_minutes(now.isoformat())
            if minute == 1:
                with measured(costs, "tick_hour"):
                    upkeep.tick_hour(now.isoformat())
        ledger.enabled = False
        cpu = sum(v[0] for v in costs.values())
        db = sum(v[1] for v in costs.values())
        hourly.append({"hour": hour, "cpu": cpu, "db": db, "calls": CALLS[0] - calls_before,
                       "tasks": dict(ledger.by_task)})
        calls_before = CALLS[0]
        ledger.by_task.clear()
        print(f"  after: hour {hour:2d}  {cpu:7.2f} CPU-s  {db:7.2f} DB-s  platform calls {hourly[-1]['calls']:5d}  "
              f"tasks {hourly[-1]['tasks']}", flush=True)
    return {"hourly": hourly, "active": active, "reconciled": reconciled}


CALLS = [0]


def stub_platform() -> None:
    """Reconciliation's platform call returns at once; counted (see the module docstring)."""
    import integrations.shopify.reconcile as reconcile

    def reconcile_shop(shop, **kwargs):  # noqa: ANN001, ANN003, ANN202
        CALLS[0] += 1
        return {}

    reconcile.reconcile_shop = reconcile_shop


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shops", type=int, default=2000)
    ap.add_argument("--large", type=int, default=20_000)
    ap.add_argument("--active", type=float, default=3.0, help="percent of shops with activity")
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--sample", type=int, default=80, help="shops sampled per job for the fixed clock")
    ap.add_argument("--regenerate", action="store_true")
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args()

    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        sys.exit("bench_many_shops needs PostgreSQL (DATABASE_URL=postgres://...)")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/7")  # the cache, as in production
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    _ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    from celery.signals import task_postrun, task_prerun
    from django.core.management import call_command
    from django.db import connection

    from backend.config.celery import app
    from backend.shops.models import Shop

    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True  # tasks run here, metered
    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    import backend.dashboard.tasks  # noqa: F401 - register every task the fixed clock runs
    import backend.recommendations.tasks  # noqa: F401
    import backend.segments.tasks  # noqa: F401
    import integrations.shopify.tasks  # noqa: F401
    from backend.customers.models import CustomerProfile

    existing = Shop.objects.filter(domain__startswith=PREFIX).count()
    last = Shop.objects.filter(domain__startswith=PREFIX).order_by("-pk").first()
    complete = last is not None and CustomerProfile.all_shops.filter(shop=last).exists()
    if args.regenerate or existing != args.shops or not complete:
        if existing:  # a fresh database is far faster than deleting millions of rows through the ORM
            print(f"recreating the database (had {existing} bench shops) ...", flush=True)
            connection.close()
            _ensure_database(os.environ["DATABASE_URL"], fresh=True)
            call_command("migrate", verbosity=0)
        generate(args.shops, args.large, args.seed)
        ids = list(Shop.objects.filter(domain__startswith=PREFIX).order_by("pk").values_list("pk", flat=True))
    stamp_due()  # profiles without a next moment get theirs (all of them after a generation)
    ids = list(Shop.objects.filter(domain__startswith=PREFIX).order_by("pk").values_list("pk", flat=True))
    from django.db.models import Count

    from backend.customers.models import Customer

    size_of = dict(Customer.all_shops.filter(shop_id__in=ids).values_list("shop_id").annotate(n=Count("pk")))
    for shop_id in ids:
        size_of.setdefault(shop_id, 0)
    groups = strata(size_of)
    print(f"{len(ids)} shops: " + ", ".join(f"{len(v)} with {k} of customers" for k, v in groups.items())
          + f" (large = {max(size_of.values()):,} customers; 100k+ scaled down unless --large 100000)")

    stub_platform()
    ledger = TaskLedger()
    task_prerun.connect(ledger.prerun, weak=False)
    task_postrun.connect(ledger.postrun, weak=False)
    with connection.execute_wrapper(METER):
        print("before (fixed clock, sampled per stratum, extrapolated):", flush=True)
        old = before(size_of, args.sample, rng)
        print(f"after (by need, {args.hours} simulated hours, {args.active:g} % of shops active):", flush=True)
        new = after(ids, args.active, args.hours, rng, ledger)
    report(ids, groups, old, new, ledger, args.hours)


def report(ids, groups, old, new, ledger, hours) -> None:  # noqa: ANN001
    n = len(ids)
    old_cpu_h, old_db_h = sum(old["cpu_h"].values()), sum(old["db_h"].values())
    new_cpu = sum(h["cpu"] for h in new["hourly"])
    new_db = sum(h["db"] for h in new["hourly"])
    new_cpu_h, new_db_h = new_cpu / hours, new_db / hours
    calls_h = sum(h["calls"] for h in new["hourly"]) / hours
    shop_cost = {s: ledger.per_shop.get(s, [0.0, 0.0, 0]) for s in ids}
    overhead = new_cpu - sum(v[0] for v in shop_cost.values())
    share = overhead / n  # the cross-shop ticks' cost, split evenly
    day = 24 / hours
    idle = [(shop_cost[s][0] + share) * day for s in ids if s not in new["active"]]
    busy = [(shop_cost[s][0] + share) * day for s in ids if s in new["active"]]
    idle_tasks = [shop_cost[s][2] * day for s in ids if s not in new["active"]]
    print()
    print(f"== periodic work, {n} shops (machine: 2 shared, busy cores) ==")
    print(f"{'':28}{'CPU-s/hour':>12}{'DB-s/hour':>12}{'% of a core':>13}{'platform calls/h':>18}")
    print(f"{'before (fixed clock)':28}{old_cpu_h:12.1f}{old_db_h:12.1f}{100 * old_cpu_h / 3600:12.1f}%"
          f"{old['platform_calls_h']:18.0f}")
    print(f"{'after (by need)':28}{new_cpu_h:12.2f}{new_db_h:12.2f}{100 * new_cpu_h / 3600:12.2f}%{calls_h:18.0f}")
    print("before, by job (CPU-s/hour): " + ", ".join(f"{k} {v:.1f}" for k, v in old["cpu_h"].items()))
    print("before, per shop per day (CPU-s, idle or active alike): "
          + ", ".join(f"{k} {v:.1f}" for k, v in old["per_shop_day"].items()))
    idle_sorted = sorted(idle)
    print(f"after, per idle shop per day: mean {sum(idle) / max(1, len(idle)):.3f} CPU-s, "
          f"p99 {idle_sorted[int(0.99 * (len(idle_sorted) - 1))]:.3f}, max {max(idle, default=0):.3f} "
          f"(incl. {share * day:.3f} s share of the cross-shop ticks; "
          f"{sum(idle_tasks) / max(1, len(idle_tasks)):.1f} tasks/day)")
    print(f"after, per active shop per day: mean {sum(busy) / max(1, len(busy)):.2f} CPU-s, "
          f"max {max(busy, default=0):.2f}")
    per_minute = new["reconciled"]
    steady = per_minute[len(per_minute) // 3:]  # once the back-off has reached its cap (4 h doublings)
    quarters = [sum(steady[i:i + 15]) for i in range(0, len(steady) - 14, 15)]
    print(f"reconciliations: before {n} shops at the same minute every 15 min; after (staggered back-off, from "
          f"hour {hours // 3}): per minute mean {sum(steady) / max(1, len(steady)):.1f}, "
          f"peak {max(steady, default=0)}; per quarter hour min {min(quarters, default=0)}, "
          f"max {max(quarters, default=0)}")
    hourly_cpu = [h["cpu"] for h in new["hourly"]]
    print("after, CPU-s per simulated hour: " + " ".join(f"{c:.1f}" for c in hourly_cpu))
    goal_idle = (max(idle, default=0) < 1.0)
    goal_total = new_cpu_h / 3600 < 0.10
    print(f"goals: idle shop < 1 CPU-s/day: {'met' if goal_idle else 'NOT met'}; "
          f"total < 10 % of one core: {'met' if goal_total else 'NOT met'} ({100 * new_cpu_h / 3600:.2f} %)")


def _ensure_database(url: str, fresh: bool = False) -> None:
    from urllib.parse import urlparse

    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    main()

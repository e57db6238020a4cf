"""Shared by the storefront benches: a throwaway PostgreSQL database, seeded catalog and orders, gunicorn serving
the app on an ephemeral 127.0.0.1 port, and the load generator (bench/loadgen.py) in a second process.

Not a bench itself (no `bench_` prefix): `make bench` runs the scripts that import it.
"""
from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


def services(db_name: str) -> tuple[str, str] | None:
    """(DATABASE_URL, REDIS_URL) for the bench, or None when PostgreSQL or Redis is not reachable."""
    pg = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4")
    try:
        import psycopg
        import redis

        with psycopg.connect(f"{pg}/postgres", autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{db_name}"')
        client = redis.Redis.from_url(redis_url, socket_timeout=3)
        client.flushdb()
    except Exception as exc:  # noqa: BLE001 - any failure means "no services here"
        print(f"skipped: needs PostgreSQL and Redis ({exc.__class__.__name__}: {exc})")
        return None
    return f"{pg}/{db_name}", redis_url


def drop_database(db_name: str) -> None:
    import psycopg

    pg = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def setup_django(database_url: str, redis_url: str, extra_env: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "backend.config.settings",
        "LOG_LEVEL": "ERROR",
        "DEBUG": "0",
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    os.environ.update(env)
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return env


def seed(products: int = 2000, orders: int = 20000, collections: int = 20, seed_value: int = 7):
    """One installed shop with a catalog and order history, written with bulk_create (seconds, not minutes)."""
    from decimal import Decimal

    from django.utils import timezone

    from backend.catalog.models import Collection, CollectionMembership, Product, Variant
    from backend.orders.models import LineItem, Order
    from backend.shops.models import Shop

    rng = random.Random(seed_value)
    shop = Shop(platform=Shop.Platform.SHOPIFY, domain="bench.myshopify.com", currency="EUR", locale="es")
    shop.access_token = "shpat_bench"
    shop.mark_installed()
    shop.save()
    rows = Product.objects.bulk_create(
        [
            Product(shop=shop, platform_id=str(100000 + i), title=f"Producto {i} «edición» <b>{i}</b>",
                    handle=f"producto-{i}", image_url=f"https://cdn.example/p/{i}.jpg", total_inventory=50)
            for i in range(products)
        ],
        batch_size=2000,
    )
    Variant.objects.bulk_create(
        [
            Variant(shop=shop, product=p, platform_id=f"{p.platform_id}-{k}", price=Decimal(f"{10 + (j % 90)}.{k}5"),
                    compare_at_price=Decimal(f"{20 + (j % 90)}.00") if j % 3 == 0 else None,
                    inventory_quantity=0 if j % 17 == 0 else 25, available_for_sale=True)
            for j, p in enumerate(rows)
            for k in range(2)
        ],
        batch_size=4000,
    )
    cols = Collection.objects.bulk_create(
        [Collection(shop=shop, platform_id=str(900 + c), title=f"Colección {c}", handle=f"col-{c}")
         for c in range(collections)]
    )
    CollectionMembership.objects.bulk_create(
        [CollectionMembership(shop=shop, collection=cols[j % collections], product=p, position=j)
         for j, p in enumerate(rows)],
        batch_size=4000,
    )
    # Popularity follows a power law, and products bought together cluster by neighbourhood.
    weights = [1.0 / (i + 1) ** 0.8 for i in range(products)]
    now = timezone.now()
    # One order in twenty is from the last week (live bestseller counters); the rest is older history, which the
    # also-bought engine learns from and the bestseller windows (≤ 30 days) ignore.
    order_rows = Order.objects.bulk_create(
        [Order(shop=shop, platform_id=f"o{n}", currency="EUR",
               processed_at=now - timezone.timedelta(hours=n % 160 if n % 20 == 0 else 24 * 40 + n % 2000))
         for n in range(orders)],
        batch_size=5000,
    )
    lines = []
    for order in order_rows:
        anchor = rng.choices(range(products), weights=weights)[0]
        picks = {anchor} | {min(products - 1, anchor + rng.randint(1, 5)) for _ in range(rng.randint(0, 3))}
        for k, idx in enumerate(picks):
            p = rows[idx]
            lines.append(LineItem(shop=shop, order=order, platform_id=f"{order.platform_id}-{k}", product=p,
                                  product_platform_id=p.platform_id, quantity=1, price=Decimal("10.00")))
    LineItem.objects.bulk_create(lines, batch_size=5000)
    return shop, rows, cols, len(lines)


def recompute(shop) -> str:
    """Let the engines learn from the seeded orders, as the nightly job does."""
    try:
        from backend.recommendations.tasks import recompute_shop

        t0 = time.perf_counter()
        recompute_shop(shop.pk)
        return f"engines recomputed in {time.perf_counter() - t0:.1f}s"
    except Exception as exc:  # noqa: BLE001 - the widget API falls back; say so in the output
        return f"engines recompute failed ({exc.__class__.__name__}: {exc}); payloads use the fallback"


class Gunicorn:
    """gunicorn on a socket we bind to 127.0.0.1:0 ourselves and hand over, so the port is known and unique."""

    def __init__(self, env: dict[str, str], workers: int = 2) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(2048)
        self.sock.set_inheritable(True)
        self.port = self.sock.getsockname()[1]
        self.log = tempfile.NamedTemporaryFile(prefix="bench_gunicorn_", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(
            [PY, "-m", "gunicorn", "-c", str(ROOT / "backend" / "config" / "gunicorn.conf.py"), "backend.config.wsgi",
             "-w", str(workers), "-b", f"fd://{self.sock.fileno()}", "--backlog", "2048", "--log-level", "warning"],
            cwd=ROOT, env=env, pass_fds=[self.sock.fileno()], stdout=self.log, stderr=self.log,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        import httpx

        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/storefront/ping", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not start; see {self.log.name}")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the master and its workers: what a request costs the server,
        whatever else the machine is doing."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        pids = [self.proc.pid]
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        return total

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.sock.close()


def load(port: int, paths: list[str], *, rate: float | None = None, concurrency: int = 16, duration: float = 10,
         method: str = "GET", bodies: list[str] | None = None, count_accepted: bool = False, count: int = 0) -> dict:
    """Run bench/loadgen.py in its own process and return its JSON summary."""
    with tempfile.TemporaryDirectory() as tmp:
        paths_file = Path(tmp) / "paths.txt"
        paths_file.write_text("\n".join(paths))
        cmd = [PY, str(ROOT / "bench" / "loadgen.py"), "--port", str(port), "--paths", str(paths_file),
               "--duration", str(duration), "--concurrency", str(concurrency), "--method", method,
               "--header", f"User-Agent: {UA}"]
        if rate:
            cmd += ["--rate", str(rate)]
        if bodies:
            bodies_file = Path(tmp) / "bodies.txt"
            bodies_file.write_text("\n".join(bodies))
            cmd += ["--bodies", str(bodies_file)]
        if count_accepted:
            cmd.append("--count-accepted")
        if count:
            cmd += ["--count", str(count)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 600)
        return json.loads(out.stdout.strip().splitlines()[-1])


def wrk_max(port: int, paths: list[str], duration: float = 10, connections: int = 16, threads: int = 2) -> dict:
    """Full-speed throughput with wrk (C, so the load generator is not what limits it); loadgen.py without wrk."""
    import re
    import shutil

    if shutil.which("wrk") is None:
        return load(port, paths, concurrency=connections, duration=duration)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "paths.lua"
        quoted = ",\n".join(json.dumps(p) for p in paths)
        script.write_text(
            f"local paths = {{\n{quoted}\n}}\nlocal i = 0\n"
            "request = function()\n  i = i % #paths + 1\n"
            f"  return wrk.format('GET', paths[i], {{['User-Agent'] = {json.dumps(UA)}}})\nend\n"
        )
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(duration)}s", "--latency", "-s", str(script),
             f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, check=True, timeout=duration + 60,
        ).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return 0.0
        return round(float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)], 2)

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": round(float(rps.group(1)), 1) if rps else 0.0,
        "p50_ms": ms("50%"), "p90_ms": ms("90%"), "p99_ms": ms("99%"),
        "max_ms": 0.0, "sent": int(total.group(1)) if total else 0,
        "statuses": {"non-2xx": int(non2xx.group(1)) if non2xx else 0},
        "errors": sum(int(g) for g in errors.groups()) if errors else 0,
        "tool": "wrk",
    }

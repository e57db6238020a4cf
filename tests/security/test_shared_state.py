"""State that must hold across processes, tested on the README's web process: gunicorn with its config, two workers,
no REDIS_URL, a file SQLite database. A one-time sign-in link works once, whichever worker answers; failed sign-ins
counted by one worker pause the others. Each retry goes on a new connection, until both workers have answered."""
from __future__ import annotations

import base64
import re
import secrets
import time
from pathlib import Path

import httpx
import pytest

from bench.storefront_server import Gunicorn

from .conftest import manage, production_env

PASSWORD = "correct horse 42"  # noqa: S105 - a test user's
SEED = f"""
from django.contrib.auth import get_user_model
from backend.dashboard.auth import login_token
from backend.dashboard.models import ShopMember
from tests.factories import make_shop
shop = make_shop("alpha.myshopify.com")
user = get_user_model().objects.create_user(username="ana@example.com", password="{PASSWORD}")
ShopMember.objects.create(shop=shop, user=user)
print(login_token(shop))
"""
_LINE = re.compile(r"^access <(\d+)> (\d{3}) (\S+) (?:\S*&)?n=(\d+)$", re.M)


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """(gunicorn, a one-time sign-in link token) on a fresh database, with production's settings."""
    tmp = tmp_path_factory.mktemp("shared_state")
    env = production_env(
        DEBUG="0", APP_URL="http://127.0.0.1", ALLOWED_HOSTS="127.0.0.1",
        SECRET_KEY=secrets.token_urlsafe(50), SHOPIFY_API_SECRET=secrets.token_urlsafe(32),
        FIELD_ENCRYPTION_KEY=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}", LOG_LEVEL="ERROR",
        GUNICORN_CMD_ARGS="--access-logfile - --access-logformat 'access %(p)s %(s)s %(U)s %(q)s'",
    )
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    migrated = manage("migrate", "--noinput", "-v", "0", env=env, timeout=300)
    assert migrated.returncode == 0, migrated.stderr
    seeded = manage("shell", "-v", "0", "-c", SEED, env=env)
    assert seeded.returncode == 0, seeded.stderr
    server = Gunicorn(env, workers=2)
    yield server, seeded.stdout.strip().splitlines()[-1]
    server.stop()


class Requests:
    """Numbered requests, each on its own connection, and which worker (pid) answered each, from the access log."""

    def __init__(self, server: Gunicorn) -> None:
        self.server, self.n = server, 0

    def send(self, method: str, path: str, **kwargs) -> tuple[httpx.Response, int]:
        self.n += 1
        with httpx.Client(base_url=f"http://127.0.0.1:{self.server.port}", timeout=30,
                          cookies=kwargs.pop("cookies", None)) as http:
            res = http.request(method, path, params={**kwargs.pop("params", {}), "n": self.n}, **kwargs)
        return res, self._pid_of(self.n)

    def _pid_of(self, n: int) -> int:
        for _ in range(100):
            found = {int(m.group(4)): int(m.group(1)) for m in _LINE.finditer(Path(self.server.log.name).read_text())}
            if n in found:
                return found[n]
            time.sleep(0.05)
        raise AssertionError(f"request {n} not in the access log {self.server.log.name}")


def test_one_time_sign_in_link_works_once_across_workers(web):
    server, token = web
    requests = Requests(server)
    first, first_pid = requests.send("GET", "/admin/login/link", params={"token": token})
    assert first.status_code == 302 and first.headers["location"] == "/admin/"
    assert "sessionid" in first.cookies
    answered_by = set()
    for _ in range(60):
        again, pid = requests.send("GET", "/admin/login/link", params={"token": token})
        assert again.status_code == 403, f"the link worked again, in worker {pid} (first use: worker {first_pid})"
        assert "sessionid" not in again.cookies
        answered_by.add(pid)
        if first_pid in answered_by and len(answered_by) >= 2:
            break
    assert len(answered_by) >= 2, f"only worker(s) {answered_by} answered; the test proves nothing"


def test_failed_sign_ins_pause_every_worker(web):
    server, _ = web
    requests = Requests(server)
    csrf = secrets.token_hex(16)  # Django accepts an unmasked secret in the form when it matches the cookie
    form = {"username": "ana@example.com", "csrfmiddlewaretoken": csrf}
    cookies = {"csrftoken": csrf}
    for _ in range(10):
        failed, _pid = requests.send("POST", "/admin/login/", data={**form, "password": "guess"}, cookies=cookies)
        assert failed.status_code == 401
    answered_by = set()
    for _ in range(60):
        paused, pid = requests.send("POST", "/admin/login/", data={**form, "password": PASSWORD}, cookies=cookies)
        assert paused.status_code == 429, f"worker {pid} let a sign-in through after 10 failures ({paused.status_code})"
        answered_by.add(pid)
        if len(answered_by) >= 2:
            break
    assert len(answered_by) >= 2, f"only worker(s) {answered_by} answered; the test proves nothing"


@pytest.mark.django_db(transaction=True)
def test_database_cache_counts_every_hit_from_concurrent_callers_and_keeps_the_window():
    """Rate-limit windows on the database cache: parallel increments all count (Django's own incr reads and writes
    back, losing some), and an increment leaves the key's expiry where it was (Django's resets it to 5 minutes)."""
    import threading
    import uuid
    from datetime import UTC, datetime

    from django.db import connection, connections
    from django.utils import timezone

    from backend.core.sharedcache import SharedDatabaseCache

    cache = SharedDatabaseCache("core_cache", {"KEY_PREFIX": uuid.uuid4().hex})
    assert cache.add("hits", 0, 900)
    errors: list[BaseException] = []

    def count() -> None:
        try:
            for _ in range(25):
                cache.incr("hits")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=count) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert cache.get("hits") == 150
    with connection.cursor() as cursor:
        cursor.execute("SELECT expires FROM core_cache WHERE cache_key = %s", [cache.make_key("hits")])
        expires = cursor.fetchone()[0]
    expires = datetime.fromisoformat(expires) if isinstance(expires, str) else expires
    left = (expires.replace(tzinfo=expires.tzinfo or UTC) - timezone.now()).total_seconds()
    assert 800 < left <= 900
    with pytest.raises(ValueError):
        cache.incr("never-added")


def test_a_burst_of_parallel_guesses_gets_no_more_tries_than_the_limit(web):
    """Twenty guesses at once, over both workers: ten are checked, the rest are paused before any password check."""
    from concurrent.futures import ThreadPoolExecutor

    server, _ = web
    csrf = secrets.token_hex(16)
    form = {"username": "burst@example.com", "password": "guess", "csrfmiddlewaretoken": csrf}

    def guess(_: int) -> int:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60, cookies={"csrftoken": csrf}) as h:
            return h.post("/admin/login/", data=form).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = sorted(pool.map(guess, range(20)))
    assert statuses == [401] * 10 + [429] * 10

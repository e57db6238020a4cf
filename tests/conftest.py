"""Shared fixtures: shops and a factory per app live in tests/factories.py."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest


def pytest_configure(config) -> None:
    """Two things a bare `pytest` run needs before any test:

    - Without REDIS_URL the app's cache is the database, shared by every process. Tests in this process keep the
      cache in memory instead (one process: nothing to share): otherwise every cache read would count against the
      query budgets, and fixtures clearing the cache around database-free tests would need a database. The database
      cache itself is tested with production settings across gunicorn workers (tests/security/test_shared_state.py).
    - `make` compiles the translation catalogues; compile any that is missing or stale here too (atomically:
      parallel workers may race here).
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from django.conf import settings

    if not settings.REDIS_URL:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    for po in Path(__file__).resolve().parent.parent.glob("locale/*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source)
        fd, tmp = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as target:
            write_mo(target, catalog)
        os.replace(tmp, mo)


@pytest.fixture
def shop(db):
    from tests.factories import make_shop

    return make_shop("alpha.myshopify.com")


@pytest.fixture
def other_shop(db):
    from tests.factories import make_shop

    return make_shop("beta.myshopify.com")


@pytest.fixture
def admin(client, shop):
    """A test client signed in as the merchant of `shop`, for the admin screens."""
    from tests.dashboard.factories import sign_in

    sign_in(client, shop)
    return client


@pytest.fixture
def own_cache_namespace(settings):
    """This test's cache keys under a prefix of their own, on the same backend (Redis in CI). Never flush instead:
    parallel test workers share the Redis db, and their shops reuse ids."""
    import uuid

    default = dict(settings.CACHES["default"])
    default["KEY_PREFIX"] = f"t{uuid.uuid4().hex[:12]}"
    settings.CACHES = {**settings.CACHES, "default": default}


@pytest.fixture(autouse=True)
def _fresh_process_memos():
    """Each worker keeps shops, rules, product cards and running experiments in memory for a moment; tests reuse
    shop and product ids across rolled-back transactions, so every test starts without those memos. An outage test
    leaves "cache down" remembered for a few seconds and the worker's own event counts: the next test starts clean."""
    from backend.core.health import forget_cache_probe
    from backend.events.outage_budget import forget_counts
    from backend.experiments.runtime import forget_local
    from backend.storefront.access import forget_shops

    forget_shops()
    forget_local()
    forget_cache_probe()
    forget_counts()
    yield


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, gated and serial (tests/live_server.py explains why)."""
    from tests.live_server import start_live_server

    addr = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    server = start_live_server(addr)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _live_server_quiet_before_flush(request):
    """Opens the live server's gate for a test that uses it, and closes and drains it before the database flush.

    Requesting transactional_db here sets it up first, so this fixture is torn down before the flush."""
    if "live_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")
    gate = request.getfixturevalue("live_server").gate
    gate.open()
    yield
    if not gate.close_and_drain():
        pytest.fail("a live-server request was still running 15 s after the test ended")

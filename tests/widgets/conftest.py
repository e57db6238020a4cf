"""One headless Chromium (Debian's) per test module, a fresh context per test, and a live app seeded per test
(the live server itself is tests/conftest.py's)."""
from __future__ import annotations

import pytest

from tests.widgets.browser import chromium, open_page


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    with open_page(browser) as page:
        yield page


@pytest.fixture(autouse=True)
def _one_request_at_a_time(request):
    """Beacons overlap page loads; the live server runs them one by one here (tests/live_server.py says why)."""
    if "live_server" not in request.fixturenames:
        yield
        return
    gate = request.getfixturevalue("live_server").gate
    gate.serial = True
    yield
    gate.serial = False


@pytest.fixture
def store(live_server):
    from django.core.cache import cache

    from backend.storefront.access import forget_shops
    from tests.widgets.factories import seed_store

    cache.clear()
    forget_shops()
    yield seed_store(origin=live_server.url)
    forget_shops()
    cache.clear()

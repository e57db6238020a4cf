"""One headless Chromium (Debian's) per test module, a fresh context per test, and a live app seeded per test."""
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


@pytest.fixture(scope="module")
def live_server():
    """pytest-django's live server, but answering one request at a time.

    The script fires beacons while the page navigates (a click, an add to cart), so requests overlap; SQLite's
    in-memory test database, shared by the server's threads, then fails with "database table is locked". A real
    deployment has a real database; here serial requests keep the tests about the widgets, on SQLite and PG alike.
    """
    from django.core.servers.basehttp import WSGIServer
    from django.test import testcases
    from pytest_django.live_server_helper import LiveServer

    class SerialWSGIServer(WSGIServer):  # not a ThreadingMixIn: Django then closes each connection after a reply
        def __init__(self, *args, connections_override=None, **kwargs):
            super().__init__(*args, **kwargs)
            self.connections_override = connections_override

    class SerialLiveServerThread(testcases.LiveServerThread):
        server_class = SerialWSGIServer

    threaded = testcases.LiveServerThread
    testcases.LiveServerThread = SerialLiveServerThread
    try:
        server = LiveServer("localhost")
    finally:
        testcases.LiveServerThread = threaded
    yield server
    server.stop()


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

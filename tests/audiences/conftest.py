"""Ad audience tests run against the two stand-ins as real HTTP servers, started once per test session."""
from __future__ import annotations

import pytest

from tests.standins.google_datamanager import DataManagerStandin
from tests.standins.meta import MetaStandin


@pytest.fixture(scope="session")
def meta_server():
    server = MetaStandin().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def google_server():
    server = DataManagerStandin().start()
    yield server
    server.stop()


@pytest.fixture
def meta(meta_server, settings):
    """The Meta stand-in with nothing held and no failures queued; the app's Graph URL points at it."""
    meta_server.reset()
    settings.META_GRAPH_URL = meta_server.url
    return meta_server


@pytest.fixture
def google(google_server, settings):
    google_server.reset()
    settings.GOOGLE_DATAMANAGER_URL = google_server.url
    return google_server


@pytest.fixture(autouse=True)
def _eager_and_clean(own_cache_namespace):
    """Tasks in-process even when CI points Celery at Redis; cache keys (the run lock) private to the test."""
    from backend.config.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def meta_connection(shop, meta):
    from backend.audiences.models import AdConnection

    return AdConnection.objects.create(shop=shop, platform="meta", account_id=meta.account_id,
                                       access_token=meta.token)


@pytest.fixture
def google_connection(shop, google):
    from backend.audiences.models import AdConnection

    return AdConnection.objects.create(shop=shop, platform="google", account_id=google.account_id,
                                       access_token=google.token)

"""Fixtures for the WooCommerce tests: a running stand-in store and a shop connected to it."""
from __future__ import annotations

import pytest

from tests.standins.woocommerce import StoreSize, WooStandin


@pytest.fixture
def eager_celery():
    """Run queued tasks in-process even when REDIS_URL configures a broker (CI): the test is the worker."""
    from backend.config.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def woo_settings(settings):
    settings.WOOCOMMERCE_ALLOW_LOOPBACK_STORES = True
    settings.WOOCOMMERCE_BACKOFF_BASE = 0.01
    settings.WOOCOMMERCE_RETRIES = 3
    return settings


@pytest.fixture
def standin():
    with WooStandin(StoreSize(products=45, customers=30, orders=120), retry_delays=(0.05, 0.1, 0.2)) as s:
        yield s


@pytest.fixture
def woo_shop(db, standin, woo_settings):
    from tests.integrations.woocommerce.factories import connect_shop

    return connect_shop(standin)

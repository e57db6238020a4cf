from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Segment keys and settings are cached; the cache may be a shared Redis db in CI."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _eager_tasks():
    """Run segment tasks in-process even when CI points Celery at Redis (no worker runs during tests)."""
    from backend.config.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before

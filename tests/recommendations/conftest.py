from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Cached co-views and widget rules are keyed by shop pk, which a fresh test database hands out again.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def eager_celery():
    """Run .delay() in-process even when CI points Celery at a real broker."""
    from backend.config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before

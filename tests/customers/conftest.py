from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Segment keys and settings are cached; the cache may be a shared Redis db in CI."""
    cache.clear()
    yield
    cache.clear()

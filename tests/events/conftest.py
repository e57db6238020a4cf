from __future__ import annotations

import pytest
from django.core.cache import cache

from backend.storefront.access import forget_shops


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Each test sees its own shops and payloads (the cache may be a shared Redis db in CI)."""
    cache.clear()
    forget_shops()
    yield
    forget_shops()

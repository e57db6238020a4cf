from __future__ import annotations

import uuid

import pytest

from backend.storefront.access import forget_shops


@pytest.fixture(autouse=True)
def _fresh_caches(settings):
    """Each test gets its own cache namespace (a key prefix on the same backend: Redis in CI) and empty
    per-process caches. Never flush: parallel test workers share the Redis db, and their shops reuse ids."""
    default = dict(settings.CACHES["default"])
    default["KEY_PREFIX"] = f"t{uuid.uuid4().hex[:12]}"
    settings.CACHES = {**settings.CACHES, "default": default}
    forget_shops()
    yield
    forget_shops()

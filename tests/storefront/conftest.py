from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_caches(own_cache_namespace):
    """Each test gets its own cache namespace (per-process memos are dropped by the root conftest)."""

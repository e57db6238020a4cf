"""Refused outside input is logged and counted, never stored as data (a forged request must write nothing)."""
from __future__ import annotations

import contextlib
import logging

from django.core.cache import cache

from .outage import SHARED_CACHE_ERRORS

logger = logging.getLogger("personalize.rejections")


def reject(kind: str, reason: str, shop_domain: str = "") -> None:
    logger.warning("rejected %s: %s shop=%s", kind, reason, shop_domain or "-")
    key = f"rejections:{kind}"
    # Cache down: the count is lost, the log line above is not, and the refusal is still the caller's 4xx.
    with contextlib.suppress(*SHARED_CACHE_ERRORS):
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=None)


def rejection_count(kind: str) -> int:
    return int(cache.get(f"rejections:{kind}", 0))

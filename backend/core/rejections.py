"""Refused outside input is logged and counted, never stored as data (a forged request must write nothing)."""
from __future__ import annotations

import logging

from django.core.cache import cache

logger = logging.getLogger("personalize.rejections")


def reject(kind: str, reason: str, shop_domain: str = "") -> None:
    logger.warning("rejected %s: %s shop=%s", kind, reason, shop_domain or "-")
    key = f"rejections:{kind}"
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=None)


def rejection_count(kind: str) -> int:
    return int(cache.get(f"rejections:{kind}", 0))

"""The event budgets while the shared cache, where throttle.py counts them, is down.

Events live in the database, so a Redis outage need not lose them, and refusing is losing: the storefront script
sends each batch once (sendBeacon) and never retries. So each worker counts the same per-IP and per-visitor limits
in its own memory until the cache is back; with n workers a caller gets at most n times its budget meanwhile.
"""
from __future__ import annotations

import hashlib
import threading
import time

from django.conf import settings

from backend.core import health
from backend.core.outage import SHARED_CACHE_ERRORS

from . import throttle

_MAX_KEYS = 100_000  # a flood of made-up visitor ids must not grow memory without bound
_lock = threading.Lock()
_counts: dict[str, int] = {}
_window = [0]


def _local_hits(keys: list[str], window: int) -> list[int]:
    with _lock:
        if _window[0] != window or len(_counts) > _MAX_KEYS:
            _counts.clear()
            _window[0] = window
        for key in keys:
            _counts[key] = _counts.get(key, 0) + 1
        return [_counts[key] for key in keys]


def local_over_budget(shop_id: int, ip: str, visitor: str) -> int:
    """throttle.over_budget's rule, counted in this worker: 0, or the seconds until the window resets."""
    per_ip = int(getattr(settings, "STOREFRONT_EVENTS_PER_IP_PER_MINUTE", 600))
    per_visitor = int(getattr(settings, "STOREFRONT_EVENTS_PER_VISITOR_PER_MINUTE", 120))
    now = int(time.time())
    window = now // throttle.WINDOW
    keys = [f"ip:{hashlib.blake2b(ip.encode(), digest_size=8).hexdigest()}"]
    if visitor:
        keys.append(f"v:{shop_id}:{visitor}")
    counts = _local_hits(keys, window)
    if counts[0] > per_ip or (visitor and counts[1] > per_visitor):
        return throttle.WINDOW - now % throttle.WINDOW or 1
    return 0


def over_budget(shop_id: int, ip: str, visitor: str) -> int:
    """The shared budget (throttle.py), or this worker's own while the cache is down."""
    if not health.cache_known_down():
        try:
            return throttle.over_budget(shop_id, ip, visitor)
        except SHARED_CACHE_ERRORS as exc:
            health.cache_failed(exc)
    return local_over_budget(shop_id, ip, visitor)

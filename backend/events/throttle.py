"""Per-visitor and per-IP request budgets for the public event endpoint (fixed one-minute windows in the cache).

IPs are hashed in the key: the counter needs to tell addresses apart, not to keep them.
"""
from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache

WINDOW = 60


def _limits() -> tuple[int, int]:
    return (
        int(getattr(settings, "STOREFRONT_EVENTS_PER_IP_PER_MINUTE", 600)),
        int(getattr(settings, "STOREFRONT_EVENTS_PER_VISITOR_PER_MINUTE", 120)),
    )


def _hit(key: str) -> int:
    try:
        return cache.incr(key)
    except ValueError:
        if cache.add(key, 1, WINDOW + 1):
            return 1
        return cache.incr(key)


def over_budget(shop_id: int, ip: str, visitor: str) -> int:
    """0 when the request may proceed, else the seconds until the window resets (for Retry-After)."""
    per_ip, per_visitor = _limits()
    window = int(time.time()) // WINDOW
    retry_after = WINDOW - int(time.time()) % WINDOW or 1
    ip_hash = hashlib.blake2b(ip.encode(), digest_size=8).hexdigest()
    if _hit(f"events:rl:ip:{ip_hash}:{window}") > per_ip:
        return retry_after
    if visitor and _hit(f"events:rl:v:{shop_id}:{visitor}:{window}") > per_visitor:
        return retry_after
    return 0

"""Per-visitor and per-IP request budgets for the public event endpoint (fixed one-minute windows in the cache).

IPs are hashed in the key: the counter needs to tell addresses apart, not to keep them.
"""
from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

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


def _hits(keys: list[str]) -> list[int]:
    """Count one hit on each key: in one round trip on Redis (INCR + EXPIRE pipelined), else one by one."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        for key in keys:
            full = backend.make_and_validate_key(key)
            pipe.incr(full)
            pipe.expire(full, WINDOW + 1)
        return [int(n) for n in pipe.execute()[::2]]
    return [_hit(key) for key in keys]


def over_budget(shop_id: int, ip: str, visitor: str) -> int:
    """0 when the request may proceed, else the seconds until the window resets (for Retry-After)."""
    per_ip, per_visitor = _limits()
    window = int(time.time()) // WINDOW
    retry_after = WINDOW - int(time.time()) % WINDOW or 1
    ip_hash = hashlib.blake2b(ip.encode(), digest_size=8).hexdigest()
    keys = [f"events:rl:ip:{ip_hash}:{window}"]
    if visitor:
        keys.append(f"events:rl:v:{shop_id}:{visitor}:{window}")
    counts = _hits(keys)
    if counts[0] > per_ip or (visitor and counts[1] > per_visitor):
        return retry_after
    return 0

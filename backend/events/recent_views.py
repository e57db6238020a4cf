"""A visitor's recent product views, newest first, kept in Redis next to the events table, so "continue shopping"
answers an anonymous visitor with one round trip to Redis instead of a scan of the events table.

Per visitor two keys: a list of product pks (newest first) that ends in a sentinel "0" when it holds the visitor's
whole recent history, and the customer the visitor id is stitched to, if any. Stored views push onto the list
(events/ingest.py, after the insert); a list without its sentinel (created by such a push, or trimmed past KEEP)
is only a tail, and the reader rebuilds it from the database. So a flushed or evicted Redis costs one query per
visitor, never a wrong list.

Kept in step with the database: stitching (events/identity.py) and a customer's GDPR redaction
(events/privacy.py) drop the visitor's keys, and a shop's redaction drops all of the shop's, so nothing answers
from memory what the database no longer says. Without Redis (the database cache of a small install) every call
here is a no-op and the caller reads the database, as before.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction

from backend.core.outage import SHARED_CACHE_ERRORS

KEEP = 50  # product pks kept per visitor: "continue shopping" shows at most a few dozen distinct ones
TTL = 30 * 86400  # seconds: a visitor not seen for a month is rebuilt from the database when they return
SENTINEL = b"0"  # pks start at 1: "this list is the whole recent history"
MISS = object()


def _backend() -> RedisCache | None:
    backend = caches["default"]
    return backend if isinstance(backend, RedisCache) else None


def _keys(backend: RedisCache, shop_id: int, visitor_id: str) -> tuple[str, str]:
    base = f"rv:{shop_id}:{visitor_id}"
    return backend.make_and_validate_key(base), backend.make_and_validate_key(base + ":c")


def read(shop_id: int, visitor_id: str) -> tuple[list[int], int | None] | object:
    """(product pks newest first, deduplicated; the stitched customer or None), or MISS: ask the database."""
    backend = _backend()
    if backend is None or not visitor_id:
        return MISS
    views, linked = _keys(backend, shop_id, visitor_id)
    try:
        pipe = backend._cache.get_client(views).pipeline(transaction=False)
        pipe.lrange(views, 0, KEEP)
        pipe.get(linked)
        rows, customer = pipe.execute()
    except SHARED_CACHE_ERRORS:
        return MISS
    if not rows or rows[-1] != SENTINEL:
        return MISS
    pks = list(dict.fromkeys(int(r) for r in rows[:-1]))
    return pks, int(customer) if customer else None


def fill(shop_id: int, visitor_id: str, pks: Iterable[int], customer: int | None) -> None:
    """Store what the database said (newest first), replacing whatever tail a push left."""
    backend = _backend()
    if backend is None or not visitor_id:
        return
    views, linked = _keys(backend, shop_id, visitor_id)
    newest = list(dict.fromkeys(int(pk) for pk in pks))[:KEEP]
    with contextlib.suppress(*SHARED_CACHE_ERRORS):
        pipe = backend._cache.get_client(views, write=True).pipeline(transaction=True)
        pipe.delete(views, linked)
        pipe.rpush(views, *newest, SENTINEL)
        pipe.expire(views, TTL)
        if customer:
            pipe.set(linked, int(customer), ex=TTL)
        pipe.execute()


def pushed(shop_id: int, views: Iterable[tuple[str, int]]) -> None:
    """Stored product views, oldest first, as (visitor id, product pk): each goes to the front of its list."""
    backend = _backend()
    rows = [(v, pk) for v, pk in views if v and pk]
    if backend is None or not rows:
        return
    with contextlib.suppress(*SHARED_CACHE_ERRORS):
        pipe = backend._cache.get_client(None, write=True).pipeline(transaction=False)
        for visitor_id, pk in rows:
            key, _ = _keys(backend, shop_id, visitor_id)
            pipe.lpush(key, int(pk))
            # Past KEEP + 1 the sentinel falls off: the reader then rebuilds from the database, which is right.
            pipe.ltrim(key, 0, KEEP)
            pipe.expire(key, TTL)
        pipe.execute()


def forget(shop_id: int, visitor_ids: Iterable[str]) -> None:
    """Drop these visitors' keys now and again once the surrounding transaction commits (a rebuild that read the
    database before the commit must not leave the old answer behind)."""
    backend = _backend()
    ids = [v for v in visitor_ids if v]
    if backend is None or not ids:
        return

    def drop() -> None:
        keys = [k for v in ids for k in _keys(backend, shop_id, v)]
        with contextlib.suppress(*SHARED_CACHE_ERRORS):
            backend._cache.get_client(None, write=True).delete(*keys)

    drop()
    transaction.on_commit(drop)


def forget_shop(shop_id: int, domain: str = "") -> None:
    """A shop's redaction: every visitor's keys of the shop (a background task, so a SCAN is fine)."""
    backend = _backend()
    if backend is None:
        return
    pattern = backend.make_and_validate_key(f"rv:{shop_id}:*")
    with contextlib.suppress(*SHARED_CACHE_ERRORS):
        client = backend._cache.get_client(None, write=True)
        batch = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)

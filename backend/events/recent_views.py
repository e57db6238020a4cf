"""A visitor's recent product views, newest first, kept in Redis next to the events table, so "continue shopping"
answers an anonymous visitor with one round trip to Redis instead of a scan of the events table.

Per visitor two keys: a list of views as "<product pk>:<epoch seconds>" (newest first) that ends in a sentinel "0"
when it holds the visitor's whole recent history, and the customer the visitor id is stitched to, if any. Stored
views push onto the list (events/ingest.py, after the insert); a list without its sentinel (created by such a push,
or trimmed past KEEP) is only a tail, and the reader rebuilds it from the database. So a flushed or evicted Redis
costs one query per visitor, never a wrong list.

Like the database read, the list reaches back DAYS at most: the reader skips older views and every push trims them
off the tail, since a visitor who keeps coming back keeps the key (and its TTL) alive however old its views are.

Kept in step with the database: stitching (events/identity.py) and a customer's GDPR redaction
(events/privacy.py) drop the visitor's keys, and a shop's redaction drops all of the shop's, so nothing answers
from memory what the database no longer says. Without Redis (the database cache of a small install) every call
here is a no-op and the caller reads the database, as before.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction

from backend.core.outage import SHARED_CACHE_ERRORS

DAYS = 90  # views older than this are not "continue shopping" (recommendations/recently_viewed.py reads as far)
KEEP = 50  # views kept per visitor: "continue shopping" shows at most a few dozen distinct products
TTL = 30 * 86400  # seconds: a visitor not seen for a month is rebuilt from the database when they return
SENTINEL = b"0"  # pks start at 1: "this list is the whole recent history"
MISS = object()

# Atomic, so a concurrent push or rebuild never sees the tail half trimmed. KEYS[1]: the list; ARGV: KEEP, the
# cutoff (epoch seconds), TTL, then the new views oldest first. Views are newest first, so the ones older than the
# cutoff are the tail: they go, and the sentinel, if the list had it, stays last.
_PUSH = """
local key, keep, cutoff = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 4, #ARGV do redis.call('LPUSH', key, ARGV[i]) end
redis.call('LTRIM', key, 0, keep)
local rows = redis.call('LRANGE', key, 0, -1)
local whole = rows[#rows] == '0'
local views = whole and #rows - 1 or #rows
local fresh = views
while fresh > 0 do
  local at = tonumber(string.match(rows[fresh], ':(%d+)$'))
  if at == nil or at >= cutoff then break end
  fresh = fresh - 1
end
if fresh < views then
  if fresh == 0 then redis.call('DEL', key) else redis.call('LTRIM', key, 0, fresh - 1) end
  if whole then redis.call('RPUSH', key, '0') end
end
redis.call('EXPIRE', key, tonumber(ARGV[3]))
"""


def _backend() -> RedisCache | None:
    backend = caches["default"]
    return backend if isinstance(backend, RedisCache) else None


def _keys(backend: RedisCache, shop_id: int, visitor_id: str) -> tuple[str, str]:
    base = f"rv:{shop_id}:{visitor_id}"
    return backend.make_and_validate_key(base), backend.make_and_validate_key(base + ":c")


def _cutoff() -> int:
    return int(time.time()) - DAYS * 86400


def _epoch(at: datetime) -> int:
    # A raw SQLite cursor gives naive datetimes; they are UTC, as the app stores them.
    return int((at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp())


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
    cutoff, pks = _cutoff(), []
    for row in rows[:-1]:
        pk, _sep, at = row.partition(b":")
        if not at.isdigit() or not pk.isdigit():
            return MISS  # written before views carried their time: rebuild
        if int(at) >= cutoff:
            pks.append(int(pk))
    return list(dict.fromkeys(pks)), int(customer) if customer else None


def fill(shop_id: int, visitor_id: str, seen: Iterable[tuple[int, datetime]], customer: int | None) -> None:
    """Store what the database said, (product pk, viewed at) newest first, replacing whatever tail a push left."""
    backend = _backend()
    if backend is None or not visitor_id:
        return
    views, linked = _keys(backend, shop_id, visitor_id)
    cutoff, newest = _cutoff(), {}
    for pk, at in seen:
        if (stamp := _epoch(at)) >= cutoff:
            newest.setdefault(int(pk), stamp)
    entries = [f"{pk}:{stamp}" for pk, stamp in newest.items()][:KEEP]
    with contextlib.suppress(*SHARED_CACHE_ERRORS):
        pipe = backend._cache.get_client(views, write=True).pipeline(transaction=True)
        pipe.delete(views, linked)
        pipe.rpush(views, *entries, SENTINEL)
        pipe.expire(views, TTL)
        if customer:
            pipe.set(linked, int(customer), ex=TTL)
        pipe.execute()


def pushed(shop_id: int, views: Iterable[tuple[str, int, datetime]]) -> None:
    """Stored product views, oldest first, as (visitor id, product pk, viewed at): each goes to the front of its
    visitor's list."""
    backend = _backend()
    by_visitor: dict[str, list[str]] = {}
    for visitor_id, pk, at in views:
        if visitor_id and pk:
            by_visitor.setdefault(visitor_id, []).append(f"{int(pk)}:{_epoch(at)}")
    if backend is None or not by_visitor:
        return
    cutoff = _cutoff()
    with contextlib.suppress(*SHARED_CACHE_ERRORS):
        client = backend._cache.get_client(None, write=True)
        push = client.register_script(_PUSH)
        pipe = client.pipeline(transaction=False)
        for visitor_id, entries in by_visitor.items():
            key, _ = _keys(backend, shop_id, visitor_id)
            # Past KEEP + 1 the sentinel falls off: the reader then rebuilds from the database, which is right.
            push(keys=[key], args=[KEEP, cutoff, TTL, *entries], client=pipe)
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

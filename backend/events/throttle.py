"""Budgets for the public storefront endpoints, counted by what a request carries, not by requests.

Events: per minute, an address and a visitor may each store so many events, and so many naming any one product
(per visitor; per address when the shopper gave no analytics consent and so has no visitor id). A batch of 50
views is 50 against each budget, so one address cannot store thousands of views of a product in a minute and move
what is popular. Email capture (popup consent): so many attempts per address and per visitor per hour.

Counters are fixed windows in Django's cache, shared by every process: on Redis one pipelined INCRBY per key, on
the database cache an increment under a row lock, elsewhere the backend's own locked incr. IPs and visitor ids are
hashed in the keys: a counter needs to tell callers apart, not to keep who they are.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router, transaction

WINDOW = 60
CONSENT_WINDOW = 3600

DEFAULTS = {
    "STOREFRONT_EVENTS_PER_IP_PER_MINUTE": 600,
    "STOREFRONT_EVENTS_PER_VISITOR_PER_MINUTE": 120,
    # Views, add-to-carts and clicks naming one product: a shopper reloading a page stays far below these.
    "STOREFRONT_PRODUCT_EVENTS_PER_VISITOR_PER_MINUTE": 10,
    "STOREFRONT_PRODUCT_EVENTS_PER_IP_PER_MINUTE": 30,
    "STOREFRONT_CONSENTS_PER_IP_PER_HOUR": 10,
    "STOREFRONT_CONSENTS_PER_VISITOR_PER_HOUR": 3,
}


def limit(name: str) -> int:
    return int(getattr(settings, name, DEFAULTS[name]))


def _digest(value: str) -> str:
    return hashlib.blake2b(value.encode("utf-8", "replace"), digest_size=8).hexdigest()


def _window(seconds: int) -> tuple[int, int]:
    """(this window's number, seconds until it ends)."""
    now = int(time.time())
    return now // seconds, seconds - now % seconds or 1


# --- atomic counters -----------------------------------------------------------------------------------------------


def add_weights(weights: Iterable[tuple[str, int]], ttl: int) -> list[int]:
    """Add each weight to its counter atomically (across processes); the totals after adding, in order."""
    pairs = list(weights)
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        for key, weight in pairs:
            full = backend.make_and_validate_key(key)
            pipe.incrby(full, weight)
            pipe.expire(full, ttl + 1)
        return [int(n) for n in pipe.execute()[::2]]
    if isinstance(backend, DatabaseCache):
        return [_db_add(backend, key, weight, ttl) for key, weight in pairs]
    return [_locked_add(backend, key, weight, ttl) for key, weight in pairs]


def _locked_add(backend, key: str, weight: int, ttl: int) -> int:  # noqa: ANN001 - any cache backend
    """Backends whose incr holds a lock (the in-memory one): add creates the counter, incr adds to it."""
    for _ in range(3):
        backend.add(key, 0, ttl + 1)
        try:
            return int(backend.incr(key, weight))
        except ValueError:  # expired between add and incr: start it again
            continue
    return weight


def _db_add(backend: DatabaseCache, key: str, weight: int, ttl: int) -> int:
    """The database cache's incr is a read then a write, so two processes can both read 5 and write 6. Here the
    row is locked first (an UPDATE that changes nothing), then read and written in the same transaction."""
    db = router.db_for_write(backend.cache_model_class)
    connection = connections[db]
    table = connection.ops.quote_name(backend._table)
    column = connection.ops.quote_name("cache_key")
    full = backend.make_and_validate_key(key)
    for _ in range(3):
        with transaction.atomic(using=db):
            with connection.cursor() as cursor:
                cursor.execute(f"UPDATE {table} SET {column} = {column} WHERE {column} = %s", [full])  # noqa: S608
                locked = cursor.rowcount
            if locked:
                total = int(backend.get(key) or 0) + weight  # None when expired: a new window
                backend.set(key, total, ttl + 1)
                return total
        if backend.add(key, weight, ttl + 1):  # no row yet; add is one INSERT, so only one creator wins
            return weight
    return weight


def _granted(totals: list[int], limits: list[int], weight: int) -> int:
    """How much of `weight` fits every budget, given the totals after adding it (first come, first served)."""
    return max(0, min([weight] + [lim - (total - weight) for total, lim in zip(totals, limits, strict=True)]))


# --- events --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventBudget:
    """One request's caller, as the event budgets know it."""

    shop_id: int
    ip: str
    visitor: str = ""
    # Where the counters live: the shared cache; outage_budget.py passes a worker's own while the cache is down.
    add: Callable[[Iterable[tuple[str, int]], int], list[int]] = add_weights

    def events(self, weight: int) -> tuple[int, int]:
        """How many of `weight` events may be stored (0: none), and the seconds until the budgets reset."""
        window, retry_after = _window(WINDOW)
        keys = [(f"events:rl:ip:{_digest(self.ip)}:{window}", weight)]
        limits = [limit("STOREFRONT_EVENTS_PER_IP_PER_MINUTE")]
        if self.visitor:
            keys.append((f"events:rl:v:{self.shop_id}:{_digest(self.visitor)}:{window}", weight))
            limits.append(limit("STOREFRONT_EVENTS_PER_VISITOR_PER_MINUTE"))
        return _granted(self.add(keys, WINDOW), limits, weight), retry_after

    def products(self, counts: dict[int, int]) -> dict[int, int]:
        """For each product pk, how many of the events naming it may be stored."""
        window, _ = _window(WINDOW)
        budgets = [(f"ip:{_digest(self.ip)}", limit("STOREFRONT_PRODUCT_EVENTS_PER_IP_PER_MINUTE"))]
        if self.visitor:  # many visitor ids from one address still share the address's budget per product
            budgets.append((f"v:{_digest(self.visitor)}", limit("STOREFRONT_PRODUCT_EVENTS_PER_VISITOR_PER_MINUTE")))
        keys = [(f"events:rl:p:{self.shop_id}:{product_id}:{who}:{window}", n)
                for product_id, n in counts.items() for who, _ in budgets]
        totals = self.add(keys, WINDOW) if keys else []
        per = len(budgets)
        return {product_id: _granted(totals[i * per:(i + 1) * per], [cap for _, cap in budgets], n)
                for i, (product_id, n) in enumerate(counts.items())}


# --- email capture -------------------------------------------------------------------------------------------------


def consent_over_budget(shop_id: int, ip: str, visitor: str) -> int:
    """0 when this email-capture attempt may proceed, else the seconds until the budget resets (Retry-After).
    Every attempt counts, valid or not: a flood of junk is refused before it costs a query."""
    window, retry_after = _window(CONSENT_WINDOW)
    keys = [(f"consent:rl:ip:{shop_id}:{_digest(ip)}:{window}", 1)]
    limits = [limit("STOREFRONT_CONSENTS_PER_IP_PER_HOUR")]
    if visitor:
        keys.append((f"consent:rl:v:{shop_id}:{_digest(visitor)}:{window}", 1))
        limits.append(limit("STOREFRONT_CONSENTS_PER_VISITOR_PER_HOUR"))
    return 0 if _granted(add_weights(keys, CONSENT_WINDOW), limits, 1) else retry_after


class ConsentThrottled(Exception):
    """Email capture over its budget: answered 429 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after

"""A small per-process layer in front of the shared cache for the widget API's hottest reads.

Every gunicorn worker keeps recently served shared payloads and the shops' rule versions in memory for a moment,
so a popular widget costs no network round trip at all. Correctness comes from the version: a payload is only
reused while it was built under the shop's current rule version, and a worker re-reads the version from the
shared cache at least every VERSION_TTL seconds, so a rule change reaches every worker within that time (and
the worker that saved it at once).

When the shared cache is down, what a worker holds is what the storefront can still serve: entries past their
time are kept (until evicted by size) so `held()` can hand them out, and `shared_get` stops asking a cache that
just failed (see backend/core/health.py) instead of paying its timeout on every request.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.cache import cache
from django.db import connections

from backend.core import health
from backend.core.outage import SHARED_CACHE_ERRORS, Unavailable

logger = logging.getLogger("personalize.storefront")

VERSION_TTL = 1.0
MAX_ENTRIES = 5000


class LocalCache:
    """A dict with per-entry expiry that drops its oldest entries past max_entries; one per process, used by
    gunicorn's threads at once, so writes hold a lock (a concurrent eviction must not break a move_to_end)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        hit = self._data.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def held(self, key: str) -> Any:
        """The value however old: for when the shared cache that would replace it is down."""
        hit = self._data.get(key)
        return None if hit is None else hit[1]

    def set(self, key: str, value: Any, ttl: float) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


versions = LocalCache(max_entries=50_000)
payloads = LocalCache()
rules = LocalCache()
cards = LocalCache(max_entries=20_000)  # product cards (cards.py)
ids = LocalCache(max_entries=50_000)  # page ids → our pks (views._pk)


def clear() -> None:
    versions.clear()
    payloads.clear()
    rules.clear()
    cards.clear()
    ids.clear()


def shared_get(key: str) -> Any:
    """The shared cache's value for key (None when absent); Unavailable when the cache is down, without asking it
    while a failure seen in the last few seconds stands."""
    if health.cache_known_down():
        raise Unavailable("cache")
    try:
        return cache.get(key)
    except SHARED_CACHE_ERRORS as exc:
        health.cache_failed(exc)
        raise Unavailable("cache") from exc


def shared_set(key: str, value: Any, ttl: float | None) -> None:
    """Best effort: a cache down now only means the next worker rebuilds too."""
    if health.cache_known_down():
        return
    try:
        cache.set(key, value, ttl)
    except SHARED_CACHE_ERRORS as exc:
        health.cache_failed(exc)


def shared_get_many(keys: list[str]) -> dict[str, Any]:
    """cache.get_many (one MGET), {} when the cache is down: for what the database can also answer."""
    if not keys or health.cache_known_down():
        return {}
    try:
        return cache.get_many(keys)
    except SHARED_CACHE_ERRORS as exc:
        health.cache_failed(exc)
        return {}


def shared_set_many(entries: dict[str, Any], ttl: float | None) -> None:
    """Best effort, like shared_set."""
    if not entries or health.cache_known_down():
        return
    try:
        cache.set_many(entries, ttl)
    except SHARED_CACHE_ERRORS as exc:
        health.cache_failed(exc)


def shared_add(key: str, value: Any, ttl: float | None) -> bool:
    """cache.add, False when the cache is down (whoever asks "am I first?" is then not)."""
    if health.cache_known_down():
        return False
    try:
        return cache.add(key, value, ttl)
    except SHARED_CACHE_ERRORS as exc:
        health.cache_failed(exc)
        return False


_rebuilds = ThreadPoolExecutor(max_workers=2, thread_name_prefix="widget-rebuild")


def _run(job: Callable[[], None]) -> None:
    try:
        job()
    except Exception:  # a failed rebuild leaves the stale payload in place; the next stale hit retries
        logger.exception("widget payload rebuild failed")
    finally:
        connections.close_all()  # this thread's own connections; request threads keep theirs


def refresh(job: Callable[[], None]) -> None:
    """Rebuild a stale payload off the request path (tests swap this for an inline call)."""
    _rebuilds.submit(_run, job)

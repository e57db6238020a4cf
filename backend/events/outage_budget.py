"""The event budgets while the shared cache, where throttle.py counts them, is down.

Events live in the database, so a Redis outage need not lose them, and refusing is losing: the storefront script
sends each batch once (sendBeacon) and never retries. So each worker counts the same budgets (by weight, as
throttle.py does) in its own memory until the cache is back; with n workers a caller gets at most n times its
budget meanwhile.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from backend.core import health
from backend.core.outage import SHARED_CACHE_ERRORS

from . import throttle

_MAX_KEYS = 100_000  # a flood of made-up visitor ids must not grow memory without bound
_lock = threading.Lock()
_counts: dict[str, int] = {}
_window = [0]


def _local_add(weights: list[tuple[str, int]], window: int) -> list[int]:
    """throttle.add_weights, in this worker's memory: the totals after adding, in order."""
    with _lock:
        if _window[0] != window or len(_counts) > _MAX_KEYS:
            _counts.clear()
            _window[0] = window
        for key, weight in weights:
            _counts[key] = _counts.get(key, 0) + weight
        return [_counts[key] for key, _ in weights]


def forget_counts() -> None:
    """Drop this worker's counts (tests)."""
    with _lock:
        _counts.clear()


@dataclass(frozen=True)
class ResilientBudget:
    """throttle.EventBudget, falling back to this worker's own counts while the shared cache is down."""

    shop_id: int
    ip: str
    visitor: str = ""

    def _shared(self) -> throttle.EventBudget:
        return throttle.EventBudget(self.shop_id, self.ip, self.visitor)

    def _local(self) -> throttle.EventBudget:
        window, _ = throttle._window(throttle.WINDOW)
        return throttle.EventBudget(self.shop_id, self.ip, self.visitor,
                                    add=lambda weights, ttl: _local_add(list(weights), window))

    def events(self, weight: int) -> tuple[int, int]:
        if not health.cache_known_down():
            try:
                return self._shared().events(weight)
            except SHARED_CACHE_ERRORS as exc:
                health.cache_failed(exc)
        return self._local().events(weight)

    def products(self, counts: dict[int, int]) -> dict[int, int]:
        if not health.cache_known_down():
            try:
                return self._shared().products(counts)
            except SHARED_CACHE_ERRORS as exc:
                health.cache_failed(exc)
        return self._local().products(counts)

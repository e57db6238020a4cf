"""A web worker's long-lived objects kept out of Python's garbage collector, so a full collection does not stall
every request in flight.

A loaded worker holds ~220,000 long-lived objects (Django, the app's modules, Babel's locale data, the engines).
Python's oldest-generation collection walks all of them: tens of milliseconds during which no thread of the worker
answers, once every few thousand requests, which is most of the bare view's p99 at 500 req/s (bench_widget_api).
Once the worker has imported what requests need, gc.freeze() moves those objects to a generation the collector
never walks; what requests allocate is still collected as before.
"""
from __future__ import annotations

import gc
import threading

REFREEZE_AFTER = 2000  # requests: by then the first requests' lazy imports and caches are loaded too

_served = 0
_lock = threading.Lock()


def warm() -> None:
    """Import every view module now (the URL resolver loads them on the first request otherwise)."""
    from django.urls import get_resolver

    get_resolver().reverse_dict  # noqa: B018 - populating the resolver imports every urls and views module
    from backend.recommendations import registry  # noqa: F401 - the widget API's engines
    from backend.storefront import cards, payload  # noqa: F401


def settle() -> None:
    """After the worker loaded the app: collect what loading left behind, then freeze the rest."""
    warm()
    gc.collect()
    gc.freeze()


def request_done() -> None:
    """Once, after REFREEZE_AFTER requests: freeze what the first requests loaded lazily (locale data, templates,
    compiled regexes, the app's per-process caches' first entries)."""
    global _served
    with _lock:
        _served += 1
        if _served != REFREEZE_AFTER:
            return
    gc.freeze()

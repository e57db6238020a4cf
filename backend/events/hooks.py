"""Hooks other rooms register to learn about stored events (e.g. engines refreshing co-views).

Ingestion calls every hook registered for a batch's event types right after the batch is stored, in the request.
A hook must therefore be quick: anything slow belongs in a Celery task the hook enqueues. A failing hook is
logged and counted; it never fails the request or loses the stored events.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

logger = logging.getLogger("personalize.events")


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored; ids are our pks (product_id, collection_id, customer_id), not platform ids."""

    type: str
    visitor_id: str  # "" without analytics consent
    session_id: str
    customer_id: int | None
    product_id: int | None
    collection_id: int | None
    widget: str
    created_at: datetime


EventHook = Callable[[int, list[StoredEvent]], None]  # (shop_id, events of the types it registered for)

_hooks: list[tuple[frozenset[str] | None, EventHook]] = []


def register(hook: EventHook, types: Iterable[str] | None = None) -> EventHook:
    """Call `hook(shop_id, events)` after each stored batch, with only the events of `types` (None: all).

    Registering the same function twice is a no-op, so an AppConfig.ready() that runs twice is harmless.
    """
    wanted = frozenset(types) if types is not None else None
    if all(h is not hook for _, h in _hooks):
        _hooks.append((wanted, hook))
    return hook


def unregister(hook: EventHook) -> None:
    _hooks[:] = [(t, h) for t, h in _hooks if h is not hook]


def dispatch(shop_id: int, events: list[StoredEvent]) -> None:
    from backend.core.rejections import reject

    for wanted, hook in list(_hooks):
        batch = events if wanted is None else [e for e in events if e.type in wanted]
        if not batch:
            continue
        try:
            hook(shop_id, batch)
        except Exception:  # a broken consumer must not fail ingestion or drop the batch already stored
            logger.exception("event hook %r failed for shop %s", hook, shop_id)
            reject("event_hook", f"{getattr(hook, '__name__', hook)} raised", str(shop_id))

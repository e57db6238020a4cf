"""Validating and storing one batch of storefront events.

Every field is checked against the shop: known type, ids that exist in this shop's catalog, capped lengths, a sane
timestamp. A bad event is refused with its index and reason while the good ones in the batch are kept. Without
analytics consent the batch is stored anonymously (no visitor, session or customer): the counts that make widget
click-through and product popularity truthful stay, and nothing in them can be tied back to a person.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import IntegrityError, connection, transaction

from backend.catalog.models import Collection, Product
from backend.core.rejections import reject
from backend.storefront.fields import PLATFORM_ID, TOKEN, VISITOR_ID, matches, plain_id

from . import hooks, recent_views
from .identity import stitch
from .models import Event, EventType

MAX_EVENTS = 50
MAX_BODY = 32 * 1024
MAX_DEPTH = 8  # the envelope nests 3 levels ({events: [{...}]}); a little room for what a script might add
MAX_AGE_MS = 24 * 3600 * 1000  # a beacon queued in a tab for a day is still believable; older is not
MAX_SKEW_MS = 5 * 60 * 1000  # clocks run ahead a little
_TYPES = frozenset(EventType.values)
_NEEDS_PRODUCT = frozenset({EventType.PRODUCT_VIEWED, EventType.ADDED_TO_CART})
_NEEDS_COLLECTION = frozenset({EventType.COLLECTION_VIEWED})
_NEEDS_WIDGET = frozenset({EventType.WIDGET_IMPRESSION, EventType.WIDGET_CLICK})


class BadBatch(Exception):
    """The envelope itself is unusable: answered 4xx with this reason, nothing stored."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass
class Envelope:
    visitor_id: str
    session_id: str
    customer_platform_id: str
    analytics: bool
    events: list = field(default_factory=list)


@dataclass
class Outcome:
    accepted: int = 0
    rejected: list[dict] = field(default_factory=list)


def parse_envelope(data: object, customer_platform_id: str) -> Envelope:
    """Check the batch's outer shape; `customer_platform_id` is what the caller already verified (or "")."""
    if not isinstance(data, dict):
        raise BadBatch("body must be a JSON object")
    events = data.get("events")
    if not isinstance(events, list):
        raise BadBatch("events must be a list")
    if len(events) > MAX_EVENTS:
        raise BadBatch(f"too many events in one batch (max {MAX_EVENTS})")
    consent = data.get("consent")
    # No consent signal means no consent: storing personal data needs a yes, not the absence of a no.
    analytics = isinstance(consent, dict) and consent.get("analytics") is True
    visitor = data.get("visitor", "") or ""
    session = data.get("session", "") or ""
    if analytics:
        if not matches(VISITOR_ID, visitor):
            raise BadBatch("visitor must be 1-64 characters of A-Z a-z 0-9 _ - .")
        if session and not matches(VISITOR_ID, session):
            raise BadBatch("session must be up to 64 characters of A-Z a-z 0-9 _ - .")
    else:
        visitor, session, customer_platform_id = "", "", ""
    return Envelope(visitor, session, customer_platform_id, analytics, events)


def _ts(raw: object, now_ms: int) -> datetime | None:
    if raw is None:
        return datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    if not now_ms - MAX_AGE_MS <= raw <= now_ms + MAX_SKEW_MS:
        return None
    return datetime.fromtimestamp(min(raw, now_ms) / 1000, tz=UTC)


def _ids(model: type[Product] | type[Collection], shop_id: int, platform_ids: set[str]) -> dict[str, int]:
    if not platform_ids:
        return {}
    rows = model.objects.for_shop(shop_id).filter(platform_id__in=platform_ids).values_list("platform_id", "pk")
    return dict(rows)


PRODUCT_OVER_BUDGET = "too many events for this product this minute"


def store_batch(shop_id: int, shop_domain: str, env: Envelope, customer_id: int | None,
                product_budget: Callable[[dict[int, int]], dict[int, int]] | None = None) -> Outcome:
    """Validate each event, bulk-insert the good ones, stitch the visitor, then tell the hooks.

    `product_budget` gets how many valid events name each product and answers how many of them may be stored
    (backend.events.throttle); the rest are refused with a reason like any other bad event."""
    outcome = Outcome()
    now_ms = int(time.time() * 1000)
    wanted_products = {
        plain_id(e["product"]) for e in env.events if isinstance(e, dict) and matches(PLATFORM_ID, e.get("product"))
    }
    wanted_collections = {
        plain_id(e["collection"])
        for e in env.events
        if isinstance(e, dict) and matches(PLATFORM_ID, e.get("collection"))
    }
    products = _ids(Product, shop_id, wanted_products)
    collections = _ids(Collection, shop_id, wanted_collections)

    valid: list[tuple[int, Event]] = []
    for index, raw in enumerate(env.events):
        reason = ""
        if not isinstance(raw, dict):
            reason = "event must be an object"
        elif not isinstance(raw.get("type"), str) or raw["type"] not in _TYPES:
            reason = "unknown event type"
        else:
            event, reason = _event(shop_id, env, customer_id, raw, products, collections, now_ms)
            if event is not None:
                valid.append((index, event))
        if reason:
            outcome.rejected.append({"index": index, "reason": reason})
    rows = _within_product_budget(valid, product_budget, outcome) if product_budget else [e for _, e in valid]
    for reason in sorted({r["reason"] for r in outcome.rejected}):  # one log line per reason and batch
        reject("storefront_event", reason, shop_domain)
    if rows:
        rows = _insert(rows, shop_domain)
        # "Continue shopping" reads a visitor's views from Redis: in step with the rows just stored.
        recent_views.pushed(shop_id, [(e.visitor_id, e.product_id, e.created_at) for e in rows
                                      if e.type == EventType.PRODUCT_VIEWED and e.product_id])
    outcome.accepted = len(rows)
    if env.analytics and customer_id and env.visitor_id:
        stitch(shop_id, env.visitor_id, customer_id)
    if rows:
        hooks.dispatch(shop_id, [_stored(e) for e in rows])
        _record_exposures(shop_id, rows)
    return outcome


def _within_product_budget(valid: list[tuple[int, Event]], budget: Callable[[dict[int, int]], dict[int, int]],
                           outcome: Outcome) -> list[Event]:
    allowed = budget(Counter(e.product_id for _, e in valid if e.product_id))
    used: Counter[int] = Counter()
    kept = []
    for index, event in valid:
        if event.product_id:
            used[event.product_id] += 1
            if used[event.product_id] > allowed.get(event.product_id, 0):
                outcome.rejected.append({"index": index, "reason": PRODUCT_OVER_BUDGET})
                continue
        kept.append(event)
    outcome.rejected.sort(key=lambda r: r["index"])
    return kept


_EXPOSING = frozenset({EventType.WIDGET_IMPRESSION, EventType.POPUP_SHOWN})


def _record_exposures(shop_id: int, rows: list[Event]) -> None:
    """An impression (of a widget, or a popup shown) that echoes an experiment arm is the exposure: logged only
    when the variant was shown."""
    seen = [(e.experiment, e.variant, e.visitor_id, e.created_at) for e in rows
            if e.type in _EXPOSING and e.experiment and e.variant and e.visitor_id]
    if not seen:
        return
    from backend.experiments.runtime import record_exposures

    try:
        record_exposures(shop_id, seen)
    except Exception:  # the events are stored; a lost exposure must not fail the shopper's request
        logging.getLogger("personalize.events").exception("recording exposures failed shop=%s", shop_id)


def _event(
    shop_id: int,
    env: Envelope,
    customer_id: int | None,
    raw: dict,
    products: dict[str, int],
    collections: dict[str, int],
    now_ms: int,
) -> tuple[Event | None, str]:
    etype = raw["type"]
    product_raw, collection_raw = raw.get("product"), raw.get("collection")
    product_id = collection_id = None
    if product_raw not in (None, ""):
        if not matches(PLATFORM_ID, product_raw):
            return None, "product id malformed or longer than 64"
        product_id = products.get(plain_id(product_raw))
        if product_id is None:
            return None, "unknown product"
    if collection_raw not in (None, ""):
        if not matches(PLATFORM_ID, collection_raw):
            return None, "collection id malformed or longer than 64"
        collection_id = collections.get(plain_id(collection_raw))
        if collection_id is None:
            return None, "unknown collection"
    if etype in _NEEDS_PRODUCT and product_id is None:
        return None, f"{etype} needs a product"
    if etype in _NEEDS_COLLECTION and collection_id is None:
        return None, f"{etype} needs a collection"
    extra: dict[str, str] = {}
    for name in ("widget", "experiment", "variant"):
        value = raw.get(name, "")
        if value in (None, ""):
            extra[name] = ""
        elif not matches(TOKEN, value) or (name == "widget" and len(value) > 32):
            return None, f"{name} malformed or too long"
        else:
            extra[name] = value
    if etype in _NEEDS_WIDGET and not extra["widget"]:
        return None, f"{etype} needs a widget"
    created_at = _ts(raw.get("ts"), now_ms)
    if created_at is None:
        return None, "ts must be epoch milliseconds within the last day"
    return (
        Event(
            shop_id=shop_id,
            visitor_id=env.visitor_id,
            session_id=env.session_id,
            customer_id=customer_id if env.analytics else None,
            type=etype,
            product_id=product_id,
            collection_id=collection_id,
            created_at=created_at,
            **extra,
        ),
        "",
    )


def _insert(rows: list[Event], shop_domain: str = "") -> list[Event]:
    """One INSERT for the batch; the rows stored. On PostgreSQL the commit doesn't wait for the WAL flush: a
    database crash could forget the last fraction of a second of page views (never corrupt or half-store a batch),
    and in exchange ingestion isn't bound by disk syncs. Orders and everything else keep the default, durable commit.

    A product, collection or customer deleted (a webhook, a redaction) between the lookup and the commit fails the
    batch's foreign keys (checked at commit). The rows are then stored as that delete would have left them had they
    arrived a moment earlier (the reference emptied: on_delete=SET_NULL), not lost to a 500. A shop gone meanwhile
    (uninstalled and erased) keeps nothing: a counted rejection."""
    try:
        _insert_once(rows)
        return rows
    except IntegrityError:
        pass
    from backend.customers.models import Customer
    from backend.shops.models import Shop

    shop_id = rows[0].shop_id
    if not Shop.objects.filter(pk=shop_id).exists():
        reject("storefront_event", "the shop was removed while its events arrived", shop_domain)
        return []
    for ref, model in (("product_id", Product), ("collection_id", Collection), ("customer_id", Customer)):
        named = {getattr(r, ref) for r in rows} - {None}
        alive = set(model.objects.for_shop(shop_id).filter(pk__in=named).values_list("pk", flat=True))
        for row in rows:
            if getattr(row, ref) is not None and getattr(row, ref) not in alive:
                setattr(row, ref, None)
    for row in rows:
        row.pk = None  # ids handed out by the rolled-back insert are not ours to reuse
    try:
        _insert_once(rows)
    except IntegrityError:
        reject("storefront_event", "foreign keys failed twice in a row", shop_domain)
        return []
    return rows


def _insert_once(rows: list[Event]) -> None:
    with transaction.atomic():
        _relaxed_commit()
        Event.objects.bulk_create(rows)


def _relaxed_commit() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _stored(e: Event) -> hooks.StoredEvent:
    return hooks.StoredEvent(
        type=e.type,
        visitor_id=e.visitor_id,
        session_id=e.session_id,
        customer_id=e.customer_id,
        product_id=e.product_id,
        collection_id=e.collection_id,
        widget=e.widget,
        created_at=e.created_at,
    )

"""Who is in an audience now, and when each recency member's time runs out.

A segment audience is the segment's members; a "fed by automations" one is whoever recipe steps put in.
A recency audience ("viewed a product / a collection / added to cart
in the last N days and no order since") is computed from stored events at `now`: each person's latest such event,
kept while it is younger than N days and newer than their last order. They leave at `latest event + N days`, so the
sync schedules its next run for the earliest such moment (the 2-day audience loses a shopper on day 3, not a day
later). "Recent buyers" are people whose last order is younger than N days, leaving N days after it.

Only people whose marketing consent allows it are members (`contacts.consenting`).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max

from backend.customers.models import CustomerProfile, Identity
from backend.events.models import Event
from backend.segments.models import SegmentMembership

from .contacts import CHUNK, consenting
from .models import Audience, RecipeMember


@dataclass(frozen=True)
class Membership:
    profile_ids: list[int]  # sorted, consenting, active
    next_leave_at: datetime | None  # the earliest moment one of them leaves on their own (recency only)


def _chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def latest_activity(shop_id: int, activity: str, since: datetime, until: datetime, *, product_id: int | None = None,
                    collection_id: int | None = None) -> dict[int, datetime]:
    """Each profile's latest event of `activity` in [since, until], through its visitor ids and customer ids."""
    events = Event.objects.for_shop(shop_id).filter(type=activity, created_at__gte=since, created_at__lte=until)
    if product_id:
        events = events.filter(product_id=product_id)
    if collection_id:
        events = events.filter(collection_id=collection_id)
    by_visitor = dict(events.exclude(visitor_id="").values("visitor_id").annotate(at=Max("created_at"))
                      .values_list("visitor_id", "at"))
    by_customer = dict(events.filter(customer__isnull=False).values("customer_id").annotate(at=Max("created_at"))
                       .values_list("customer_id", "at"))
    latest: dict[int, datetime] = {}

    def keep(profile_id: int, at: datetime) -> None:
        if profile_id not in latest or at > latest[profile_id]:
            latest[profile_id] = at

    for chunk in _chunks(list(by_visitor)):
        for value, profile_id in Identity.objects.for_shop(shop_id).filter(
                kind=Identity.Kind.VISITOR, value__in=chunk).values_list("value", "profile_id"):
            keep(profile_id, by_visitor[value])
    for chunk in _chunks(list(by_customer)):
        for customer_id, profile_id in Identity.objects.for_shop(shop_id).filter(
                kind=Identity.Kind.CUSTOMER, customer_id__in=chunk).values_list("customer_id", "profile_id"):
            keep(profile_id, by_customer[customer_id])
    return latest


def _recency(audience: Audience, now: datetime) -> tuple[list[int], datetime | None]:
    window = timedelta(days=audience.days)
    since = now - window
    shop_id = audience.shop_id
    if audience.buyers:
        rows = CustomerProfile.objects.for_shop(shop_id).filter(
            is_active=True, last_order_at__gte=since, last_order_at__lte=now).values_list("pk", "last_order_at")
        latest = dict(rows)
        ids = consenting(shop_id, latest)
        leaves = [latest[p] + window for p in ids]
        return ids, min(leaves) if leaves else None
    latest = latest_activity(shop_id, audience.activity, since, now, product_id=audience.product_id,
                             collection_id=audience.collection_id)
    # "And no order since": a person whose last order is at or after their latest activity is out.
    members: dict[int, datetime] = {}
    for chunk in _chunks(sorted(latest)):
        for pk, last_order_at in CustomerProfile.objects.for_shop(shop_id).filter(
                pk__in=chunk, is_active=True).values_list("pk", "last_order_at"):
            if last_order_at is None or last_order_at < latest[pk]:
                members[pk] = latest[pk]
    ids = consenting(shop_id, members)
    leaves = [members[p] + window for p in ids]
    return ids, min(leaves) if leaves else None


def current(audience: Audience, now: datetime) -> Membership:
    if audience.source == Audience.Source.SEGMENT:
        # One query: members of the segment who accept marketing (the segment's own rule may not ask for it).
        in_segment = SegmentMembership.objects.for_shop(audience.shop_id).filter(
            segment_id=audience.segment_id).values("profile_id")
        ids = list(CustomerProfile.objects.for_shop(audience.shop_id).filter(
            pk__in=in_segment, is_active=True, accepts_marketing=True).order_by("pk").values_list("pk", flat=True))
        return Membership(ids, None)
    if audience.source == Audience.Source.RECIPES:
        # Whoever the recipes' steps put in, still active and accepting marketing (a step never overrides consent).
        added = RecipeMember.objects.for_shop(audience.shop_id).filter(audience=audience).values("profile_id")
        ids = list(CustomerProfile.objects.for_shop(audience.shop_id).filter(
            pk__in=added, is_active=True, accepts_marketing=True).order_by("pk").values_list("pk", flat=True))
        return Membership(ids, None)
    ids, next_leave = _recency(audience, now)
    return Membership(ids, next_leave)

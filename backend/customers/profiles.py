"""Derived facts about one profile, recomputed from its orders (every channel) and storefront events.

refresh_profile() touches only one person's rows, so an order webhook or a storefront event updates the profile in
milliseconds without recomputing the shop. Facts that need the whole shop (RFM quintiles, value tiers) are scored
by backend.segments.valuation against the shop's stored breakpoints.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, DecimalField, F, Max, Min, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Customer, CustomerProfile, Identity, ProfileCollectionView

DEFAULT_VIEWED_WINDOW_DAYS = 30
DEFAULT_CART_WINDOW_HOURS = 24
ZERO = Decimal("0.00")


def days_since(moment: datetime | None, now: datetime | None = None) -> float | None:
    if moment is None:
        return None
    return ((now or timezone.now()) - moment) / timedelta(days=1)


def cart_abandoned(profile: CustomerProfile, now: datetime | None = None,
                   window_hours: int = DEFAULT_CART_WINDOW_HOURS) -> bool:
    """Added to cart, no order since, and the shop's window (default 24 h) has passed."""
    if profile.last_cart_at is None:
        return False
    if profile.last_order_at is not None and profile.last_order_at >= profile.last_cart_at:
        return False
    return (now or timezone.now()) - profile.last_cart_at > timedelta(hours=window_hours)


def linked_ids(profile: CustomerProfile) -> tuple[list[int], list[str]]:
    """(customer pks, visitor ids) owned by the profile."""
    rows = getattr(profile, "fresh_links", None)
    if rows is None:
        rows = list(Identity.objects.for_shop(profile.shop_id).filter(
            profile=profile, kind__in=[Identity.Kind.CUSTOMER, Identity.Kind.VISITOR]
        ).values_list("kind", "value", "customer_id"))
    rows = [r for r in rows if r[0] in (Identity.Kind.CUSTOMER, Identity.Kind.VISITOR)]
    profile.linked_identities = [(kind, value) for kind, value, _ in rows]  # reused when dropping cached keys
    customers = [cid for kind, _, cid in rows if kind == Identity.Kind.CUSTOMER and cid]
    visitors = [value for kind, value, _ in rows if kind == Identity.Kind.VISITOR]
    return customers, visitors


def _apply_customers(profile: CustomerProfile, customer_ids: list[int],
                     customers: list[Customer] | None = None) -> None:
    if customers is None:
        customers = list(Customer.objects.for_shop(profile.shop_id).filter(pk__in=customer_ids)
                         .order_by(F("platform_updated_at").desc(nulls_last=True), "-pk"))
    profile.is_known = bool(customers)
    profile.email = next((c.email.strip().lower() for c in customers if c.email), "")[:320]
    profile.country = next((c.country.upper() for c in customers if c.country), "")[:2]
    tags = sorted({str(t).strip().lower()[:60] for c in customers for t in (c.tags or []) if str(t).strip()})
    text = "|" + "|".join(tags) + "|" if tags else ""
    profile.tags_text = text if len(text) <= 2000 else ""
    marketing = any(c.accepts_marketing for c in customers)
    if marketing != profile.accepts_marketing:
        profile.accepts_marketing = marketing
        profile.consent_updated_at = timezone.now()


def _apply_orders(profile: CustomerProfile, customer_ids: list[int]) -> None:
    from backend.orders.models import Order

    orders = Order.objects.for_shop(profile.shop_id).filter(customer_id__in=customer_ids, cancelled_at__isnull=True)
    when = Coalesce("processed_at", "platform_created_at")
    agg = orders.aggregate(
        n=Count("id"),
        spent=Coalesce(Sum(F("total_price") - F("total_refunded"), output_field=DecimalField()), ZERO,
                       output_field=DecimalField()),
        first=Min(when),
        last=Max(when),
    )
    profile.orders_count = agg["n"] or 0
    profile.total_spent = Decimal(agg["spent"] or 0).quantize(Decimal("0.01"))
    profile.aov = (profile.total_spent / profile.orders_count).quantize(Decimal("0.01")) if profile.orders_count \
        else ZERO
    profile.first_order_at = agg["first"]
    profile.last_order_at = agg["last"]
    channels = sorted(set(orders.values_list("channel", flat=True).distinct()))
    profile.channels = "|" + "|".join(channels) + "|" if channels else ""


# Events are counted into running totals up to this far behind the refresh: the storefront may stamp an event up to
# a day in the past (events.ingest.MAX_AGE_MS), so nothing can still arrive before `now - SETTLED_AFTER`.
SETTLED_AFTER = timedelta(days=2)
# A session already seen this close before the totals' edge is not counted again when it goes on after the edge.
# Sessions are per tab (sessionStorage): a tab resumed after a week idle counts as a new visit.
SESSION_LOOKBACK = timedelta(days=7)


def _fingerprint(customer_ids: list[int], visitor_ids: list[str]) -> str:
    """Whose events the totals count: a link or a merge changes it, and then the totals are recounted whole."""
    raw = ",".join(map(str, sorted(customer_ids))) + "|" + ",".join(sorted(visitor_ids))
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


def _when(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _latest(*moments: datetime | None) -> datetime | None:
    return max((m for m in moments if m is not None), default=None)


def _earliest(*moments: datetime | None) -> datetime | None:
    return min((m for m in moments if m is not None), default=None)


def _apply_events(profile: CustomerProfile, customer_ids: list[int], visitor_ids: list[str],
                  viewed_window_days: int, now: datetime) -> None:
    """Lifetime engagement facts from running totals plus a read of only the events after the totals' edge.

    profile.event_totals holds the aggregates of the profile's events created before `until` (which trails the
    refresh by SETTLED_AFTER). A refresh reads events from `until` on, so PostgreSQL scans the partitions since the
    previous refresh (usually one), and rolls the totals forward. Totals are kept rather than re-read because
    counts and first-seen need the whole history, which is what partitioning must stop reading. The totals are
    recounted from every partition when the profile's identities change (a link or a merge brings a visitor's
    older events). Counts are lifetime: retention dropping old partitions does not lower them.
    """
    try:
        from backend.events.models import Event
    except ImportError:  # events arrive with the storefront API; profiles work from orders alone before that
        return
    if not customer_ids and not visitor_ids:
        return
    events = Event.objects.for_shop(profile.shop_id).filter(
        Q(visitor_id__in=visitor_ids) | Q(customer_id__in=customer_ids)
    )
    fingerprint = _fingerprint(customer_ids, visitor_ids)
    base = profile.event_totals or {}
    if base.get("ids") != fingerprint:
        base = {}
    edge = _when(base.get("until"))  # None: no totals yet, read everything
    settle = max(now - SETTLED_AFTER, edge) if edge else now - SETTLED_AFTER
    recent = events.filter(created_at__gte=edge) if edge else events
    settled = Q(created_at__lt=settle)
    agg = recent.aggregate(
        n=Count("id"),
        n_settled=Count("id", filter=settled),
        first=Min("created_at"),
        last=Max("created_at"),
        last_settled=Max("created_at", filter=settled),
        cart=Max("created_at", filter=Q(type="added_to_cart")),
        cart_settled=Max("created_at", filter=Q(type="added_to_cart") & settled),
        collection=Max("created_at", filter=Q(type="collection_viewed")),
    )
    # Sessions by their first event in sight: those that began before the edge are in the totals already.
    sessions = events.exclude(session_id="")
    if edge:
        sessions = sessions.filter(created_at__gte=edge - SESSION_LOOKBACK)
    starts = [first for _, first in sessions.values("session_id").annotate(first=Min("created_at"))
              .values_list("session_id", "first")]
    new_sessions = [s for s in starts if edge is None or s >= edge]

    profile.events_count = base.get("n", 0) + (agg["n"] or 0)
    profile.sessions_count = base.get("sessions", 0) + len(new_sessions)
    profile.first_seen_at = _earliest(_when(base.get("first")), agg["first"])
    profile.last_seen_at = _latest(_when(base.get("last")), agg["last"])
    profile.last_cart_at = _latest(_when(base.get("cart")), agg["cart"])
    profile.event_totals = {
        "ids": fingerprint, "until": settle.isoformat(),
        "n": base.get("n", 0) + (agg["n_settled"] or 0),
        "sessions": base.get("sessions", 0) + sum(1 for s in new_sessions if s < settle),
        "first": _iso(_earliest(_when(base.get("first")), agg["first"] if agg["n_settled"] else None)),
        "last": _iso(_latest(_when(base.get("last")), agg["last_settled"])),
        "cart": _iso(_latest(_when(base.get("cart")), agg["cart_settled"])),
    }
    # The storefront stores visitor ids only with analytics consent, so events under one mean it was given.
    if visitor_ids and profile.events_count and profile.analytics_consent is not True:
        profile.analytics_consent = True
        profile.consent_updated_at = now

    since = now - timedelta(days=viewed_window_days)
    if agg["collection"] is None or agg["collection"] < since:
        return  # no collection viewed inside the window since the last refresh: nothing to write (most shoppers)
    # Views before the edge were written by an earlier refresh (rows persist): only the recent read is upserted.
    viewed = dict(
        recent.filter(type="collection_viewed", collection_id__isnull=False, created_at__gte=since)
        .values("collection_id").annotate(last=Max("created_at")).values_list("collection_id", "last")
    )
    # Views that fall out of the window need no delete here: every reader compares last_viewed_at with its own
    # window, and prune_collection_views() clears old rows nightly.
    if viewed:
        ProfileCollectionView.objects.bulk_create(
            [ProfileCollectionView(shop_id=profile.shop_id, profile=profile, collection_id=cid, last_viewed_at=at)
             for cid, at in viewed.items()],
            update_conflicts=True, unique_fields=["shop", "profile", "collection_id"], update_fields=["last_viewed_at"],
        )


def refresh_profile(profile: CustomerProfile, now: datetime | None = None,
                    viewed_window_days: int = DEFAULT_VIEWED_WINDOW_DAYS, save: bool = True) -> CustomerProfile:
    """Recompute the profile's own facts from its customers' orders and its visitors' events."""
    now = now or timezone.now()
    customer_ids, visitor_ids = linked_ids(profile)
    _apply_customers(profile, customer_ids)
    _apply_orders(profile, customer_ids)
    _apply_events(profile, customer_ids, visitor_ids, viewed_window_days, now)
    if save:
        profile.save()
    return profile


def viewed_collection_ids(profile: CustomerProfile, days: int, now: datetime | None = None) -> set[int]:
    since = (now or timezone.now()) - timedelta(days=days)
    return set(
        ProfileCollectionView.objects.for_shop(profile.shop_id)
        .filter(profile=profile, last_viewed_at__gte=since).values_list("collection_id", flat=True)
    )


def write_fields(profiles: list[CustomerProfile], fields: list[str]) -> None:
    """Save a few fields of many profiles with one parameterised UPDATE run through executemany.

    Django's bulk_update builds a CASE expression per row and field, which costs seconds of Python per thousand
    profiles; the nightly pass writes every profile of a shop.
    """
    if not profiles:
        return
    meta = CustomerProfile._meta
    cols = [meta.get_field(f) for f in fields]
    qn = connection.ops.quote_name
    assignments = ", ".join(f"{qn(c.column)} = %s" for c in cols)
    # Identifiers come from the model's own metadata, values are parameters: nothing here is outside input.
    sql = f"UPDATE {qn(meta.db_table)} SET {assignments} WHERE {qn('id')} = %s AND {qn('shop_id')} = %s"  # noqa: S608
    rows = [[c.get_db_prep_save(getattr(p, c.attname), connection) for c in cols] + [p.pk, p.shop_id]
            for p in profiles]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)


ORDER_FACTS = ["email", "country", "tags_text", "is_known", "accepts_marketing", "consent_updated_at",
               "orders_count", "total_spent", "aov", "first_order_at", "last_order_at", "channels"]


def refresh_order_facts(shop_id: int) -> int:
    """The customer and order facts of every active profile of a shop in a few grouped queries (nightly, after a
    bulk sync). Same results as refresh_profile for those fields; event facts stay with the real-time path."""
    from backend.orders.models import Order

    owner = dict(Identity.objects.for_shop(shop_id).filter(kind=Identity.Kind.CUSTOMER, customer__isnull=False,
                                                            profile__is_active=True)
                 .values_list("customer_id", "profile_id"))
    customers: dict[int, list[Customer]] = {}
    for c in (Customer.objects.for_shop(shop_id).filter(pk__in=list(owner))
              .order_by(F("platform_updated_at").desc(nulls_last=True), "-pk").iterator(chunk_size=5000)):
        customers.setdefault(owner[c.pk], []).append(c)
    facts: dict[int, dict] = {}
    rows = (Order.objects.for_shop(shop_id).filter(cancelled_at__isnull=True, customer_id__in=list(owner))
            .values("customer_id", "channel")
            .annotate(n=Count("id"), spent=Sum(F("total_price") - F("total_refunded"), output_field=DecimalField()),
                      first=Min(Coalesce("processed_at", "platform_created_at")),
                      last=Max(Coalesce("processed_at", "platform_created_at"))))
    for r in rows.iterator(chunk_size=5000):
        f = facts.setdefault(owner[r["customer_id"]], {"n": 0, "spent": ZERO, "first": None, "last": None,
                                                       "channels": set()})
        f["n"] += r["n"]
        f["spent"] += Decimal(r["spent"] or 0)
        f["first"] = min(x for x in (f["first"], r["first"]) if x is not None) if r["first"] else f["first"]
        f["last"] = max(x for x in (f["last"], r["last"]) if x is not None) if r["last"] else f["last"]
        f["channels"].add(r["channel"])
    ids = list(CustomerProfile.objects.for_shop(shop_id).filter(is_active=True).values_list("pk", flat=True))
    for i in range(0, len(ids), 1000):
        batch = list(CustomerProfile.objects.for_shop(shop_id).filter(pk__in=ids[i:i + 1000]))
        for p in batch:
            _apply_customers(p, [], customers.get(p.pk, []))
            f = facts.get(p.pk)
            p.orders_count = f["n"] if f else 0
            p.total_spent = f["spent"].quantize(Decimal("0.01")) if f else ZERO
            p.aov = (p.total_spent / p.orders_count).quantize(Decimal("0.01")) if p.orders_count else ZERO
            p.first_order_at = f["first"] if f else None
            p.last_order_at = f["last"] if f else None
            p.channels = "|" + "|".join(sorted(f["channels"])) + "|" if f else ""
        write_fields(batch, ORDER_FACTS)
    return len(ids)


def prune_collection_views(shop_id: int, keep_days: int = 365) -> int:
    """Forget collection views older than any rule can ask about (rules accept at most 365 days)."""
    cutoff = timezone.now() - timedelta(days=keep_days)
    deleted, _ = ProfileCollectionView.objects.for_shop(shop_id).filter(last_viewed_at__lt=cutoff).delete()
    return deleted

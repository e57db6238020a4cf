"""A profile's engagement facts from running totals plus the recent events only: the same figures as counting the
whole history, and on PostgreSQL the refresh after the first one scans only the recent monthly partitions."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.customers.identities import resolve_customer, resolve_visitor
from backend.customers.profiles import SESSION_LOOKBACK, SETTLED_AFTER, refresh_profile, viewed_collection_ids
from backend.events.models import Event

from .factories import make_customer, make_event

pytestmark = pytest.mark.django_db

FACTS = ["events_count", "sessions_count", "first_seen_at", "last_seen_at", "last_cart_at"]


def _facts(profile) -> list:
    return [getattr(profile, f) for f in FACTS]


def _recounted(profile, now) -> list:
    """What counting every event from scratch says (no totals); the profile keeps its rolled totals."""
    rolled, profile.event_totals = profile.event_totals, None
    facts = _facts(refresh_profile(profile, now=now, save=False))
    profile.event_totals = rolled
    return facts


def test_totals_rolled_forward_give_the_same_facts_as_a_full_count(shop):
    now = timezone.now()
    make_event(shop, "product_viewed", "v1", "s1", days_ago=40)
    make_event(shop, "added_to_cart", "v1", "s1", days_ago=40)
    make_event(shop, "product_viewed", "v1", "s2", days_ago=3)
    profile = refresh_profile(resolve_visitor(shop.pk, "v1"), now=now)
    assert _facts(profile)[:2] == [3, 2]
    # The visitor comes back over the next weeks: a session going on across the totals' edge, new sessions, a cart.
    steps = [(1, "s2", "product_viewed"), (2, "s2", "added_to_cart"), (9, "s3", "product_viewed"),
             (9.5, "s3", "collection_viewed"), (30, "s4", "product_viewed")]
    for day, session, kind in steps:
        later = now + timedelta(days=day)
        make_event(shop, kind, "v1", session, at=later)
        refresh_profile(profile, now=later)
        fresh = _facts(profile)
        assert fresh == _recounted(profile, later), (day, fresh)
    assert profile.events_count == 8 and profile.sessions_count == 4
    assert profile.last_cart_at == now + timedelta(days=2)
    assert profile.first_seen_at < now - timedelta(days=39)


def test_a_refresh_reads_only_events_after_the_totals_edge(shop):
    """Old events are not read again (and counts are lifetime: retention dropping them does not lower them)."""
    make_event(shop, "product_viewed", "v1", "s1", days_ago=60)
    make_event(shop, "added_to_cart", "v1", "s1", days_ago=60)
    profile = refresh_profile(resolve_visitor(shop.pk, "v1"))
    Event.objects.for_shop(shop).filter(created_at__lt=timezone.now() - timedelta(days=30))._raw_delete("default")
    make_event(shop, "product_viewed", "v1", "s2")
    refresh_profile(profile)
    assert (profile.events_count, profile.sessions_count) == (3, 2)
    assert profile.last_cart_at is not None


def test_a_newly_linked_visitor_brings_its_older_events_in(shop):
    c = make_customer(shop, email="ann@example.com")
    make_event(shop, "product_viewed", "v1", "s1", customer=c, days_ago=20)
    profile = refresh_profile(resolve_customer(c))
    assert profile.events_count == 1
    # An older anonymous visitor id logs in as the same customer: its history (before the edge) joins the profile.
    make_event(shop, "product_viewed", "v2", "s9", days_ago=50)
    make_event(shop, "added_to_cart", "v2", "s9", days_ago=50)
    profile = refresh_profile(resolve_visitor(shop.pk, "v2", c.pk))
    assert (profile.events_count, profile.sessions_count) == (3, 2)
    assert profile.first_seen_at < timezone.now() - timedelta(days=49)


def test_collections_viewed_before_the_edge_stay_viewed(shop):
    from backend.catalog.models import Collection

    hats = Collection.objects.create(shop=shop, platform_id="hats", title="Hats")
    now = timezone.now()
    make_event(shop, "collection_viewed", "v1", "s1", days_ago=5, collection=hats)
    profile = refresh_profile(resolve_visitor(shop.pk, "v1"), now=now)
    later = now + timedelta(days=10)
    make_event(shop, "product_viewed", "v1", "s2", at=later)
    refresh_profile(profile, now=later)
    assert viewed_collection_ids(profile, 30, now=later) == {hats.pk}


def test_nothing_older_than_the_settling_time_can_still_arrive():
    from backend.events.ingest import MAX_AGE_MS, MAX_SKEW_MS

    assert timedelta(milliseconds=MAX_AGE_MS + MAX_SKEW_MS) < SETTLED_AFTER


def test_on_postgresql_the_second_refresh_scans_only_recent_partitions(shop):
    if connection.vendor != "postgresql":
        pytest.skip("native partitioning is PostgreSQL's; SQLite keeps a plain events table")
    import re

    from backend.events import partitions

    now = timezone.now()
    with connection.cursor() as cursor:
        partitions.ensure_ahead(now, cursor=cursor, since=now - timedelta(days=400))
    make_event(shop, "product_viewed", "v1", "s1", days_ago=300)
    make_event(shop, "product_viewed", "v1", "s2", days_ago=1)
    profile = resolve_visitor(shop.pk, "v1")

    def scanned_by_refresh() -> set[str]:
        with CaptureQueriesContext(connection) as ctx:
            refresh_profile(profile)
        names: set[str] = set()
        with connection.cursor() as cursor:
            for q in ctx.captured_queries:
                if "events_event" in q["sql"] and q["sql"].lstrip().upper().startswith("SELECT"):
                    cursor.execute("EXPLAIN " + q["sql"])
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                    names |= set(re.findall(r"on (events_event_p\d{6})", plan))
        return names

    first = scanned_by_refresh()  # no totals yet: the whole history once
    assert partitions.partition_name(partitions.month_start(now - timedelta(days=300))) in first
    again = scanned_by_refresh()
    oldest = partitions.partition_name(partitions.month_start(now - SETTLED_AFTER - SESSION_LOOKBACK))
    assert again and all(name >= oldest for name in again), again
    assert profile.events_count == 2 and profile.sessions_count == 2

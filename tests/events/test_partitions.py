"""Events partitioned by month on PostgreSQL: partitions made ahead, stray rows moved in, retention by dropping
whole partitions, and readers with a time bound touch only the recent ones. (SQLite keeps one plain table: its
retention is tests/dashboard/test_settings_audit.py's.)"""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from backend.events import partitions
from backend.events.models import Event
from tests.customers.factories import make_event

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("native partitioning is PostgreSQL's; SQLite keeps a plain events table")


def _home(event: Event) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM events_event WHERE id = %s", [event.pk])
        return cursor.fetchone()[0]


def test_events_land_in_their_month_and_strays_move_in_when_the_month_is_created(shop):
    now = timezone.now()
    assert _home(make_event(shop, at=now)) == partitions.partition_name(partitions.month_start(now))
    far = now + timedelta(days=400)  # beyond the months made ahead: kept, in the default partition
    stray = make_event(shop, at=far)
    assert _home(stray) == partitions.DEFAULT_PARTITION
    made = partitions.ensure_ahead(far)
    assert partitions.partition_name(partitions.month_start(far)) in made
    assert _home(stray) == partitions.partition_name(partitions.month_start(far))
    assert Event.objects.for_shop(shop).count() == 2


def test_retention_drops_whole_partitions_older_than_the_longest_retention(shop):
    now = timezone.now()
    old_at = now - timedelta(days=800)
    with connection.cursor() as cursor:
        partitions.ensure_ahead(now, cursor=cursor, since=old_at)
    old, kept = make_event(shop, at=old_at), make_event(shop, at=now - timedelta(days=700))
    with connection.cursor() as cursor:  # the test's transaction holds deferred FK checks; the daily job has none
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    dropped = partitions.drop_expired(now, horizon=730)
    assert partitions.partition_name(partitions.month_start(old_at)) in dropped
    assert list(Event.objects.for_shop(shop).values_list("pk", flat=True)) == [kept.pk]
    assert old.pk != kept.pk


def test_a_time_bounded_read_scans_only_recent_partitions(shop):
    now = timezone.now()
    with connection.cursor() as cursor:
        partitions.ensure_ahead(now, cursor=cursor, since=now - timedelta(days=300))
        query = Event.objects.for_shop(shop).filter(visitor_id="v1", created_at__gte=partitions.recent_since(40, now))
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    scanned = set(partitions_in(plan))
    first = partitions.partition_name(partitions.month_start(now - timedelta(days=40)))
    # Only months from the bound on (and the empty months made ahead, and the default): none of the older ten.
    assert scanned and all(name >= first for name in scanned if name != partitions.DEFAULT_PARTITION), plan
    assert partitions.partition_name(partitions.month_start(now - timedelta(days=300))) not in scanned


def partitions_in(plan: str) -> list[str]:
    import re

    return re.findall(r"on (events_event_(?:p\d{6}|default))", plan)

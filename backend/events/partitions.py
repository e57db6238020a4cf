"""Storefront events that can grow for years: on PostgreSQL the events table is partitioned by month of created_at
(native declarative partitioning; partitions this module creates ahead of time from a daily task), retention drops
whole partitions, and readers that filter on created_at touch only the recent ones. SQLite keeps one plain table.

Retention has two levels. The horizon is the longest retention any installed shop asked for (730 days by default,
at most 3650): partitions entirely older than it are dropped, which costs the same for a billion rows as for one.
A shop that asked for less has its own older rows removed by a delete bounded to that shop and to the day that
just fell out of its window (run daily), never a sweep over the whole table.
"""
from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger("personalize.events")

TABLE = "events_event"
DEFAULT_PARTITION = f"{TABLE}_default"
AHEAD_MONTHS = 3
DEFAULT_RETENTION_DAYS = 730


def month_start(d: date | datetime) -> date:
    return date(d.year, d.month, 1)


def next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{TABLE}_p{month:%Y%m}"


def _at(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def is_partitioned(cursor) -> bool:  # noqa: ANN001
    if connection.vendor != "postgresql":
        return False
    cursor.execute("SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(%s)", [TABLE])
    row = cursor.fetchone()
    return bool(row and row[0] == "p")


def partitions(cursor) -> dict[str, tuple[datetime, datetime] | None]:  # noqa: ANN001
    """Every partition by name with its [from, to) bounds (None for the default partition)."""
    cursor.execute("""SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i
                      JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)""", [TABLE])
    out: dict[str, tuple[datetime, datetime] | None] = {}
    for name, bound in cursor.fetchall():
        if bound == "DEFAULT":
            out[name] = None
            continue
        low, high = (part.split("'")[1] for part in bound.split(" TO "))
        out[name] = (datetime.fromisoformat(low).astimezone(UTC), datetime.fromisoformat(high).astimezone(UTC))
    return out


def create_month(cursor, month: date) -> bool:  # noqa: ANN001
    """Create the partition of `month` unless it exists. Rows already sitting in the default partition for that month
    (a clock far ahead, a missed maintenance run) are moved into it in the same transaction."""
    name = partition_name(month)
    cursor.execute("SELECT to_regclass(%s)", [name])
    if cursor.fetchone()[0]:
        return False
    low, high = _at(month), _at(next_month(month))
    with transaction.atomic():
        # Table names in these statements are this module's constants; values are bound parameters.
        cursor.execute(f"SELECT 1 FROM {DEFAULT_PARTITION} WHERE created_at >= %s AND created_at < %s LIMIT 1",  # noqa: S608
                       [low, high])
        stray = cursor.fetchone() is not None
        if stray:
            cursor.execute(f"CREATE TEMP TABLE events_stray AS WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "  # noqa: S608
                           f"WHERE created_at >= %s AND created_at < %s RETURNING *) SELECT * FROM moved", [low, high])
        # Bounds are literals in DDL (no parameters there); both come from dates computed here, never from input.
        cursor.execute(f"CREATE TABLE {name} PARTITION OF {TABLE} "
                       f"FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')")
        if stray:
            cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM events_stray")  # noqa: S608
            cursor.execute("DROP TABLE events_stray")
    return True


def ensure_ahead(now: datetime | None = None, cursor=None, since: date | None = None) -> list[str]:  # noqa: ANN001
    """Partitions from `since` (default: this month) to AHEAD_MONTHS ahead, and the default partition."""
    now = now or timezone.now()
    own = cursor is None
    cursor = cursor or connection.cursor()
    try:
        if not is_partitioned(cursor):
            return []
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT")
        made = []
        month = month_start(since or now)
        last = month_start(now)
        for _ in range(AHEAD_MONTHS):
            last = next_month(last)
        while month <= last:
            if create_month(cursor, month):
                made.append(partition_name(month))
            month = next_month(month)
        return made
    finally:
        if own:
            cursor.close()


def horizon_days() -> int:
    """The longest retention any installed shop keeps (partitions older than it go)."""
    from django.db.models import Max

    from backend.dashboard.models import ShopSettings
    from backend.shops.models import Shop

    longest = ShopSettings.all_shops.filter(shop__state=Shop.State.INSTALLED).aggregate(m=Max("data_retention_days"))
    return max(DEFAULT_RETENTION_DAYS, longest["m"] or 0)


def drop_expired(now: datetime | None = None, horizon: int | None = None) -> list[str]:
    """Drop every partition whose whole range is older than the horizon. Never a DELETE over the table."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=horizon if horizon is not None else horizon_days())
    dropped = []
    with connection.cursor() as cursor:
        if not is_partitioned(cursor):
            return []
        for name, bounds in sorted(partitions(cursor).items()):
            if bounds is not None and bounds[1] <= cutoff:
                cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
                cursor.execute(f"DROP TABLE {name}")
                dropped.append(name)
    if dropped:
        logger.info("events retention: dropped %s", ", ".join(dropped))
    return dropped


def trim_short_retention(now: datetime | None = None, horizon: int | None = None) -> int:
    """Shops keeping less than the horizon: their rows past their own window, one bounded delete per such shop.
    On SQLite (one plain table) this is the whole retention, as before partitioning."""
    from backend.dashboard.models import ShopSettings
    from backend.shops.models import Shop

    from .models import Event

    now = now or timezone.now()
    horizon = horizon if horizon is not None else horizon_days()
    rows = ShopSettings.all_shops.filter(shop__state=Shop.State.INSTALLED)
    if connection.vendor == "postgresql":
        rows = rows.filter(data_retention_days__lt=horizon)
    deleted = 0
    for shop_id, keep in rows.values_list("shop_id", "data_retention_days"):
        deleted += Event.objects.for_shop(shop_id).filter(created_at__lt=now - timedelta(days=keep))._raw_delete(
            connection.alias)
    if connection.vendor != "postgresql":  # shops without settings keep the default
        with_settings = ShopSettings.all_shops.values("shop_id")
        deleted += Event.all_shops.exclude(shop_id__in=with_settings).filter(
            created_at__lt=now - timedelta(days=DEFAULT_RETENTION_DAYS))._raw_delete(connection.alias)
    return deleted


def maintain(now: datetime | None = None) -> dict:
    """The daily job: partitions ahead, expired partitions dropped, shorter retentions trimmed."""
    now = now or timezone.now()
    horizon = horizon_days()
    return {"created": ensure_ahead(now), "dropped": drop_expired(now, horizon),
            "trimmed": trim_short_retention(now, horizon)}


def recent_since(days: int, now: datetime | None = None) -> datetime:
    """The lower bound readers put on created_at so PostgreSQL scans only the partitions it can fall in."""
    return (now or timezone.now()) - timedelta(days=days)

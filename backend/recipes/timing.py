"""When a step may run: its offset from the trigger, moved out of the shop's quiet hours (the shop's timezone)."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def shop_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def in_quiet_hours(moment: datetime, zone: ZoneInfo, start: int, end: int) -> bool:
    if start == end:
        return False
    hour = moment.astimezone(zone).hour
    return start <= hour < end if start < end else (hour >= start or hour < end)


def after_quiet_hours(moment: datetime, zone: ZoneInfo, start: int, end: int) -> datetime:
    """`moment` itself outside quiet hours, else the next time they end (in the shop's local time)."""
    if not in_quiet_hours(moment, zone, start, end):
        return moment
    local = moment.astimezone(zone)
    day = local.date() if local.hour < end else local.date() + timedelta(days=1)
    # A DST gap at `end` resolves forward through the zone (fold=0): still the first allowed moment.
    return datetime.combine(day, time(hour=end), tzinfo=zone).astimezone(moment.tzinfo)


def due_at(started_at: datetime, after_minutes: int, now: datetime | None = None) -> datetime:
    """The step's time from the trigger; a step already late (the run started in the past) runs now."""
    due = started_at + timedelta(minutes=after_minutes)
    return max(due, now) if now is not None else due

"""The events table's daily upkeep: partitions ahead, retention by dropping partitions (events/partitions.py)."""
from __future__ import annotations

from celery import shared_task

from . import partitions


@shared_task(name="backend.events.tasks.maintain_events", acks_late=True)
def maintain_events() -> dict:
    return partitions.maintain()

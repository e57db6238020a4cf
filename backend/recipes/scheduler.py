"""The beat's side of the engine: find due runs, lease them, hand them to workers in small batches.

A lease (not a broker countdown) marks a run as handed out: a worker that dies mid-step leaves a lapsed lease, and
the next beat hands the run out again. Runs whose step is days away cost nothing until then (an index on
(state, next_due_at)).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .models import Recipe, RecipeRun

RUN_LEASE = timedelta(minutes=10)
BATCH = 100
MAX_PER_BEAT = 50_000


def claim_due(now: datetime | None = None, limit: int = MAX_PER_BEAT) -> list[int]:
    """Lease up to `limit` due runs and return their ids (never one another beat or worker holds)."""
    now = now or timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    with transaction.atomic():
        due = RecipeRun.all_shops.filter(free, state=RecipeRun.State.ACTIVE, next_due_at__lte=now).order_by(
            "next_due_at")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        for i in range(0, len(ids), 5000):
            RecipeRun.all_shops.filter(free, pk__in=ids[i:i + 5000]).update(lease_until=now + RUN_LEASE)
    return ids


def dispatch_due(now: datetime | None = None, limit: int = MAX_PER_BEAT) -> int:
    """Hand every due run to the workers, BATCH at a time; returns how many."""
    from .tasks import run_steps

    ids = claim_due(now, limit)
    for i in range(0, len(ids), BATCH):
        run_steps.delay(ids[i:i + BATCH])
    return len(ids)


def scan_all(now: datetime | None = None) -> int:
    """Scanned triggers of every enabled recipe (days since the last order, segment entered/left, a date)."""
    from .triggers import scan

    started = 0
    for recipe in Recipe.all_shops.filter(enabled=True, trigger__in=[
            Recipe.Trigger.DAYS_SINCE_LAST_ORDER, Recipe.Trigger.SEGMENT_ENTERED, Recipe.Trigger.SEGMENT_LEFT,
            Recipe.Trigger.DATE_PROPERTY]):
        started += scan(recipe, now)
    return started

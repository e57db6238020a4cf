"""Celery tasks for ad audiences: thin, each loads ids and calls a function tested on its own.

Beat runs `run_due_audiences` every five minutes; each audience is due at its own `next_run_at` (its refresh
interval, hourly by default, or sooner when a recency member's time is up), the way recipes keep `next_due_at`
rows rather than long broker countdowns. A segment changed in bulk makes its audiences due at once.
"""
from __future__ import annotations

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from .models import Audience, AudienceRun, SentMember

RETRY = {"autoretry_for": (ConnectionError,), "retry_backoff": 30, "retry_backoff_max": 600, "retry_jitter": True,
         "max_retries": 5}
BULK_CHANGE = 1  # any change from a whole-segment evaluation: the diff run costs little when few changed


@shared_task(acks_late=True, **RETRY)
def sync_audience_task(shop_id: int, audience_id: int, trigger: str = AudienceRun.Trigger.SCHEDULE) -> None:
    from .sync import AlreadyRunning, sync_audience

    audience = Audience.objects.for_shop(shop_id).select_related("connection").filter(pk=audience_id).first()
    if audience is None:
        return
    try:
        sync_audience(audience, trigger=trigger)
    except AlreadyRunning:
        return


@shared_task
def run_due_audiences() -> int:
    """Queue every active audience whose next run is due (new ones have none yet: due at once)."""
    from django.db.models import Q

    due = Audience.all_shops.filter(is_active=True).filter(
        Q(next_run_at__isnull=True) | Q(next_run_at__lte=timezone.now())).values_list("shop_id", "pk")
    n = 0
    for shop_id, pk in due:
        sync_audience_task.delay(shop_id, pk)
        n += 1
    return n


@shared_task(acks_late=True)
def purge_people(shop_id: int, profile_ids: list[int]) -> list[int]:
    """Redaction: remove these people from every audience that holds them, now. An audience whose destination
    failed keeps their ledger rows and is made due again at once: its next run removes them (they are no longer
    members: their contact data is gone), so the removal is retried by the schedule, not lost."""
    from .sync import AlreadyRunning, remove_people

    audience_ids = sorted(set(SentMember.objects.for_shop(shop_id).filter(profile_id__in=profile_ids)
                              .values_list("audience_id", flat=True)))
    failed = []
    for audience in Audience.objects.for_shop(shop_id).select_related("connection").filter(pk__in=audience_ids):
        try:
            run = remove_people(audience, profile_ids)
        except AlreadyRunning:
            failed.append(audience.pk)
            continue
        if run.status != AudienceRun.Status.DONE:
            failed.append(audience.pk)
    if failed:
        Audience.objects.for_shop(shop_id).filter(pk__in=failed).update(next_run_at=timezone.now())
    return failed


def on_memberships_changed(sender, shop_id: int, segment_id: int, entered: int, left: int,  # noqa: ANN001
                           **kwargs) -> None:
    """A segment changed in bulk: its audiences are due now, not at their next hourly run."""
    if entered + left < BULK_CHANGE:
        return
    ids = list(Audience.objects.for_shop(shop_id).filter(segment_id=segment_id, is_active=True)
               .values_list("pk", flat=True))
    if not ids:
        return
    Audience.objects.for_shop(shop_id).filter(pk__in=ids).update(next_run_at=timezone.now())
    for pk in ids:
        transaction.on_commit(lambda pk=pk: sync_audience_task.delay(shop_id, pk, AudienceRun.Trigger.BULK))

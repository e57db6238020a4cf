"""Sync, not dump: each run sends a destination only the difference between who should be there and who is.

Who is there is our ledger (`SentMember`), written batch by batch right after the destination accepted each batch.
So the first run sends everyone, a later run sends who joined and who left (a person whose hashed row changed, a new
email say, is removed with the old row and added with the new), and a run that fails half-way leaves the ledger
exactly at the last accepted batch: the next run resumes from there without resending what arrived.

Removals send back the very row we sent (stored hashed), which still works after a redaction erased the contact
data it came from. The audit log gets one entry per run with counts only, never identities.
"""
from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from backend.dashboard import audit

from . import membership
from .contacts import contacts_of
from .destinations.interface import MAX_BATCH, Batch, Destination, DestinationError, RemoteAudience
from .destinations.registry import destination_for
from .hashing import digest_of
from .models import Audience, AudienceRun, SentMember

logger = logging.getLogger("personalize.audiences")
LOCK_SECONDS = 30 * 60
RETRY_SOON = timedelta(minutes=5)
LEAVE_MARGIN = timedelta(seconds=1)  # run just after a member's time is up, not at the same instant


class AlreadyRunning(Exception):
    """Another run of this audience holds the lock; this one did nothing."""


def _canonical(row: object) -> str:
    return json.dumps(row, separators=(",", ":"), ensure_ascii=False)


def _chunks(values: list, size: int) -> Iterator[list]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


T = TypeVar("T")


def _session(items: Iterator[T]) -> Iterator[tuple[int, bool, T]]:
    """(1-based sequence number, is last, item) for the non-empty batches of one upload session, one batch ahead:
    a chunk whose people all turned out unsendable must not leave a gap in the sequence or a session never closed."""
    seq, pending = 0, None
    for item in items:
        if pending is not None:
            seq += 1
            yield seq, False, pending
        pending = item
    if pending is not None:
        yield seq + 1, True, pending


def remote_spec(audience: Audience) -> RemoteAudience:
    purpose = "exclude" if audience.purpose == Audience.Purpose.EXCLUDE else "target"
    retention = audience.days if audience.source == Audience.Source.RECENCY else 540
    return RemoteAudience(name=audience.name, description=f"{purpose} · synced by Personalize",
                          retention_days=retention)


def _desired(audience: Audience, destination: Destination, profile_ids: list[int],
             excluded: frozenset[int]) -> dict[int, int]:
    """profile id -> digest of the row the destination should hold for them (people it cannot match are left out)."""
    desired: dict[int, int] = {}
    for contact in contacts_of(audience.shop_id, [p for p in profile_ids if p not in excluded]):
        row = destination.row_for(contact)
        if row is not None:
            desired[contact.profile_id] = digest_of(_canonical(row))
    return desired


class _Run:
    """Bookkeeping of one run: progress is saved after every accepted batch, so a crash loses nothing."""

    def __init__(self, audience: Audience, trigger: str, now: datetime):
        previous = AudienceRun.objects.for_shop(audience.shop_id).filter(audience=audience).order_by(
            "-started_at", "-pk").first()
        self.row = AudienceRun.objects.create(
            shop_id=audience.shop_id, audience=audience, trigger=trigger, started_at=now,
            resumed=previous is not None and previous.status != AudienceRun.Status.DONE)

    def progress(self, **counts: int) -> None:
        for key, value in counts.items():
            setattr(self.row, key, getattr(self.row, key) + value)
        self.row.save(update_fields=["added", "removed", "batches"])


def _remove(audience: Audience, destination: Destination, profile_ids: list[int], run: _Run) -> None:
    total = len(profile_ids)
    if not total:
        return
    session_id = secrets.randbelow(2**62) + 1
    sent = SentMember.objects.for_shop(audience.shop_id)

    def batches() -> Iterator[list[tuple[int, str]]]:
        for chunk in _chunks(profile_ids, MAX_BATCH):
            rows = list(sent.filter(audience=audience, profile_id__in=chunk).values_list("profile_id", "row"))
            if rows:
                yield rows

    for seq, last, rows in _session(batches()):
        destination.remove(audience.remote_id, Batch(rows=[json.loads(r) for _, r in rows], session_id=session_id,
                                                     seq=seq, last=last, estimated_total=total))
        sent.filter(audience=audience, profile_id__in=[p for p, _ in rows]).delete()
        run.progress(removed=len(rows), batches=1)


def _add(audience: Audience, destination: Destination, profile_ids: list[int], run: _Run, now: datetime) -> None:
    total = len(profile_ids)
    if not total:
        return
    session_id = secrets.randbelow(2**62) + 1

    def batches() -> Iterator[tuple[list, list[SentMember]]]:
        for chunk in _chunks(profile_ids, MAX_BATCH):
            ledger, rows = [], []
            for contact in contacts_of(audience.shop_id, chunk):
                row = destination.row_for(contact)
                if row is None:  # lost their email between the two passes: nothing to send
                    continue
                text = _canonical(row)
                rows.append(row)
                ledger.append(SentMember(shop_id=audience.shop_id, audience=audience, profile_id=contact.profile_id,
                                         digest=digest_of(text), row=text, sent_at=now))
            if rows:
                yield rows, ledger

    for seq, last, (rows, ledger) in _session(batches()):
        destination.add(audience.remote_id, Batch(rows=rows, session_id=session_id, seq=seq, last=last,
                                                  estimated_total=total))
        with transaction.atomic():
            # A person whose row changed was removed above; one added by an overlapping purge is replaced.
            SentMember.objects.for_shop(audience.shop_id).filter(
                audience=audience, profile_id__in=[m.profile_id for m in ledger]).delete()
            SentMember.objects.bulk_create(ledger, batch_size=2000)
        run.progress(added=len(rows), batches=1)


def _finish(audience: Audience, run: _Run, destination: Destination | None, now: datetime, *,
            error: DestinationError | None, next_leave_at: datetime | None, members: int,
            reschedule: bool = True) -> None:
    row = run.row
    row.members = members
    row.finished_at = timezone.now()
    row.status = AudienceRun.Status.FAILED if error else AudienceRun.Status.DONE
    row.error = error.reason if error else ""
    row.save()
    audience.size = SentMember.objects.for_shop(audience.shop_id).filter(audience=audience).count()
    audience.last_run_at = now
    audience.last_result = Audience.Result.FAILED if error else Audience.Result.OK
    audience.last_error = error.reason[:255] if error else ""
    if error is None and destination is not None and audience.remote_id:
        audience.matched_size = destination.matched_size(audience.remote_id)
    due = now + (RETRY_SOON if error and error.retryable else timedelta(minutes=audience.refresh_minutes))
    if next_leave_at is not None and next_leave_at + LEAVE_MARGIN < due:
        due = next_leave_at + LEAVE_MARGIN
    if reschedule or audience.next_run_at is None or due < audience.next_run_at:
        audience.next_run_at = due
    audience.save(update_fields=["size", "last_run_at", "last_result", "last_error", "matched_size", "next_run_at",
                                 "remote_id"])
    audit.record(audience.shop_id, "system", "audience.synced", f"audience:{audience.pk}", None, {
        "status": row.status, "trigger": row.trigger, "members": members, "added": row.added,
        "removed": row.removed, "batches": row.batches, "size": audience.size, "resumed": row.resumed})
    log = logger.warning if error else logger.info
    log("audience sync shop=%s audience=%s status=%s added=%d removed=%d size=%d%s", audience.shop_id,
        audience.pk, row.status, row.added, row.removed, audience.size, f" error={error.reason}" if error else "")


class _Lock:
    """One run per audience at a time, across workers (the cache is shared: Redis, or the database)."""

    def __init__(self, audience_id: int):
        self.key = f"audiences:run:{audience_id}"

    def __enter__(self) -> None:
        if not cache.add(self.key, 1, LOCK_SECONDS):
            raise AlreadyRunning(self.key)

    def __exit__(self, *exc: object) -> None:
        cache.delete(self.key)


def sync_audience(audience: Audience, *, trigger: str = AudienceRun.Trigger.SCHEDULE, now: datetime | None = None,
                  destination: Destination | None = None) -> AudienceRun:
    """One run: bring the destination to who is in the audience at `now`. Errors are recorded, not raised."""
    now = now or timezone.now()
    with _Lock(audience.pk):
        run = _Run(audience, trigger, now)
        error: DestinationError | None = None
        current = membership.Membership([], None)
        try:
            destination = destination or destination_for(audience.connection)
            if not audience.remote_id:
                audience.remote_id = destination.create_audience(remote_spec(audience))
                Audience.objects.for_shop(audience.shop_id).filter(pk=audience.pk).update(remote_id=audience.remote_id)
            current = membership.current(audience, now) if audience.is_active else current
            desired = _desired(audience, destination, current.profile_ids, frozenset())
            sent = dict(SentMember.objects.for_shop(audience.shop_id).filter(audience=audience)
                        .values_list("profile_id", "digest"))
            leaving = sorted(p for p, d in sent.items() if desired.get(p) != d)
            joining = sorted(p for p, d in desired.items() if sent.get(p) != d)
            del sent, desired
            _remove(audience, destination, leaving, run)
            _add(audience, destination, joining, run, now)
        except DestinationError as exc:
            error = exc
        _finish(audience, run, destination, now, error=error, next_leave_at=current.next_leave_at,
                members=len(current.profile_ids))
        return run.row


def remove_people(audience: Audience, profile_ids: list[int], *, trigger: str = AudienceRun.Trigger.REDACTION,
                  destination: Destination | None = None) -> AudienceRun:
    """Take these people out of the destination now (GDPR redaction), without recomputing the audience."""
    now = timezone.now()
    with _Lock(audience.pk):
        run = _Run(audience, trigger, now)
        error = None
        try:
            destination = destination or destination_for(audience.connection)
            held = sorted(SentMember.objects.for_shop(audience.shop_id).filter(
                audience=audience, profile_id__in=profile_ids).values_list("profile_id", flat=True))
            _remove(audience, destination, held, run)
        except DestinationError as exc:
            error = exc
        _finish(audience, run, None, now, error=error, next_leave_at=None, members=audience.size, reschedule=False)
        return run.row

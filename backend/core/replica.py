"""Reads of the storefront's widget API from a PostgreSQL streaming replica, writes always on the primary.

Only code running inside `replica_reads` (the widget views) reads from the replica, and only while the replica's
lag stays within REPLICA_MAX_LAG_SECONDS; beyond it, or when the replica does not answer, reads go to the primary
until the next check. Everything else (admin, webhooks, tasks, and any read inside a transaction on the primary,
which must see its own writes) uses the primary. The lag is measured on the replica at most once a second per
process: while WAL is still waiting to be replayed, lag = now - the last replayed transaction's commit time; with
nothing waiting it is 0 (an idle primary sends nothing, which is not lag).
"""
from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger("personalize.replica")

REPLICA = "replica"
PRIMARY = "default"
CHECK_EVERY = 1.0  # seconds between lag measurements per process
# Tables a widget read may touch but that must stay on the primary: the shared cache and security counters are
# written and read back within moments, a replica's copy of them would be wrong.
PRIMARY_ONLY_APPS = frozenset({"core", "sessions", "auth", "contenttypes", "admin"})

_reading = ContextVar("replica_reads", default=False)
F = TypeVar("F", bound=Callable[..., Any])


def replica_reads(view: F) -> F:
    """Mark a read-only view (the widget API): its queries may be served by the replica."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _reading.set(True)
        try:
            return view(*args, **kwargs)
        finally:
            _reading.reset(token)

    return wrapper  # type: ignore[return-value]


class _LagProbe:
    """The replica's lag, measured at most once per CHECK_EVERY, shared by a process's threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.checked = 0.0
        self.ok = False
        self.lag: float | None = None

    def fresh_enough(self) -> bool:
        now = time.monotonic()
        if now - self.checked < CHECK_EVERY:
            return self.ok
        with self.lock:
            if now - self.checked >= CHECK_EVERY:
                self.lag = measure_lag()
                self.ok = self.lag is not None and self.lag <= settings.REPLICA_MAX_LAG_SECONDS
                self.checked = time.monotonic()
        return self.ok

    def forget(self) -> None:
        self.checked = 0.0


PROBE = _LagProbe()


def measure_lag() -> float | None:
    """Seconds the replica is behind, or None when it cannot tell (down, not a replica)."""
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
                "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END")
            in_recovery, lag = cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("replica unavailable, reading from the primary: %s", exc)
        connections[REPLICA].close()
        return None
    if not in_recovery:
        return None
    return float(lag) if lag is not None else 0.0


class ReplicaRouter:
    """DATABASE_ROUTERS entry, active when a "replica" database is configured (REPLICA_DATABASE_URL)."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        if not _reading.get() or REPLICA not in connections.settings:
            return None
        if model._meta.app_label in PRIMARY_ONLY_APPS or connections[PRIMARY].in_atomic_block:
            return None
        return REPLICA if PROBE.fresh_enough() else None

    def db_for_write(self, model: type, **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the same rows on both: a replica's object may point to a primary's

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db != REPLICA

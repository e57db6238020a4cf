"""What every destination offers the sync (Airbyte's destination shape: spec = the row format, check = matched size,
write = add/remove in batches), as plain types; Django models stay out of connectors."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from backend.audiences.contacts import Contact

MAX_BATCH = 10_000  # both Meta and Google take at most 10,000 people per request


class DestinationError(Exception):
    """A destination refused or failed a call. `retryable`: worth trying again later (rate limit, outage)."""

    def __init__(self, reason: str, *, retryable: bool = False, status: int | None = None):
        super().__init__(reason)
        self.reason = reason[:240]
        self.retryable = retryable
        self.status = status


@dataclass(frozen=True)
class RemoteAudience:
    """What a destination needs to know to create the audience on its side."""

    name: str
    description: str
    retention_days: int  # how long the platform keeps a member we never remove (Google's membership duration)


@dataclass(frozen=True)
class Batch:
    """One request's worth of rows within one upload session (Meta's session fields; Google ignores them)."""

    rows: list[list[str]]
    session_id: int
    seq: int  # 1-based
    last: bool
    estimated_total: int


class Destination(Protocol):
    platform: str

    def row_for(self, contact: Contact) -> list[list[str]] | list[str] | None:
        """The hashed row this destination receives for a person; None when it cannot match them."""

    def create_audience(self, spec: RemoteAudience) -> str:
        """Create the audience on the platform; returns its id there."""

    def add(self, remote_id: str, batch: Batch) -> None: ...

    def remove(self, remote_id: str, batch: Batch) -> None: ...

    def matched_size(self, remote_id: str) -> int | None:
        """The platform's own estimate of matched people, when it reports one."""

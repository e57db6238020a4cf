"""Deterministic variant assignment: the same visitor always lands in the same arm, on any server, without storage."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

BUCKETS = 10_000


@dataclass(frozen=True)
class Arm:
    key: str
    weight: float  # relative; weights need not sum to 1


def bucket(salt: str, visitor_id: str) -> int:
    """A stable bucket in [0, BUCKETS) from a hash of the experiment's salt and the visitor id."""
    digest = hashlib.sha256(f"{salt}:{visitor_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign(salt: str, visitor_id: str, arms: Sequence[Arm]) -> str:
    if not arms:
        raise ValueError("an experiment needs at least one arm")
    total = sum(max(a.weight, 0.0) for a in arms)
    if total <= 0:
        raise ValueError("arm weights must be positive")
    point = bucket(salt, visitor_id) / BUCKETS * total
    running = 0.0
    for arm in arms:
        running += max(arm.weight, 0.0)
        if point < running:
            return arm.key
    return arms[-1].key

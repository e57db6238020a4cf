"""Spreading each periodic job over its period: a shop's slot is a fixed hash of its id, so 2,000 shops enqueue
about 2,000/period tasks per minute instead of 2,000 at :00, and a shop always runs at the same offset."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta


def offset(shop_id: int) -> float:
    """Where in any period this shop runs, in [0, 1): stable across processes and releases."""
    digest = hashlib.blake2b(str(shop_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def window(now: datetime, tick: timedelta, period: timedelta) -> list[tuple[float, float]]:
    """The offsets whose slot fell in (now - tick, now], as one or two [low, high) ranges (a wrap at the period's
    start splits it). A tick longer than the period covers everything."""
    if tick >= period:
        return [(0.0, 1.0)]
    p = period.total_seconds()
    end = (now.timestamp() % p) / p
    start = end - tick.total_seconds() / p
    if start >= 0:
        return [(start, end)]
    return [(start + 1.0, 1.0), (0.0, end)]

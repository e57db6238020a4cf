"""Counters every process shares, in the database: `hit` counts one more in a window, atomically, whatever the number
of gunicorn workers or machines. For security state (spent one-time links, failed sign-ins): a cache may evict a key
when it fills up, and an attacker who can fill it could then replay a link or guess on."""
from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .models import Counter

MAX_KEY = 200


def hit(key: str, ttl: int) -> int:
    """Count one more under `key` and return the count, in a window that opens at the first hit and lasts `ttl`
    seconds. Two processes hitting at once get different numbers: the UPDATE holds the row until commit."""
    key = key[:MAX_KEY]
    for _ in range(3):
        now = timezone.now()
        with transaction.atomic():
            if Counter.objects.filter(key=key, expires_at__gt=now).update(count=F("count") + 1):
                return Counter.objects.filter(key=key).values_list("count", flat=True).get()
        try:
            with transaction.atomic():
                # Opening a window is rare (one per link or per address and user): sweep every closed one then.
                Counter.objects.filter(expires_at__lte=now).delete()
                Counter.objects.create(key=key, count=1, expires_at=now + timedelta(seconds=ttl))
            return 1
        except IntegrityError:
            continue  # another process opened it first: count on theirs
    raise RuntimeError(f"counter {key!r} kept changing under us")


def first_use(key: str, ttl: int) -> bool:
    """True only for the first caller within `ttl` seconds, in any process: a one-time thing is spent."""
    return hit(key, ttl) == 1


def reset(key: str) -> None:
    Counter.objects.filter(key=key[:MAX_KEY]).delete()

"""State every process must share, in the database. (The shared cache's table, core_cache, is created by this app's
first migration but is no model: only the cache backend reads or writes it.)"""
from __future__ import annotations

from django.db import models


class Counter(models.Model):
    """A count in a window, for security state that must be neither per worker nor evicted by a full cache: spent
    one-time sign-in links, failed sign-ins. Spans shops on purpose: keys name what they count. See counters.py."""

    key = models.CharField(max_length=200, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

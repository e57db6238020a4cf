"""State every process must share, in the database: the cache's table (when there is no Redis) and counters."""
from __future__ import annotations

from django.db import models


class CacheEntry(models.Model):
    """The table of the shared database cache (settings.CACHES without REDIS_URL), declared as a model so that
    `migrate` creates it wherever the app runs. Only the cache backend reads or writes it."""

    cache_key = models.CharField(max_length=255, primary_key=True)
    value = models.TextField()
    expires = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "core_cache"


class Counter(models.Model):
    """A count in a window, for security state that must be neither per worker nor evicted by a full cache: spent
    one-time sign-in links, failed sign-ins. Spans shops on purpose: keys name what they count. See counters.py."""

    key = models.CharField(max_length=200, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

"""Per shop: what happened since each periodic job last ran for it, and when reconciliation is next due."""
from __future__ import annotations

from django.db import models

from backend.core.scoping import ShopScoped

RECONCILE_BASE_SECONDS = 15 * 60


class ShopUpkeep(ShopScoped):
    """One row per installed shop (created by the scheduler). The marks are written by the hot paths at most once a
    minute per shop for events, once per batch for orders; the jobs compare them with their own last run."""

    # Where in every period this shop's jobs run, in [0, 1): a hash of the shop id (backend.upkeep.spread).
    spread = models.FloatField(default=0)
    activity_at = models.DateTimeField(null=True, blank=True)  # newest stored event or recorded order
    orders_at = models.DateTimeField(null=True, blank=True)  # newest recorded order
    orders_since_refit = models.IntegerField(default=0)
    # Orders or customers written in bulk (no post_save) wait for the segments' catch-up since this moment.
    catch_up_since = models.DateTimeField(null=True, blank=True)
    rollup_at = models.DateTimeField(null=True, blank=True)
    refit_at = models.DateTimeField(null=True, blank=True)
    recommend_at = models.DateTimeField(null=True, blank=True)
    reconcile_at = models.DateTimeField(null=True, blank=True)
    reconcile_next_at = models.DateTimeField(null=True, blank=True)
    reconcile_interval = models.IntegerField(default=RECONCILE_BASE_SECONDS)  # seconds
    reconcile_applied = models.IntegerField(null=True, blank=True)  # records the last pass found missing

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop"], name="shop_upkeep_once")]
        indexes = [
            models.Index(fields=["reconcile_next_at", "shop"], name="upkeep_reconcile_due"),
            models.Index(fields=["spread", "shop"], name="upkeep_spread"),
        ]


class JobCursor(models.Model):
    """Where a cross-shop sweep resumes (e.g. the newest order id it has counted). Global on purpose: one row per
    sweep, not per shop (listed as such in tests/core/test_shop_partitioning.py)."""

    name = models.CharField(max_length=40, unique=True)
    value = models.BigIntegerField(default=0)

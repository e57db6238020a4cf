"""Segments (rule trees over profiles), who is in them, when they entered or left, and each shop's CLV fit."""
from __future__ import annotations

from django.db import models
from django.utils import timezone

from backend.core.scoping import ShopScoped


class SegmentSettings(ShopScoped):
    """Per-shop knobs for derived attributes (one row per shop, created on first use)."""

    cart_abandon_window_hours = models.PositiveIntegerField(default=24)
    viewed_window_days = models.PositiveIntegerField(default=30)
    vip_top_percent = models.PositiveIntegerField(default=10)
    # Where the catch-up resumes: orders and customers written in bulk (no post_save) after these reach profiles.
    order_cursor_pk = models.BigIntegerField(null=True, blank=True)
    order_cursor_updated_at = models.DateTimeField(null=True, blank=True)
    customer_cursor_pk = models.BigIntegerField(null=True, blank=True)
    customer_cursor_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop"], name="segment_settings_once")]


class Segment(ShopScoped):
    slug = models.SlugField(max_length=80)
    name = models.CharField(max_length=120)
    rules = models.JSONField(default=dict)
    preset = models.CharField(max_length=40, blank=True)  # presets.PRESETS key, blank for a merchant's own
    is_active = models.BooleanField(default=True)
    member_count = models.IntegerField(default=0)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "slug"], name="segment_slug_once")]

    def __str__(self) -> str:
        return self.name

    @property
    def key(self) -> str:
        return f"segment:{self.slug}"


class SegmentMembership(ShopScoped):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    profile = models.ForeignKey("customers.CustomerProfile", on_delete=models.CASCADE, related_name="memberships")
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "segment", "profile"], name="segment_membership_once")]
        indexes = [models.Index(fields=["shop", "profile"])]


class SegmentMembershipChange(ShopScoped):
    """Entered/left events, the feed later automation (emails, popups) reads."""

    class Change(models.TextChoices):
        ENTERED = "entered", "Entered"
        LEFT = "left", "Left"

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="changes")
    profile = models.ForeignKey("customers.CustomerProfile", on_delete=models.CASCADE, related_name="+")
    change = models.CharField(max_length=10, choices=Change.choices)
    at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=20, blank=True)  # realtime | full_pass

    class Meta:
        indexes = [models.Index(fields=["shop", "segment", "-at"]), models.Index(fields=["shop", "profile", "-at"])]


class ClvFit(ShopScoped):
    """One fit of the shop's lifetime-value model; the newest one scores profiles."""

    class Method(models.TextChoices):
        MODEL = "bgnbd_gg", "BG/NBD + Gamma-Gamma"
        GBM = "gbm", "Gradient boosting on the shop's earlier periods"
        NAIVE = "naive", "Past spend per day"
        LAST_PERIOD = "last_period", "Last period's spend"
        RFM = "rfm", "RFM fallback"

    method = models.CharField(max_length=20, choices=Method.choices)
    reason = models.CharField(max_length=255, blank=True)  # why the fallback, in plain words (en)
    reason_es = models.CharField(max_length=255, blank=True)
    bgnbd_params = models.JSONField(default=dict, blank=True)
    gamma_gamma_params = models.JSONField(default=dict, blank=True)
    # RFM quintile breakpoints (recency days, frequency, monetary) so one profile scores without the shop.
    rfm_breaks = models.JSONField(default=dict, blank=True)
    # expected_value_365 cut-offs for value tiers, for the same reason.
    value_breaks = models.JSONField(default=list, blank=True)
    n_customers = models.IntegerField(default=0)
    n_repeat = models.IntegerField(default=0)
    log_likelihood = models.FloatField(null=True, blank=True)
    # The backtest that chose `method` (backend.predictions); null for RFM fits that had nothing to test.
    backtest = models.ForeignKey("predictions.Backtest", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    # The gradient-boosted model, signed (predictions.model_store), so one profile is scored without refitting.
    model_state = models.BinaryField(null=True, blank=True)
    # Median days between a repeat customer's orders: shown next to "days since last order" when P(alive) is not.
    typical_gap_days = models.FloatField(null=True, blank=True)
    seconds = models.FloatField(default=0)
    fitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["shop", "-fitted_at"])]

"""A/B(/n) experiments on a widget or popup, and the visitors actually exposed to each arm."""
from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from backend.core.scoping import ShopScoped


def _salt() -> str:
    return secrets.token_hex(8)


class Experiment(ShopScoped):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"

    class Metric(models.TextChoices):
        CONVERSION = "conversion", "Conversion rate"
        REVENUE = "revenue_per_visitor", "Revenue per visitor"

    name = models.CharField(max_length=200)
    target_kind = models.CharField(max_length=20, default="widget")  # widget | popup
    target_key = models.CharField(max_length=100)  # e.g. "also_bought" or a popup campaign id
    # [{"key": "control", "weight": 1, "config": {...}}, ...]; "config" overrides the target's settings for that arm,
    # e.g. {"algorithm": "cosine"} or {"enabled": false} for a holdout.
    arms = models.JSONField(default=list)
    primary_metric = models.CharField(max_length=30, choices=Metric.choices, default=Metric.CONVERSION)
    alpha = models.FloatField(default=0.05)
    planned_visitors_per_arm = models.PositiveIntegerField(default=5_000)
    salt = models.CharField(max_length=32, default=_salt)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    winner = models.CharField(max_length=50, blank=True)
    # The always-valid p-value per arm at the last read: it may only fall, so each read continues from here.
    last_p_values = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Results count only visitors first exposed from this moment (null: from the start). Set once, by migration
    # 0003, on popup experiments whose hold-out was counted at page load before the "would have shown" rule.
    counts_from = models.DateTimeField(null=True, blank=True)


class Exposure(ShopScoped):
    """Logged only when the arm was actually shown to the visitor (a widget impression or popup shown), or for a
    popup's hold-out, when the popup would have appeared (the storefront's "would have shown" report)."""

    class Source(models.TextChoices):
        SHOWN = "shown", "Shown"  # a widget impression or a popup shown
        WOULD_SHOW = "would_show", "Would have shown"  # a popup hold-out at the moment its trigger fired
        PAGE_LOAD = "page_load", "Page load (old rule)"  # a popup hold-out before the cut-over: not counted

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="exposures")
    arm = models.CharField(max_length=50)
    visitor_id = models.CharField(max_length=64)
    first_exposed_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.SHOWN)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "experiment", "visitor_id"], name="exposure_once")]
        indexes = [models.Index(fields=["experiment", "arm"])]

"""Stored backtests: for one shop and one kind of prediction, how every candidate did on the shop's own most recent
window, and which one was chosen. The merchant sees it in plain words; later fits read `chosen`."""
from __future__ import annotations

from django.db import models
from django.utils import timezone

from backend.core.scoping import ShopScoped


class Backtest(ShopScoped):
    class Kind(models.TextChoices):
        CLV = "clv", "Customer lifetime value"
        ALSO_BOUGHT = "also_bought", "Also bought"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    cut = models.DateField()  # last day the candidates saw
    end = models.DateField()  # last day of the held-out window
    n_customers = models.IntegerField(default=0)
    # {candidate: {spearman, capture, total_error, predicted_total, actual_total, predicted_top, actual_top,
    #  seconds}} or {candidate: {unusable, unusable_es}} when it could not take part.
    metrics = models.JSONField(default=dict)
    chosen = models.CharField(max_length=20)
    reason = models.CharField(max_length=500, blank=True)  # why this one, in plain words (en)
    reason_es = models.CharField(max_length=500, blank=True)
    seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["shop", "kind", "-created_at"])]

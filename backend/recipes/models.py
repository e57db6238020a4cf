"""Recipes (trigger → conditions → timed steps) and each person's run of one, a row with its next due time.

A run never waits inside Celery: `next_due_at` is what the beat job (scheduler.dispatch_due) scans, so a broker
re-delivery, a worker restart or a deploy can only make a step run again, never lose it. Steps are safe to run
again: an email step claims its unique send record first (backend/emails/sending.py).
"""
from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone

from backend.core.scoping import ShopScoped


def _secret() -> str:
    return secrets.token_urlsafe(32)


class RecipeSettings(ShopScoped):
    """Shop-wide rules every recipe obeys (one row per shop, created on first use)."""

    quiet_start_hour = models.PositiveSmallIntegerField(default=21)  # shop's local time; start == end: none
    quiet_end_hour = models.PositiveSmallIntegerField(default=8)
    cap_emails = models.PositiveSmallIntegerField(default=2)  # most recipe emails to one person ...
    cap_hours = models.PositiveIntegerField(default=24)  # ... within this many hours, across all recipes
    attribution_days = models.PositiveSmallIntegerField(default=5)  # an order this long after a click counts
    from_email = models.CharField(max_length=320, blank=True)  # blank: settings.DEFAULT_FROM_EMAIL
    test_email = models.CharField(max_length=320, blank=True)  # where "send a test" goes

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop"], name="recipe_settings_once")]


class Recipe(ShopScoped):
    class Trigger(models.TextChoices):
        CART_ABANDONED = "cart_abandoned", "Cart abandoned"
        BROWSE_ABANDONED = "browse_abandoned", "Browse abandoned"
        ORDER_PLACED = "order_placed", "Order placed"
        DAYS_SINCE_LAST_ORDER = "days_since_last_order", "Days since last order"
        SEGMENT_ENTERED = "segment_entered", "Segment entered"
        SEGMENT_LEFT = "segment_left", "Segment left"
        DATE_PROPERTY = "date_property", "Date property"

    key = models.SlugField(max_length=60)  # the preset's key, or the merchant's own
    name = models.CharField(max_length=120)
    trigger = models.CharField(max_length=30, choices=Trigger.choices)
    # Trigger settings: days_since_last_order {"days": 60}; segment_entered / segment_left {"segment": "<slug>"};
    # date_property {"property": "first_order_at", "offset_days": -7, "yearly": true} (triggers.date_property_ids).
    trigger_config = models.JSONField(default=dict, blank=True)
    conditions = models.JSONField(default=dict, blank=True)  # a segment rule tree; {} = everyone
    # Checked before every step: "ordered" (an order since the run began), "carted" (added to cart since).
    exit_when = models.JSONField(default=list, blank=True)
    # [{"after_minutes": 60, "action": "email", "template": "cart", "code": {...}}] or
    # {"after_minutes": 0, "action": "webhook", "url": "https://..."} or {..., "action": "tag", "tag": "vip",
    # "mode": "add"} (tagging.py); times from the trigger.
    steps = models.JSONField(default=list)
    cooldown_hours = models.PositiveIntegerField(default=24 * 7)  # no new run sooner after the last one began
    webhook_secret = models.CharField(max_length=64, default=_secret)  # signs "call my URL" steps (webhooks.py)
    enabled = models.BooleanField(default=False)
    enabled_at = models.DateTimeField(null=True, blank=True)
    scan_cursor = models.DateTimeField(null=True, blank=True)  # scanned triggers resume here
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "key"], name="recipe_key_once")]
        indexes = [models.Index(fields=["shop", "trigger", "enabled"])]

    def __str__(self) -> str:
        return self.name


class RecipeRun(ShopScoped):
    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        DONE = "done", "Done"
        EXITED = "exited", "Exited"

    recipe = models.ForeignKey(Recipe, on_delete=models.CASCADE, related_name="runs")
    profile = models.ForeignKey("customers.CustomerProfile", on_delete=models.CASCADE, related_name="+")
    # What started it ("order:123", "lapse:2026-01-01T…", "cart:…"): the same trigger never starts two runs.
    trigger_key = models.CharField(max_length=100)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    step = models.PositiveSmallIntegerField(default=0)  # the next step to run
    started_at = models.DateTimeField(default=timezone.now)
    next_due_at = models.DateTimeField(null=True, blank=True)
    # Handed to a worker until then; a worker that died leaves it to the next beat after this passes.
    lease_until = models.DateTimeField(null=True, blank=True)
    context = models.JSONField(default=dict, blank=True)  # {"products": [pk...], "order": pk}
    exit_reason = models.CharField(max_length=40, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "recipe", "profile", "trigger_key"],
                                    name="recipe_run_trigger_once"),
            models.UniqueConstraint(fields=["shop", "recipe", "profile"], condition=Q(state="active"),
                                    name="recipe_run_one_active"),
        ]
        indexes = [
            models.Index(fields=["state", "next_due_at"], name="recipe_run_due"),
            models.Index(fields=["recipe", "profile", "-started_at"], name="recipe_run_latest"),
        ]


class TagWrite(ShopScoped):
    """One tag step of one run on the platform (add or remove a customer tag): what was asked, how it went.

    The row is the step's record and its guard: a step that is done or failed is never sent again, whatever
    re-delivers the run; one still going carries its attempts, so back-off survives a worker restart. Holds no
    personal data (the customer is looked up at each attempt, so a redacted one is not tagged later)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"  # the platform failed; tried again with back-off
        WAITING_SCOPE = "waiting_scope", "Waiting for permission"  # the shop has not granted the write scope
        DONE = "done", "Done"
        FAILED = "failed", "Failed"  # given up, with the reason
        SKIPPED = "skipped", "Skipped"  # nobody to tag on the platform (a visitor, a guest, a redacted customer)

    recipe = models.ForeignKey(Recipe, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(RecipeRun, on_delete=models.CASCADE, related_name="+")
    step = models.PositiveSmallIntegerField()
    tag = models.CharField(max_length=255)
    mode = models.CharField(max_length=6)  # add | remove
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    waiting_since = models.DateTimeField(null=True, blank=True)  # first found without the scope
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "run", "step"], name="tag_write_once")]
        indexes = [models.Index(fields=["recipe", "status"], name="tag_write_by_recipe")]

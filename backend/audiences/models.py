"""Ad audiences: who (a segment or a recency rule), where (a connected ad account), what was sent, and each run.

`SentMember` is the destination's side of the ledger: one row per person the destination holds, with the hashed
row we sent (needed to remove them again after their contact data is gone) and a digest to notice a changed row.
A run sends the difference between who should be there now and these rows, writing them batch by batch, so a run
that stops half-way is resumed by the next one from exactly where the destination is.
"""
from __future__ import annotations

from django.db import models
from django.utils import timezone

from backend.core.scoping import ShopScoped
from backend.shops.crypto import EncryptedTextField


class Platform(models.TextChoices):
    META = "meta", "Meta"
    GOOGLE = "google", "Google"


class AdConnection(ShopScoped):
    """One ad account of the shop, with its token encrypted at rest like the shop's platform token."""

    platform = models.CharField(max_length=10, choices=Platform.choices)
    # Meta: the ad account id ("act_123"); Google: the Google Ads customer id the audiences live in.
    account_id = models.CharField(max_length=64)
    # Google only: the manager account the token signs in as, when it is not the operating account.
    login_account_id = models.CharField(max_length=64, blank=True)
    access_token = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "platform"], name="ad_connection_once")]

    def __str__(self) -> str:
        return f"{self.platform}:{self.account_id}"


class Audience(ShopScoped):
    class Source(models.TextChoices):
        SEGMENT = "segment", "Segment"
        RECENCY = "recency", "Recency rule"
        RECIPES = "recipes", "Fed by automations"  # who the recipes' audience steps added (RecipeMember)

    class Activity(models.TextChoices):
        PRODUCT_VIEWED = "product_viewed", "Viewed a product"
        COLLECTION_VIEWED = "collection_viewed", "Viewed a collection"
        ADDED_TO_CART = "added_to_cart", "Added to cart"

    class Purpose(models.TextChoices):
        TARGET = "target", "Target"
        EXCLUDE = "exclude", "Exclude"

    class Result(models.TextChoices):
        NEVER = "", "Never run"
        OK = "ok", "OK"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=120)
    preset = models.CharField(max_length=40, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    segment = models.ForeignKey("segments.Segment", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Recency: did `activity` in the last `days` days and ordered nothing since (buyers: see `bought_within`).
    activity = models.CharField(max_length=20, choices=Activity.choices, blank=True)
    days = models.PositiveSmallIntegerField(default=7)
    # Optional narrowing: only this product / collection (our pk), None = any.
    product_id = models.BigIntegerField(null=True, blank=True)
    collection_id = models.BigIntegerField(null=True, blank=True)
    # "Recent buyers": ordered in the last `days` days (activity is then blank).
    buyers = models.BooleanField(default=False)
    purpose = models.CharField(max_length=10, choices=Purpose.choices, default=Purpose.TARGET)
    connection = models.ForeignKey(AdConnection, on_delete=models.PROTECT, related_name="audiences")
    # The platform's id for it (Meta custom audience id, Google user list id), set by the first run.
    remote_id = models.CharField(max_length=64, blank=True)
    refresh_minutes = models.PositiveIntegerField(default=60)
    is_active = models.BooleanField(default=True)
    # When the next run is due: the refresh interval, or sooner when a recency member's time runs out.
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    size = models.IntegerField(default=0)  # people the destination holds from us
    matched_size = models.IntegerField(null=True, blank=True)  # as the platform reports it (None: not reported)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=10, choices=Result.choices, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class SentMember(ShopScoped):
    """A person the destination holds because of this audience, and exactly what we sent for them."""

    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="sent")
    profile_id = models.BigIntegerField()  # not a foreign key: the row must outlive a deleted profile to remove it
    digest = models.BigIntegerField()  # first 8 bytes of SHA-256 over the hashed row
    row = models.TextField()  # the hashed row as sent (JSON list), what a removal sends back
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "audience", "profile_id"], name="sent_member_once")]


class AudienceRun(ShopScoped):
    """One sync of one audience: counts only, never who."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        BULK = "bulk", "Segment changed in bulk"
        MANUAL = "manual", "Merchant"
        REDACTION = "redaction", "Customer redaction"

    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.SCHEDULE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    resumed = models.BooleanField(default=False)  # the previous run failed: this one picks up where it stopped
    members = models.IntegerField(default=0)
    added = models.IntegerField(default=0)
    removed = models.IntegerField(default=0)
    batches = models.IntegerField(default=0)
    error = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "audience", "-started_at"])]


class RecipeMember(ShopScoped):
    """A person an automation's step put in a "fed by automations" audience (another step may take them out).

    The next sync sends the audience the difference, as for any source; consent is checked again there."""

    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="recipe_members")
    profile_id = models.BigIntegerField()
    recipe_id = models.BigIntegerField(null=True, blank=True)  # which recipe added them (for the merchant's reading)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "audience", "profile_id"], name="recipe_member_once")]

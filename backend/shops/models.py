"""A Shop is one merchant's store on one platform: the tenant every other row belongs to."""
from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from backend.core.scoping import ShopScoped

from .crypto import EncryptedTextField


def _public_key() -> str:
    return "pk_" + secrets.token_urlsafe(18)


class Shop(models.Model):
    class Platform(models.TextChoices):
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        INSTALLED = "installed", "Installed"
        UNINSTALLED = "uninstalled", "Uninstalled"

    platform = models.CharField(max_length=20, choices=Platform.choices)
    domain = models.CharField(max_length=255)
    name = models.CharField(max_length=255, blank=True)
    access_token = EncryptedTextField(blank=True, default="")
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token = EncryptedTextField(blank=True, default="")
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=1000, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    installed_at = models.DateTimeField(null=True, blank=True)
    uninstalled_at = models.DateTimeField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    locale = models.CharField(max_length=10, default="en")
    timezone = models.CharField(max_length=64, default="UTC")
    # Identifies the shop to the storefront script on origins other than the platform's app proxy.
    public_key = models.CharField(max_length=40, unique=True, default=_public_key)
    # Where incremental reconciliation resumes: the newest platform updated_at we have applied, per resource.
    reconcile_cursors = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "domain"], name="shop_platform_domain")]

    def __str__(self) -> str:
        return f"{self.platform}:{self.domain}"

    @property
    def is_active(self) -> bool:
        return self.state == self.State.INSTALLED

    def mark_installed(self) -> None:
        self.state = self.State.INSTALLED
        self.installed_at = timezone.now()
        self.uninstalled_at = None

    def revoke(self) -> None:
        """Forget credentials and stop work; the data stays until the platform asks for redaction."""
        self.access_token = ""
        self.refresh_token = ""
        self.access_token_expires_at = None
        self.refresh_token_expires_at = None
        self.state = self.State.UNINSTALLED
        self.uninstalled_at = timezone.now()


class SyncRun(ShopScoped):
    """One full or incremental sync of a shop: its progress is what the admin and `sync_shop` display."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=20, default="full")  # full | incremental
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    # Per resource (products, customers, orders): {"state": ..., "bulk_id": ..., "url": ..., "lines_done": n, ...}
    stages = models.JSONField(default=dict, blank=True)
    rows_done = models.BigIntegerField(default=0)
    rows_total = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "-started_at"])]

    @property
    def percent(self) -> int:
        """How far the run is, from its checkpoints (capped at 99 until it is done).

        WooCommerce counts every resource before the first page, so rows done of rows total is the truth. Shopify
        learns a stage's size only when its bulk query finishes (rows_total grows stage by stage, and rows done of
        what is known so far read 99 % after the collections): there each stage counts the same and the stage being
        applied counts by its lines applied of the lines its result holds.
        """
        if self.status == self.Status.DONE:
            return 100
        stages = [s for s in (self.stages or {}).values() if isinstance(s, dict)]
        if stages and not all(isinstance(s.get("total"), int) for s in stages):
            return min(99, int(100 * sum(_stage_fraction(s) for s in stages) / len(stages)))
        if not self.rows_total:
            return 0
        return min(99, int(100 * self.rows_done / self.rows_total))

    @property
    def current_stage(self) -> str:
        """The first stage not done yet ("products", "orders"…), "" when none is left or none is recorded.

        In the order the syncs run them, not the stored order: PostgreSQL's jsonb keeps keys sorted by length, so
        "orders" would come before "products"."""
        stages = self.stages or {}
        for name in sorted(stages, key=lambda n: SYNC_STAGE_ORDER.index(n) if n in SYNC_STAGE_ORDER else 99):
            state = stages[name]
            if isinstance(state, dict) and state.get("state") != "done":
                return str(name)
        return ""


# Both platforms' syncs run their stages in this order (integrations/*/sync.py STAGES).
SYNC_STAGE_ORDER = ("collections", "categories", "products", "customers", "orders")


def _stage_fraction(state: dict) -> float:
    if state.get("state") == "done":
        return 1.0
    objects, lines = state.get("objects"), state.get("lines_done")
    if isinstance(objects, int) and objects > 0 and isinstance(lines, int):
        return max(0.0, min(1.0, lines / objects))
    return 0.0


class WebhookDelivery(ShopScoped):
    """Every accepted platform webhook, keyed by the platform's event id so a redelivery is applied once."""

    platform = models.CharField(max_length=20)
    event_id = models.CharField(max_length=255)
    webhook_id = models.CharField(max_length=255, blank=True)
    topic = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # The parsed body, kept until processed so a queued job survives a broker or worker crash (the queue message
    # carries only the id); cleared once applied, so the customer PII in it does not outlive its use.
    payload = models.JSONField(null=True, blank=True)
    api_version = models.CharField(max_length=20, blank=True)
    triggered_at = models.DateTimeField(null=True, blank=True)
    # True when processing gave up for good (malformed payload): not retried, kept for a human to look at.
    failed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "platform", "event_id"], name="webhook_event_once"),
        ]
        indexes = [models.Index(fields=["processed_at", "received_at"], name="webhook_pending")]


class CustomerDataExport(ShopScoped):
    """A customer's data, gathered for the merchant when the platform relays the customer's access request (GDPR).

    Kept as a row rather than a file so `shop/redact` removes it with every other row of the shop and
    `customers/redact` can find and delete it.
    """

    request_id = models.CharField(max_length=255)
    customer_platform_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "request_id"], name="customer_export_once")]


"""Exit-intent campaigns, the discount codes they hand out, and the email consents they collect.

A campaign's offer rules, copy and cap live in JSON validated by `campaigns.validate_campaign` (one place that
knows their shape); the storefront never writes a campaign.
"""
from __future__ import annotations

from django.db import models
from django.utils import timezone

from backend.core.scoping import ShopScoped

DEFAULT_CODES_PER_DAY = 200
DEFAULT_CODES_PER_IP_PER_DAY = 5


class Campaign(ShopScoped):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    class Cap(models.TextChoices):
        SESSION = "session", "Once per session"
        DAYS = "days", "Once per N days"

    class CodeMode(models.TextChoices):
        UNIQUE = "unique", "Unique single-use codes"
        SHARED = "shared", "One shared code"

    name = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    priority = models.IntegerField(default=0)  # higher first when several campaigns match a shopper
    include_segments = models.JSONField(default=list, blank=True)  # segment keys; empty = everyone
    exclude_segments = models.JSONField(default=list, blank=True)
    # Trigger
    min_seconds = models.PositiveIntegerField(default=5)
    mobile_enabled = models.BooleanField(default=True)
    # Offers: ordered [{"when": "<segment key>", "kind": "free_shipping"|"percent", "value": n}], first match wins.
    offer_rules = models.JSONField(default=list, blank=True)
    default_offer = models.JSONField(default=dict, blank=True)  # {} = no popup for shoppers no rule matched
    # Copy per locale: {"en": {"headline", "body", "cta", "consent"}, "es": {...}}.
    copy = models.JSONField(default=dict)
    email_capture = models.BooleanField(default=False)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    cap = models.CharField(max_length=10, choices=Cap.choices, default=Cap.SESSION)
    cap_days = models.PositiveIntegerField(default=7)
    suppress_converted_days = models.PositiveIntegerField(default=30)
    require_cart = models.BooleanField(default=False)
    code_mode = models.CharField(max_length=10, choices=CodeMode.choices, default=CodeMode.UNIQUE)
    shared_code = models.CharField(max_length=64, blank=True)
    code_ttl_hours = models.PositiveIntegerField(default=72)
    pool_size = models.PositiveIntegerField(default=10)
    # Budgets (UTC days): codes claimed per day, which also caps the codes created on the platform per day, and
    # codes claimed per shopper address per day. A visitor gets at most one code per campaign (Claim).
    codes_per_day = models.PositiveIntegerField(default=DEFAULT_CODES_PER_DAY)
    codes_per_ip_per_day = models.PositiveIntegerField(default=DEFAULT_CODES_PER_IP_PER_DAY)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "status"])]

    def __str__(self) -> str:
        return self.name

    @property
    def widget(self) -> str:
        """How the storefront names this campaign in events (Event.widget)."""
        return f"popup:{self.pk}"


class DiscountCode(ShopScoped):
    """One code created on the platform ahead of time; reserved for one visitor, then used by an order."""

    class Status(models.TextChoices):
        AVAILABLE = "available", "Available"
        RESERVED = "reserved", "Reserved"
        USED = "used", "Used"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="codes")
    kind = models.CharField(max_length=20)  # offers.FREE_SHIPPING | offers.PERCENT
    value = models.DecimalField(max_digits=6, decimal_places=2, default=0)
    code = models.CharField(max_length=64)
    platform_id = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.AVAILABLE)
    visitor_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    reserved_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "code"], name="popup_code_once")]
        indexes = [
            models.Index(fields=["shop", "campaign", "kind", "value", "status"], name="popup_code_pool"),
            models.Index(fields=["shop", "visitor_id"], name="popup_code_visitor"),
        ]


class Claim(ShopScoped):
    """A unique code handed to one visitor when the popup was shown: one per visitor per campaign, ever."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="claims")
    visitor_id = models.CharField(max_length=64)
    code = models.ForeignKey(DiscountCode, on_delete=models.CASCADE, related_name="+")
    ip_hash = models.CharField(max_length=16, blank=True)  # which address claimed it, not the address itself
    claimed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "campaign", "visitor_id"], name="popup_claim_once")]


class Budget(ShopScoped):
    """What one campaign spent of a daily budget (scope: "claims", "created", or "ip:<hash>").

    Spent with a conditional UPDATE (`used < limit`), so workers in any number of processes can't overspend it.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    scope = models.CharField(max_length=24)
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "campaign", "day", "scope"], name="popup_budget_once")]
        indexes = [models.Index(fields=["day"], name="popup_budget_day")]


class Consent(ShopScoped):
    """An email given in a popup with explicit consent: the exact text the shopper agreed to, and when."""

    campaign = models.ForeignKey(Campaign, null=True, on_delete=models.SET_NULL, related_name="+")
    email = models.CharField(max_length=320)
    purpose = models.CharField(max_length=20, default="marketing")
    text = models.TextField()
    locale = models.CharField(max_length=2)
    visitor_id = models.CharField(max_length=64, blank=True)
    profile = models.ForeignKey("customers.CustomerProfile", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    given_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["shop", "email"])]

"""Every recipe email as a send record (claimed before it is sent), clicks, the orders they earned, suppressions."""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from backend.core.money import MoneyField
from backend.core.scoping import ShopScoped


class EmailSend(ShopScoped):
    """One email of one step of one run. Its states are the sending protocol (backend/emails/sending.py):

    claimed → rendered → sending → sent; "uncertain" when a worker died after handing the message to the mail
    server but before recording it (never sent again: at most once); "skipped" when a rule said no.
    """

    class Status(models.TextChoices):
        CLAIMED = "claimed", "Claimed"
        RENDERED = "rendered", "Rendered"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        UNCERTAIN = "uncertain", "Handed over, outcome unknown"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    run = models.ForeignKey("recipes.RecipeRun", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    recipe = models.ForeignKey("recipes.Recipe", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    step = models.PositiveSmallIntegerField(default=0)
    profile = models.ForeignKey("customers.CustomerProfile", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    to_email = models.CharField(max_length=320, blank=True)
    language = models.CharField(max_length=5, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CLAIMED)
    reason = models.CharField(max_length=60, blank=True)  # why skipped / failed
    claim_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    subject = models.CharField(max_length=255, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    code = models.CharField(max_length=64, blank=True)  # the discount code the email carried
    is_test = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "run", "step"], condition=Q(run__isnull=False),
                                               name="email_send_once_per_step")]
        indexes = [models.Index(fields=["shop", "profile", "sent_at"], name="email_send_cap"),
                   models.Index(fields=["shop", "recipe", "sent_at"], name="email_send_recipe")]


class EmailClick(ShopScoped):
    send = models.ForeignKey(EmailSend, on_delete=models.CASCADE, related_name="clicks")
    url = models.CharField(max_length=1024)
    product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    clicked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["shop", "clicked_at"])]


class EmailConversion(ShopScoped):
    """An order placed within the attribution window after a click in a recipe email: credited to that step."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    send = models.ForeignKey(EmailSend, on_delete=models.CASCADE, related_name="+")
    recipe = models.ForeignKey("recipes.Recipe", null=True, on_delete=models.SET_NULL, related_name="+")
    step = models.PositiveSmallIntegerField(default=0)
    revenue = MoneyField(default=0)
    ordered_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "order"], name="email_conversion_once")]
        indexes = [models.Index(fields=["shop", "recipe", "ordered_at"])]


class Suppression(ShopScoped):
    """An address that must get no more marketing email from the shop: unsubscribed, bounced or complained."""

    email = models.CharField(max_length=320)
    reason = models.CharField(max_length=20)  # unsubscribed | bounced | complained
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "email"], name="email_suppressed_once")]

"""Customers as the platform knows them (the unified profile builds on these)."""
from __future__ import annotations

from django.db import models

from backend.core.money import MoneyField
from backend.core.scoping import ShopScoped


class Customer(ShopScoped):
    platform_id = models.CharField(max_length=64)
    email = models.CharField(max_length=320, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    country = models.CharField(max_length=2, blank=True)  # ISO 3166-1 alpha-2
    province = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=255, blank=True)
    tags = models.JSONField(default=list, blank=True)
    accepts_marketing = models.BooleanField(default=False)
    orders_count = models.IntegerField(default=0)
    total_spent = MoneyField(default=0)
    platform_created_at = models.DateTimeField(null=True, blank=True)
    platform_updated_at = models.DateTimeField(null=True, blank=True)
    redacted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "platform_id"], name="customer_once")]
        indexes = [models.Index(fields=["shop", "email"])]

    def redact(self) -> None:
        """Remove personal data but keep the row, so order history stays counted and anonymous."""
        from django.utils import timezone

        self.email = ""
        self.phone = ""
        self.first_name = ""
        self.last_name = ""
        self.province = ""
        self.city = ""
        self.tags = []
        self.redacted_at = timezone.now()

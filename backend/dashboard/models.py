"""The merchant cockpit's own rows: who may sign in to a shop, what they changed, their settings, daily figures."""
from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from backend.core.scoping import ShopScoped


class ShopMember(ShopScoped):
    """A Django user allowed into one shop's standalone admin (WooCommerce merchants, staff)."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        STAFF = "staff", "Staff"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shop_memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.OWNER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "user"], name="shop_member_once")]


class AuditEntry(ShopScoped):
    """One merchant change: who, when, what, and the value before → after."""

    actor = models.CharField(max_length=255)  # "user:ana@example.com", "shopify:<sub>", "link", "system"
    action = models.CharField(max_length=60)  # e.g. "widget_rule.update", "experiment.start"
    target = models.CharField(max_length=255)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "-created_at"])]


class ShopSettings(ShopScoped):
    attribution_window_days = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(90)]
    )
    data_retention_days = models.PositiveIntegerField(
        default=730, validators=[MinValueValidator(30), MaxValueValidator(3650)]
    )
    locale_override = models.CharField(max_length=5, blank=True)  # "" = follow the shop's locale
    currency_override = models.CharField(max_length=3, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop"], name="shop_settings_once")]

    @classmethod
    def of(cls, shop) -> ShopSettings:  # noqa: ANN001 - a Shop
        found = cls.objects.for_shop(shop).first()
        return found or cls(shop=shop)


class DailyRollup(ShopScoped):
    """One day × one source (a widget, a popup campaign, or "shop") of precomputed figures; pages read only these."""

    day = models.DateField()
    source_kind = models.CharField(max_length=20)  # widget | popup | shop
    source_key = models.CharField(max_length=100)
    impressions = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    add_to_carts = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)  # click-through attributed orders
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)  # net of refunds
    view_orders = models.PositiveIntegerField(default=0)  # view-through, reported apart
    view_revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    discount_cost = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    extra = models.JSONField(default=dict, blank=True)  # shop-level: revenue by channel, order count
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "day", "source_kind", "source_key"], name="daily_rollup_once")
        ]

"""Merchant controls over the storefront: one rule row per shop × widget, and the origins allowed to call us."""
from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from backend.core.scoping import ShopScoped

MAX_ITEMS = 24
# The storefront page types a widget can be placed on (the script tells which one it is on; the demo store too).
PAGE_TYPES = ("product", "collection", "cart", "home")


def every_page() -> list[str]:
    return list(PAGE_TYPES)


class Layout(models.TextChoices):
    CAROUSEL = "carousel", "Carousel"  # one row that scrolls sideways, with arrows
    GRID = "grid", "Grid"  # one row of cards that fills the width, no scrolling


class CardStyle(models.TextChoices):
    STANDARD = "standard", "Standard"
    COMPACT = "compact", "Compact"  # narrower cards, taller pictures: more products in the same row
    MINIMAL = "minimal", "Minimal"  # square pictures, outlined button, plain price


class Widget(models.TextChoices):
    ALSO_BOUGHT = "also_bought", "Customers also bought"
    RECENTLY_VIEWED = "recently_viewed", "Continue shopping"
    BESTSELLERS = "bestsellers", "Bestsellers"
    FOR_YOU = "for_you", "Recommended for you"  # home and cart pages: the shopper's own history (registry)


class WidgetRule(ShopScoped):
    """Merchandising rules for one widget of one shop.

    Product and collection ids are our pks; the admin screen and the API speak the platform's ids.
    """

    widget = models.CharField(max_length=32, choices=Widget.choices)
    enabled = models.BooleanField(default=True)
    title_en = models.CharField(max_length=120, blank=True)
    title_es = models.CharField(max_length=120, blank=True)
    limit = models.PositiveSmallIntegerField(default=8, validators=[MinValueValidator(1), MaxValueValidator(MAX_ITEMS)])
    # Engine-specific choice (e.g. the also-bought similarity, the bestsellers window); "" = the engine's default.
    algorithm = models.CharField(max_length=40, blank=True)
    excluded_product_ids = models.JSONField(default=list, blank=True)
    excluded_collection_ids = models.JSONField(default=list, blank=True)
    pinned_product_ids = models.JSONField(default=list, blank=True)  # shown first, in this order
    rebuyable_product_ids = models.JSONField(default=list, blank=True)  # may be recommended to who bought them
    min_stock = models.PositiveIntegerField(default=0)
    placements = models.JSONField(default=every_page, blank=True)  # page types it shows on (PAGE_TYPES)
    layout = models.CharField(max_length=16, choices=Layout.choices, default=Layout.CAROUSEL)
    card_style = models.CharField(max_length=16, choices=CardStyle.choices, default=CardStyle.STANDARD)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "widget"], name="widget_rule_once")]

    def __str__(self) -> str:
        return f"{self.widget} rule"


class AllowedOrigin(ShopScoped):
    """An extra storefront origin (e.g. a custom domain) allowed to call the public API with the shop's key."""

    origin = models.CharField(max_length=255)  # scheme://host[:port], lower-case, no path

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "origin"], name="allowed_origin_once")]

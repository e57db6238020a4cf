"""What shoppers do on the storefront, as the storefront script reports it, and who the visitor turned out to be."""
from __future__ import annotations

from django.db import models
from django.utils import timezone

from backend.core.scoping import ShopScoped

VISITOR_ID_MAX = 64
SESSION_ID_MAX = 64
WIDGET_MAX = 32
EXPERIMENT_MAX = 64


class EventType(models.TextChoices):
    PRODUCT_VIEWED = "product_viewed", "Product viewed"
    COLLECTION_VIEWED = "collection_viewed", "Collection viewed"
    ADDED_TO_CART = "added_to_cart", "Added to cart"
    WIDGET_IMPRESSION = "widget_impression", "Widget impression"
    WIDGET_CLICK = "widget_click", "Widget click"
    POPUP_SHOWN = "popup_shown", "Popup shown"
    POPUP_CLOSED = "popup_closed", "Popup closed"
    POPUP_CONVERTED = "popup_converted", "Popup converted"


class Event(ShopScoped):
    """One storefront event. Without analytics consent visitor_id, session_id and customer stay empty."""

    Type = EventType

    visitor_id = models.CharField(max_length=VISITOR_ID_MAX, blank=True, default="")
    session_id = models.CharField(max_length=SESSION_ID_MAX, blank=True, default="")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    type = models.CharField(max_length=32, choices=EventType.choices)
    product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    collection = models.ForeignKey(
        "catalog.Collection", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    widget = models.CharField(max_length=WIDGET_MAX, blank=True, default="")
    experiment = models.CharField(max_length=EXPERIMENT_MAX, blank=True, default="")
    variant = models.CharField(max_length=EXPERIMENT_MAX, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # recently viewed: a visitor's (or a stitched customer's) newest events first
            models.Index(fields=["shop", "visitor_id", "-created_at"], name="event_visitor_recent"),
            models.Index(fields=["shop", "customer", "-created_at"], name="event_customer_recent"),
            # counters and co-view windows over a time range per type (widget CTR, popularity)
            models.Index(fields=["shop", "type", "created_at"], name="event_type_time"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.visitor_id or '-'}"


class VisitorIdentity(ShopScoped):
    """An anonymous storefront visitor id linked to the customer who logged in with it (latest login wins)."""

    visitor_id = models.CharField(max_length=VISITOR_ID_MAX)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "visitor_id"], name="visitor_identity_once")]
        indexes = [models.Index(fields=["shop", "customer"], name="visitor_identity_customer")]

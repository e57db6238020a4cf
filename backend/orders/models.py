"""Orders from every channel, with their lines, refunds and cancellations."""
from __future__ import annotations

from django.db import models

from backend.core.money import MoneyField
from backend.core.scoping import ShopScoped


class Order(ShopScoped):
    class Channel(models.TextChoices):
        ONLINE = "online", "Online store"
        POS = "pos", "Point of sale"
        MARKETPLACE = "marketplace", "Marketplace"
        DRAFT = "draft", "Draft order"
        OTHER = "other", "Other"

    platform_id = models.CharField(max_length=64)
    name = models.CharField(max_length=64, blank=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    customer_platform_id = models.CharField(max_length=64, blank=True)
    email = models.CharField(max_length=320, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    subtotal_price = MoneyField(default=0)
    total_price = MoneyField(default=0)
    total_discounts = MoneyField(default=0)
    total_tax = MoneyField(default=0)
    total_refunded = MoneyField(default=0)
    discount_codes = models.JSONField(default=list, blank=True)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.ONLINE)
    source_name = models.CharField(max_length=255, blank=True)
    financial_status = models.CharField(max_length=40, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=64, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)  # PII: cleared by customers/redact
    note_attributes = models.JSONField(default=list, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    platform_created_at = models.DateTimeField(null=True, blank=True)
    platform_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "platform_id"], name="order_once")]
        indexes = [
            models.Index(fields=["shop", "processed_at"]),
            models.Index(fields=["shop", "customer"]),
        ]


class LineItem(ShopScoped):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="line_items")
    platform_id = models.CharField(max_length=64)
    product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.SET_NULL)
    variant = models.ForeignKey("catalog.Variant", null=True, blank=True, on_delete=models.SET_NULL)
    # Kept even when the product is gone, so history and co-purchase pairs survive catalog deletions.
    product_platform_id = models.CharField(max_length=64, blank=True)
    variant_platform_id = models.CharField(max_length=64, blank=True)
    title = models.CharField(max_length=512, blank=True)
    sku = models.CharField(max_length=255, blank=True)
    quantity = models.IntegerField(default=1)
    refunded_quantity = models.IntegerField(default=0)
    price = MoneyField(default=0)
    total_discount = MoneyField(default=0)
    properties = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "platform_id"], name="line_item_once")]
        indexes = [models.Index(fields=["shop", "product"])]


class Refund(ShopScoped):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    platform_id = models.CharField(max_length=64)
    amount = MoneyField(default=0)
    note = models.TextField(blank=True)
    platform_created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "platform_id"], name="refund_once")]

"""The shop's catalog as the platform describes it: products, variants, stock, collections."""
from __future__ import annotations

from django.db import models

from backend.core.money import MoneyField
from backend.core.scoping import ShopScoped


class Product(ShopScoped):
    platform_id = models.CharField(max_length=64)
    title = models.CharField(max_length=512)
    handle = models.CharField(max_length=255, blank=True)
    vendor = models.CharField(max_length=255, blank=True)
    product_type = models.CharField(max_length=255, blank=True)
    tags = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, default="active")  # active | draft | archived
    url = models.CharField(max_length=1024, blank=True)
    image_url = models.CharField(max_length=1024, blank=True)
    images = models.JSONField(default=list, blank=True)
    total_inventory = models.IntegerField(default=0)
    available_for_sale = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    platform_created_at = models.DateTimeField(null=True, blank=True)
    # The platform's updated_at of the newest version applied: older deliveries never overwrite it.
    platform_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "platform_id"], name="product_once")]
        indexes = [models.Index(fields=["shop", "status"])]

    def __str__(self) -> str:
        return self.title


class Variant(ShopScoped):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    platform_id = models.CharField(max_length=64)
    title = models.CharField(max_length=512, blank=True)
    sku = models.CharField(max_length=255, blank=True)
    price = MoneyField(default=0)
    compare_at_price = MoneyField(null=True, blank=True)
    inventory_item_id = models.CharField(max_length=64, blank=True)
    inventory_quantity = models.IntegerField(default=0)
    inventory_tracked = models.BooleanField(default=True)
    inventory_policy = models.CharField(max_length=20, default="deny")  # deny | continue (sell when out of stock)
    available_for_sale = models.BooleanField(default=True)
    platform_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "platform_id"], name="variant_once")]
        indexes = [models.Index(fields=["shop", "inventory_item_id"])]


class InventoryLevel(ShopScoped):
    """Stock of one variant at one location; the variant's total is the sum."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="inventory_levels")
    location_id = models.CharField(max_length=64)
    location_name = models.CharField(max_length=255, blank=True)
    available = models.IntegerField(default=0)
    platform_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "variant", "location_id"], name="inventory_level_once")
        ]


class Collection(ShopScoped):
    platform_id = models.CharField(max_length=64)
    title = models.CharField(max_length=512)
    handle = models.CharField(max_length=255, blank=True)
    platform_updated_at = models.DateTimeField(null=True, blank=True)
    products = models.ManyToManyField(Product, through="CollectionMembership", related_name="collections")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "platform_id"], name="collection_once")]


class CollectionMembership(ShopScoped):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE)
    product = models.ForeignKey(Product, on_delete=models.CASCADE)
    position = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "collection", "product"], name="collection_membership_once")
        ]

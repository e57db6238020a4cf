"""What the engines keep: neighbour lists, their totals, sales counters, merchant rules and preferences."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from backend.core.money import MoneyField
from backend.core.scoping import ShopScoped


class AlsoBoughtState(ShopScoped):
    """Shop-wide totals of the last full recompute; the incremental path normalises with them."""

    anchor = models.DateTimeField()  # basket weights are 2 ** ((t - anchor) / half_life): additive across updates
    total_weight = models.FloatField(default=0.0)
    n_items_active = models.IntegerField(default=0)
    avg_baskets = models.FloatField(default=1.0)
    computed_at = models.DateTimeField()
    lines = models.IntegerField(default=0)
    seconds = models.FloatField(default=0.0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop"], name="also_bought_state_once")]


class ItemStat(ShopScoped):
    """Per product: decayed and raw number of baskets holding it (the normaliser of every similarity)."""

    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    weight = models.FloatField(default=0.0)
    baskets = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "product"], name="item_stat_once")]


class AlsoBoughtList(ShopScoped):
    """Top-K co-purchased products of one product for one similarity, best first (one row: one read per widget)."""

    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    algorithm = models.CharField(max_length=16)
    neighbour_ids = models.JSONField(default=list)
    scores = models.JSONField(default=list)
    supports = models.JSONField(default=list)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "product", "algorithm"], name="also_bought_list_once")
        ]


class ProductPreference(ShopScoped):
    """Merchant's per-product settings: a re-buyable product (coffee, socks) is shown even to those who bought it."""

    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    rebuyable = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "product"], name="product_preference_once")]


class ComplementaryRule(ShopScoped):
    """"Jackets -> hats, gloves": a product or a collection maps to products and/or collections shown with it."""

    source_product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    source_collection = models.ForeignKey(
        "catalog.Collection", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Explicit link tables so they carry shop_id too (the schema distributes by shop; see README "Running at scale").
    target_products = models.ManyToManyField("catalog.Product", blank=True, related_name="+",
                                             through="ComplementaryTargetProduct")
    target_collections = models.ManyToManyField("catalog.Collection", blank=True, related_name="+",
                                                through="ComplementaryTargetCollection")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(source_product__isnull=False, source_collection__isnull=True)
                    | models.Q(source_product__isnull=True, source_collection__isnull=False)
                ),
                name="complementary_one_source",
            )
        ]

    def clean(self) -> None:
        if (self.source_product_id is None) == (self.source_collection_id is None):
            raise ValidationError("A rule starts from exactly one product or one collection.")
        for obj in (self.source_product, self.source_collection):
            if obj is not None and obj.shop_id != self.shop_id:
                raise ValidationError("The rule's source belongs to another shop.")


class SalesBucket(ShopScoped):
    """Units and revenue of one product in one hour for one segment ("" = everyone), bumped with F() per order."""

    segment = models.CharField(max_length=100, default="")
    hour = models.DateTimeField()
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    units = models.IntegerField(default=0)
    revenue = MoneyField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "segment", "hour", "product"], name="sales_bucket_once")
        ]
        indexes = [models.Index(fields=["shop", "segment", "hour"])]


class RecordedLine(ShopScoped):
    """A line item already counted in the sales buckets: webhooks and post_save may deliver an order twice."""

    line_item = models.ForeignKey("orders.LineItem", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "line_item"], name="recorded_line_once")]


class AudienceMapping(ShopScoped):
    """The merchant's gender/audience attribute: customers tagged `customer_tag` form segment "audience:<value>",
    products tagged `product_tag` are the ones that audience's bestsellers favour."""

    value = models.CharField(max_length=50)  # e.g. "women"
    customer_tag = models.CharField(max_length=100, blank=True)
    product_tag = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "value"], name="audience_mapping_once")]

    def clean(self) -> None:
        if not (self.customer_tag or self.product_tag):
            raise ValidationError("Map the audience to a customer tag, a product tag, or both.")


class ComplementaryTargetProduct(ShopScoped):
    rule = models.ForeignKey(ComplementaryRule, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")

    class Meta:
        # Reached only through a rule (already one shop's), whose many-to-many machinery uses the default manager.
        default_manager_name = "all_shops"
        constraints = [models.UniqueConstraint(fields=["shop", "rule", "product"], name="complementary_product_once")]


class ComplementaryTargetCollection(ShopScoped):
    rule = models.ForeignKey(ComplementaryRule, on_delete=models.CASCADE, related_name="+")
    collection = models.ForeignKey("catalog.Collection", on_delete=models.CASCADE, related_name="+")

    class Meta:
        default_manager_name = "all_shops"
        constraints = [models.UniqueConstraint(fields=["shop", "rule", "collection"],
                                               name="complementary_collection_once")]

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


class CustomerProfile(ShopScoped):
    """One person in one shop: the union of their identities (platform customers, email, phone, visitor ids).

    Everything below `identity` is derived (profiles.refresh_profile) and kept current by the segments tasks;
    it is denormalised here so a segment over a whole shop is one indexed query.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # A profile absorbed by a merge stays (inactive) so a merchant can split it out again.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_active = models.BooleanField(default=True)

    # Who (copied from the most recently updated linked customer; blank for anonymous visitors).
    email = models.CharField(max_length=320, blank=True)
    country = models.CharField(max_length=2, blank=True)
    tags_text = models.CharField(max_length=2000, blank=True)  # "|vip|wholesale|": portable tag lookups
    is_known = models.BooleanField(default=False)  # linked to at least one platform customer

    # Orders (net of refunds, cancelled excluded, every channel).
    orders_count = models.IntegerField(default=0)
    total_spent = MoneyField(default=0)
    aov = MoneyField(default=0)
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    channels = models.CharField(max_length=100, blank=True)  # "|online|pos|"

    # RFM: quintiles within the shop (1 = lowest, 5 = highest; recency 5 = most recent); 0 = never bought.
    r_score = models.SmallIntegerField(default=0)
    f_score = models.SmallIntegerField(default=0)
    m_score = models.SmallIntegerField(default=0)

    # Engagement and behaviour from storefront events.
    sessions_count = models.IntegerField(default=0)
    events_count = models.IntegerField(default=0)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_cart_at = models.DateTimeField(null=True, blank=True)
    # Running totals of the events above up to a moment (profiles.refresh_profile), so a refresh reads only the
    # recent partitions; null: recount from every partition on the next refresh.
    event_totals = models.JSONField(null=True, blank=True, editable=False)

    # Consent: marketing from the platform; analytics from the storefront's consent state; with when.
    accepts_marketing = models.BooleanField(default=False)
    analytics_consent = models.BooleanField(null=True, blank=True)  # None: the storefront never told us
    consent_updated_at = models.DateTimeField(null=True, blank=True)

    # Predicted value (segments.clv), refreshed by the shop's fit; tier source says whether it is model or RFM.
    p_alive = models.FloatField(null=True, blank=True)
    expected_orders_90 = models.FloatField(null=True, blank=True)
    expected_orders_365 = models.FloatField(null=True, blank=True)
    expected_value_90 = MoneyField(null=True, blank=True)
    expected_value_365 = MoneyField(null=True, blank=True)
    value_percentile = models.FloatField(null=True, blank=True)  # 0-100 within the shop, higher = more valuable
    value_tier = models.CharField(max_length=10, blank=True)  # vip | high | medium | low
    value_tier_source = models.CharField(max_length=10, blank=True)  # clv | rfm
    # The next moment a time-based segment condition can flip for this profile (backend.segments.due); null: none.
    segments_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The scheduled pass reads due profiles across shops by this moment alone (segments.due.due_shops).
            models.Index(fields=["segments_due_at", "shop"], name="profile_segments_due",
                         condition=models.Q(segments_due_at__isnull=False)),
            models.Index(fields=["shop", "is_active", "orders_count"]),
            models.Index(fields=["shop", "last_order_at"]),
            models.Index(fields=["shop", "value_percentile"]),
        ]

    def __str__(self) -> str:
        return f"profile {self.pk} ({self.email or 'anonymous'})"


class Identity(ShopScoped):
    """One identifier of a person, owned by exactly one profile at a time."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer", "Platform customer"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        VISITOR = "visitor", "Visitor id"

    profile = models.ForeignKey(CustomerProfile, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(max_length=320)  # customer: Customer pk; email: lowercased; phone: E.164
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=20, blank=True)  # where we first saw it: online, pos, woocommerce, ...
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "kind", "value"], name="identity_once")]
        indexes = [models.Index(fields=["shop", "profile"])]


class MergeLog(ShopScoped):
    """Why two profiles became one (the identity both shared), and how to split them again."""

    kept = models.ForeignKey(CustomerProfile, on_delete=models.CASCADE, related_name="+")
    absorbed = models.ForeignKey(CustomerProfile, on_delete=models.CASCADE, related_name="+")
    joined_by_kind = models.CharField(max_length=10)
    joined_by_value = models.CharField(max_length=320)
    moved_identity_ids = models.JSONField(default=list)  # what the absorbed profile owned at merge time
    merged_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "kept"]), models.Index(fields=["shop", "absorbed"])]


class ProfileCollectionView(ShopScoped):
    """Last time a profile viewed a collection: "viewed collection X in the last N days" as an indexed join."""

    profile = models.ForeignKey(CustomerProfile, on_delete=models.CASCADE, related_name="collection_views")
    collection_id = models.BigIntegerField()
    last_viewed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "profile", "collection_id"], name="profile_collection_view_once")
        ]
        indexes = [models.Index(fields=["shop", "collection_id", "last_viewed_at"])]

"""Segmented bestsellers: live top sellers by units or revenue over 24 h / 7 d / 30 d, overall, per collection and
per segment.

Counters live in the database as hourly buckets (SalesBucket), bumped with F() expressions when an order is
recorded. Why not Redis sorted sets: the counters must agree with the orders they come from (rebuilt from them
nightly, same transaction as the idempotency marker), work the same on SQLite and PostgreSQL in tests, and the
read is one indexed GROUP BY over at most 720 hours; the widget API caches the payload anyway.
Segment keys: "" (everyone), "country:ES", "buyers:first" | "buyers:repeat", "visitors:new" | "visitors:returning",
"tag:<customer tag>", "audience:<value>" (AudienceMapping).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from backend.catalog.models import CollectionMembership, Product
from backend.orders.models import Order
from backend.recommendations import eligibility
from backend.recommendations.models import AudienceMapping, RecordedLine, SalesBucket
from backend.recommendations.registry import BESTSELLER_METRICS, BESTSELLER_WINDOWS, RecommendationContext
from backend.shops.models import Shop

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
KEEP_DAYS = 35
MAX_TAGS = 20
SEGMENT_MAX = 100


def parse_algorithm(algorithm: str) -> tuple[str, str]:
    """"revenue_24h" -> ("revenue", "24h"); anything unknown falls back to units over 7 days."""
    metric, _, window = (algorithm or "").partition("_")
    return (metric if metric in BESTSELLER_METRICS else "units", window if window in BESTSELLER_WINDOWS else "7d")


def _hour(dt: datetime) -> datetime:
    return dt.replace(minute=0, second=0, microsecond=0)


def segments_for_order(order: Order) -> list[str]:
    """Every segment this order counts for (besides "" = everyone)."""
    keys: list[str] = []
    customer = order.customer
    address = order.shipping_address if isinstance(order.shipping_address, dict) else {}
    country = str(address.get("country_code") or (customer.country if customer else "") or "").upper()[:2]
    if country.isalpha() and len(country) == 2:
        keys.append(f"country:{country}")
    when = order.processed_at or order.platform_created_at or timezone.now()
    if customer is None:
        keys += ["buyers:first", "visitors:new"]
        return keys
    earlier = (
        Order.objects.for_shop(order.shop_id).filter(customer=customer, cancelled_at__isnull=True,
                                                      processed_at__lt=when).exclude(pk=order.pk).exists()
    )
    keys.append("buyers:repeat" if earlier else "buyers:first")
    known_since = customer.platform_created_at
    returning = earlier or (known_since is not None and when - known_since > timedelta(days=1))
    keys.append("visitors:returning" if returning else "visitors:new")
    tags = [str(t).strip().lower() for t in (customer.tags or []) if str(t).strip()][:MAX_TAGS]
    keys += [f"tag:{t}"[:SEGMENT_MAX] for t in tags]
    for value, customer_tag in AudienceMapping.objects.for_shop(order.shop_id).exclude(customer_tag="").values_list(
        "value", "customer_tag"
    ):
        if customer_tag.strip().lower() in tags:
            keys.append(f"audience:{value}"[:SEGMENT_MAX])
    return keys


def _bump(shop_id: int, segment: str, hour: datetime, product_id: int, units: int, revenue: Decimal) -> None:
    qs = SalesBucket.objects.for_shop(shop_id).filter(segment=segment, hour=hour, product_id=product_id)
    if qs.update(units=F("units") + units, revenue=F("revenue") + revenue):
        return
    try:
        with transaction.atomic():
            SalesBucket.objects.create(shop_id=shop_id, segment=segment, hour=hour, product_id=product_id,
                                       units=units, revenue=revenue)
    except IntegrityError:  # another worker created the row between our update and insert
        qs.update(units=F("units") + units, revenue=F("revenue") + revenue)


def record_order(order: Order) -> int:
    """Count the order's not-yet-counted lines in every segment it belongs to. Idempotent; returns lines counted."""
    if order.cancelled_at is not None:
        return 0
    when = order.processed_at or order.platform_created_at or timezone.now()
    if when < timezone.now() - timedelta(days=KEEP_DAYS):
        return 0
    with transaction.atomic():
        lines = list(order.line_items.filter(product__isnull=False).order_by("pk"))
        done = set(RecordedLine.objects.for_shop(order.shop_id).filter(line_item__in=lines)
                   .values_list("line_item_id", flat=True))
        fresh = [li for li in lines if li.pk not in done and li.quantity > li.refunded_quantity]
        if not fresh:
            return 0
        # The marker rows go first: a concurrent duplicate fails here on the unique constraint and rolls back.
        RecordedLine.objects.bulk_create([RecordedLine(shop_id=order.shop_id, line_item=li) for li in fresh])
        segments = ["", *segments_for_order(order)]
        totals: dict[int, list] = defaultdict(lambda: [0, Decimal("0")])
        for li in fresh:
            net = li.quantity - li.refunded_quantity
            totals[li.product_id][0] += net
            totals[li.product_id][1] += (li.price or Decimal("0")) * net - (li.total_discount or Decimal("0"))
        hour = _hour(when)
        for segment in segments:
            for product_id, (units, revenue) in totals.items():
                _bump(order.shop_id, segment, hour, product_id, units, max(revenue, Decimal("0")))
    return len(fresh)


def rebuild(shop: Shop) -> int:
    """Recount the kept window from the orders themselves (heals cancellations, refunds, missed deliveries)."""
    since = timezone.now() - timedelta(days=KEEP_DAYS)
    with transaction.atomic():
        SalesBucket.objects.for_shop(shop).delete()
        RecordedLine.objects.for_shop(shop).delete()
    counted = 0
    orders = Order.objects.for_shop(shop).filter(processed_at__gte=since, cancelled_at__isnull=True)
    for order in orders.select_related("customer").iterator(chunk_size=500):
        counted += record_order(order)
    return counted


def top_sellers(shop: Shop, segment: str = "", collection_id: int | None = None, metric: str = "units",
                window: str = "7d", limit: int = 50, now: datetime | None = None) -> list[int]:
    """Product pks by units or revenue in the window, unfiltered by stock."""
    now = now or timezone.now()
    qs = SalesBucket.objects.for_shop(shop).filter(segment=segment[:SEGMENT_MAX], hour__gt=now - WINDOWS[window])
    if collection_id:
        members = CollectionMembership.objects.for_shop(shop).filter(collection_id=collection_id)
        qs = qs.filter(product_id__in=members.values("product_id"))
    field = "units" if metric == "units" else "revenue"
    ranked = qs.values("product_id").annotate(total=Sum(field)).filter(total__gt=0).order_by("-total", "product_id")
    return [row["product_id"] for row in ranked[:limit]]


def _audience_products(shop: Shop, segment: str, candidates: list[int]) -> list[int]:
    """For "audience:<value>" with a product tag mapped: the candidates carrying that tag."""
    mapping = AudienceMapping.objects.for_shop(shop).filter(value=segment.split(":", 1)[1]).first()
    if mapping is None or not mapping.product_tag:
        return []
    tag = mapping.product_tag.strip().lower()
    tags = dict(Product.objects.for_shop(shop).filter(pk__in=candidates).values_list("pk", "tags"))
    return [c for c in candidates if tag in {str(t).strip().lower() for t in (tags.get(c) or [])}]


def bestsellers_with_fallback(shop: Shop, ctx: RecommendationContext) -> list[int]:
    """The widget: the segment's bestsellers, topped up from everyone's, longer windows, then newest products."""
    metric, window = parse_algorithm(ctx.algorithm)
    exclude = set(ctx.exclude)
    if ctx.product_id:
        exclude.add(ctx.product_id)
    want = ctx.limit
    pool = want * 3 + len(exclude)
    candidates: list[int] = []
    segment = ctx.segment if ctx.personal or not ctx.segment.startswith(("tag:", "buyers:")) else ""
    if segment:
        candidates += top_sellers(shop, segment, ctx.collection_id, metric, window, pool)
        if segment.startswith("audience:"):
            overall = top_sellers(shop, "", ctx.collection_id, metric, "30d", pool * 3)
            candidates += _audience_products(shop, segment, overall)
    for w in dict.fromkeys([window, "30d"]):
        candidates += top_sellers(shop, "", ctx.collection_id, metric, w, pool)
    result = eligibility.keep(shop, candidates, exclude, ctx.sellable)
    if len(result) < want:
        result += _newest(shop, ctx.collection_id, want - len(result), exclude | set(result))
    if len(result) < want and ctx.collection_id:
        result += _newest(shop, None, want - len(result), exclude | set(result))
    return result[:want]


def _newest(shop: Shop, collection_id: int | None, n: int, exclude: set[int]) -> list[int]:
    qs = eligibility.sellable(shop).exclude(pk__in=exclude)
    if collection_id:
        qs = qs.filter(collectionmembership__collection_id=collection_id)
    return list(dict.fromkeys(qs.order_by("-platform_created_at", "-pk").values_list("pk", flat=True)[: n * 2]))[:n]


def prune(shop: Shop) -> int:
    deleted, _ = SalesBucket.objects.for_shop(shop).filter(
        hour__lt=timezone.now() - timedelta(days=KEEP_DAYS)
    ).delete()
    return deleted

"""Builds a widget's payload: engine picks → merchant rules → products as the shopper will see them.

One query for the products with their variants (prefetched), one more only when the rule excludes collections.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Prefetch, Sum
from django.utils import timezone

from backend.catalog.models import CollectionMembership, Product, Variant
from backend.orders.models import LineItem

from .access import ShopInfo
from .pricing import format_price
from .rules import WidgetRuleData

logger = logging.getLogger("personalize.storefront")


@dataclass(frozen=True)
class WidgetRequest:
    widget: str
    locale: str
    limit: int
    product_id: int | None = None
    collection_id: int | None = None
    visitor_id: str = ""
    customer_id: int | None = None
    segment: str = ""
    personal: bool = False


def _stock(product: Product) -> tuple[bool, float]:
    """(sellable now, units on hand); untracked or oversold-allowed stock counts as unlimited."""
    variants = [v for v in product.variants.all() if v.available_for_sale]
    if not product.available_for_sale:
        return False, 0
    if not product.variants.all():
        return product.total_inventory > 0, float(product.total_inventory)
    units = 0.0
    for v in variants:
        if not v.inventory_tracked:
            units = float("inf")
        elif v.inventory_quantity > 0:
            units += v.inventory_quantity
    return units > 0, units


def _cheapest(product: Product) -> Variant | None:
    sellable = [
        v
        for v in product.variants.all()
        if v.available_for_sale and (v.inventory_quantity > 0 or not v.inventory_tracked)
    ]
    pool = sellable or list(product.variants.all())
    return min(pool, key=lambda v: (v.price, v.pk)) if pool else None


def _item(product: Product, shop: ShopInfo, locale: str) -> dict:
    variant = _cheapest(product)
    price: Decimal | None = variant.price if variant else None
    compare = variant.compare_at_price if variant else None
    if compare is not None and (price is None or compare <= price):
        compare = None
    url = product.url or (f"/products/{product.handle}" if product.handle else "")
    return {
        "id": product.platform_id,
        "title": product.title,
        "url": url,
        "image": product.image_url,
        "price": f"{price:.2f}" if price is not None else None,
        "compare_at_price": f"{compare:.2f}" if compare is not None else None,
        "price_formatted": format_price(price, shop.currency, locale, shop.locale) if price is not None else None,
        "compare_at_price_formatted": (
            format_price(compare, shop.currency, locale, shop.locale) if compare is not None else None
        ),
        "available": True,
    }


def excluded_products(shop_id: int, rule: WidgetRuleData) -> frozenset[int]:
    if not rule.excluded_collection_ids:
        return rule.excluded_product_ids
    in_collections = (
        CollectionMembership.objects.for_shop(shop_id)
        .filter(collection_id__in=rule.excluded_collection_ids)
        .values_list("product_id", flat=True)
    )
    return rule.excluded_product_ids | frozenset(in_collections)


def _top_sellers(shop_id: int, limit: int, exclude: frozenset[int]) -> list[int]:
    """Last resort while an engine is missing: units sold in 30 days, then the newest products."""
    since = timezone.now() - timedelta(days=30)
    sold = (
        LineItem.objects.for_shop(shop_id)
        .filter(order__processed_at__gte=since, product__isnull=False)
        .values("product_id")
        .annotate(units=Sum("quantity"))
        .order_by("-units", "product_id")
        .values_list("product_id", flat=True)[: limit + len(exclude)]
    )
    picks = [pk for pk in sold if pk not in exclude]
    if len(picks) < limit:
        newest = (
            Product.objects.for_shop(shop_id)
            .filter(status="active", deleted_at__isnull=True, available_for_sale=True)
            .exclude(pk__in=[*picks, *exclude])
            .order_by("-pk")
            .values_list("pk", flat=True)[: limit - len(picks)]
        )
        picks.extend(newest)
    return picks


def _engine_picks(shop: ShopInfo, req: WidgetRequest, rule: WidgetRuleData, exclude: frozenset[int]) -> list[int]:
    from backend.recommendations.registry import RecommendationContext, recommend

    # Ask for more than we show: stock and merchant filters below may still drop a few.
    ctx = RecommendationContext(
        product_id=req.product_id,
        collection_id=req.collection_id,
        visitor_id=req.visitor_id,
        customer_id=req.customer_id,
        segment=req.segment,
        limit=min(50, req.limit * 2 + 4),
        algorithm=rule.algorithm,
        exclude=exclude,
        personal=req.personal,
    )
    try:
        return recommend(shop.model, req.widget, ctx)
    except ImportError:  # an engine missing from this build: top sellers keep the widget useful
        logger.warning("engine for %s unavailable; serving top sellers", req.widget)
        return [] if req.widget == "recently_viewed" else _top_sellers(shop.id, ctx.limit, exclude)


def build_items(shop: ShopInfo, req: WidgetRequest, rule: WidgetRuleData) -> list[dict]:
    exclude = excluded_products(shop.id, rule)
    picks = _engine_picks(shop, req, rule, exclude)
    # Pins lead on every widget except "continue shopping", whose whole point is the shopper's own history.
    pinned = list(rule.pinned_product_ids) if req.widget != "recently_viewed" else []
    order: list[int] = []
    for pk in [*pinned, *picks]:
        if pk not in exclude and pk != req.product_id and pk not in order:
            order.append(pk)
    variants = Variant.objects.for_shop(shop.id).only(
        "product_id", "price", "compare_at_price", "inventory_quantity", "inventory_tracked", "available_for_sale"
    )
    products = (
        Product.objects.for_shop(shop.id)
        .filter(pk__in=order, status="active", deleted_at__isnull=True)
        .only("platform_id", "title", "handle", "url", "image_url", "available_for_sale", "total_inventory")
        .prefetch_related(Prefetch("variants", queryset=variants))
    )
    by_pk = {p.pk: p for p in products}
    items: list[dict] = []
    for pk in order:
        product = by_pk.get(pk)
        if product is None:
            continue
        sellable, units = _stock(product)
        if not sellable or units < max(rule.min_stock, 1):
            continue
        items.append(_item(product, shop, req.locale))
        if len(items) >= req.limit:
            break
    return items

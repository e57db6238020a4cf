"""Segmented bestsellers: windows, units vs revenue, segments, collections, live updates, never empty."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.recommendations import bestsellers
from backend.recommendations.models import AudienceMapping
from backend.recommendations.registry import RecommendationContext, recommend
from backend.recommendations.tasks import order_recorded

from . import factories as f


def top(shop, algorithm="units_7d", **kw):
    kw.setdefault("limit", 3)
    return recommend(shop, "bestsellers", RecommendationContext(algorithm=algorithm, **kw))


def sell(shop, products, customer=None, hours_ago=1.0, quantity=1, **kw):
    o = f.order(shop, products, customer, when=timezone.now() - timedelta(hours=hours_ago), quantity=quantity, **kw)
    order_recorded(shop.pk, o.pk)
    return o


@pytest.fixture
def p(shop):
    return {n: f.product(shop, n, price=price) for n, price in
            [("today", "5.00"), ("week", "5.00"), ("month", "5.00"), ("luxury", "500.00"), ("unsold", "1.00")]}


def test_windows_and_metrics(shop, p):
    for _ in range(3):
        sell(shop, [p["today"]], hours_ago=2)
    for _ in range(5):
        sell(shop, [p["week"]], hours_ago=24 * 3)
    for _ in range(8):
        sell(shop, [p["month"]], hours_ago=24 * 20)
    sell(shop, [p["luxury"]], hours_ago=5)
    assert top(shop, "units_24h", limit=2) == [p["today"].pk, p["luxury"].pk]
    assert top(shop, "units_7d", limit=3) == [p["week"].pk, p["today"].pk, p["luxury"].pk]
    assert top(shop, "units_30d", limit=3) == [p["month"].pk, p["week"].pk, p["today"].pk]
    assert top(shop, "revenue_24h", limit=2) == [p["luxury"].pk, p["today"].pk]


def test_segments(shop, p):
    spanish_vip = f.customer(shop, country="ES", tags=["VIP"])
    french = f.customer(shop, country="FR")
    sell(shop, [p["luxury"]], spanish_vip, hours_ago=30)
    sell(shop, [p["week"]], spanish_vip, hours_ago=3)  # second order of this customer: repeat buyer
    for _ in range(3):
        sell(shop, [p["today"]], french, hours_ago=2)
    assert top(shop, "revenue_7d", segment="country:ES", limit=2) == [p["luxury"].pk, p["week"].pk]
    assert top(shop, segment="country:FR", limit=1) == [p["today"].pk]
    assert top(shop, "revenue_7d", segment="tag:vip", limit=2) == [p["luxury"].pk, p["week"].pk]
    assert top(shop, segment="tag:vip", personal=False, limit=1) == [p["today"].pk]  # no consent: no tags
    # each customer's first order only: one luxury (Spanish VIP), one "today" (the French customer's first)
    assert sorted(bestsellers.top_sellers(shop, "buyers:first")) == sorted([p["luxury"].pk, p["today"].pk])
    assert bestsellers.top_sellers(shop, "buyers:repeat") == [p["today"].pk, p["week"].pk]
    # a segment with no sales of its own is topped up from everyone's bestsellers, never empty
    assert top(shop, segment="country:JP", limit=2) == [p["today"].pk, p["week"].pk]  # ties: lower pk


def test_new_vs_returning_visitors(shop, p):
    fresh = f.customer(shop, platform_created_at=timezone.now() - timedelta(hours=3))
    sell(shop, [p["today"]], fresh, hours_ago=1)
    sell(shop, [p["week"]], f.customer(shop), hours_ago=1)
    assert bestsellers.top_sellers(shop, "visitors:new") == [p["today"].pk]
    assert bestsellers.top_sellers(shop, "visitors:returning") == [p["week"].pk]


def test_audience_mapping(shop, p):
    AudienceMapping.objects.create(shop=shop, value="women", customer_tag="female", product_tag="women")
    p["month"].tags = ["Women"]
    p["month"].save()
    sell(shop, [p["week"]], f.customer(shop, tags=["female"]))
    for _ in range(4):
        sell(shop, [p["today"]], f.customer(shop))
    sell(shop, [p["month"]], f.customer(shop))
    assert top(shop, segment="audience:women", limit=2) == [p["week"].pk, p["month"].pk]


def test_per_collection_and_stock(shop, p):
    c = f.collection(shop, [p["week"], p["unsold"]])
    for _ in range(3):
        sell(shop, [p["today"]])
    sell(shop, [p["week"]])
    assert top(shop, collection_id=c.pk, limit=2) == [p["week"].pk, p["unsold"].pk]
    p["today"].available_for_sale = False
    p["today"].save()
    assert p["today"].pk not in top(shop, limit=5)


def test_live_update_and_idempotence(shop, p):
    sell(shop, [p["week"]], quantity=2)
    assert top(shop, limit=1) == [p["week"].pk]
    o = sell(shop, [p["today"]], quantity=3)
    assert top(shop, limit=1) == [p["today"].pk]  # visible right after the order is recorded
    order_recorded(shop.pk, o.pk)
    order_recorded(shop.pk, o.pk)
    assert bestsellers.top_sellers(shop) == [p["today"].pk, p["week"].pk]
    from backend.recommendations.models import SalesBucket

    assert sum(SalesBucket.objects.for_shop(shop).filter(segment="", product=p["today"])
               .values_list("units", flat=True)) == 3


def test_cancelled_and_refunds_heal_on_rebuild(shop, p):
    o = sell(shop, [p["today"]], quantity=3)
    sell(shop, [p["week"]], quantity=2)
    o.line_items.update(refunded_quantity=2)
    cancelled = sell(shop, [p["month"]], quantity=9)
    cancelled.cancelled_at = timezone.now()
    cancelled.save()
    bestsellers.rebuild(shop)
    assert bestsellers.top_sellers(shop) == [p["week"].pk, p["today"].pk]


def test_never_empty_without_sales(shop, p):
    assert len(top(shop, limit=3)) == 3
    assert set(top(shop, limit=5)) == {x.pk for x in p.values()}

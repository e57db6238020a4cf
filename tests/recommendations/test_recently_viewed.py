"""Continue shopping: newest first, deduplicated, minus what was bought since, merged across devices."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.events.identity import stitch
from backend.recommendations.registry import RecommendationContext, recommend

from . import factories as f


def rv(shop, **kw):
    kw.setdefault("limit", 10)
    return recommend(shop, "recently_viewed", RecommendationContext(**kw))


@pytest.fixture
def products(shop):
    return [f.product(shop, f"p{i}") for i in range(6)]


def test_newest_first_and_deduplicated(shop, products):
    now = timezone.now()
    a, b, c = products[:3]
    for minutes, p in [(50, a), (40, b), (30, a), (20, c), (10, b)]:
        f.view(shop, "visitor-1", p, at=now - timedelta(minutes=minutes))
    assert rv(shop, visitor_id="visitor-1") == [b.pk, c.pk, a.pk]
    assert rv(shop, visitor_id="visitor-1", limit=2) == [b.pk, c.pk]
    assert rv(shop, visitor_id="someone-else") == []


def test_current_product_and_out_of_stock_left_out(shop, products):
    a, b, c = products[:3]
    for p in (a, b, c):
        f.view(shop, "v", p)
    c.total_inventory = 0
    c.save()
    c.variants.update(inventory_quantity=0)
    assert rv(shop, visitor_id="v", product_id=b.pk) == [a.pk]


def test_bought_since_viewing_is_removed_but_a_later_view_brings_it_back(shop, products):
    now = timezone.now()
    a, b = products[:2]
    customer = f.customer(shop)
    stitch(shop, "v1", customer)
    f.view(shop, "v1", a, at=now - timedelta(hours=3))
    f.view(shop, "v1", b, at=now - timedelta(hours=2))
    f.order(shop, [a, b], customer, when=now - timedelta(hours=1))
    assert rv(shop, visitor_id="v1") == []
    f.view(shop, "v1", a, at=now)
    assert rv(shop, visitor_id="v1") == [a.pk]


def test_merged_across_devices_for_a_logged_in_customer(shop, products):
    now = timezone.now()
    a, b, c, d = products[:4]
    customer = f.customer(shop)
    f.view(shop, "phone", a, at=now - timedelta(minutes=30))
    f.view(shop, "laptop", b, at=now - timedelta(minutes=20))
    f.view(shop, "phone", c, at=now - timedelta(minutes=10))
    f.view(shop, "stranger", d, at=now)
    assert rv(shop, visitor_id="laptop") == [b.pk]  # not linked yet
    stitch(shop, "phone", customer)
    stitch(shop, "laptop", customer)
    assert rv(shop, visitor_id="laptop") == [c.pk, b.pk, a.pk]
    assert rv(shop, customer_id=customer.pk) == [c.pk, b.pk, a.pk]


def test_no_consent_no_history(shop, products):
    f.view(shop, "v", products[0])
    assert rv(shop, visitor_id="v", personal=False) == []


def test_other_shop_views_never_leak(shop, other_shop, products):
    theirs = f.product(other_shop, "theirs")
    f.view(other_shop, "v", theirs)
    f.view(shop, "v", products[0])
    assert rv(shop, visitor_id="v") == [products[0].pk]

"""Derived facts per profile: orders across channels net of refunds, dates, behaviour, consent."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.customers.identities import resolve_customer, resolve_visitor
from backend.customers.profiles import cart_abandoned, days_since, refresh_profile, viewed_collection_ids

from .factories import make_customer, make_event, make_order

pytestmark = pytest.mark.django_db


def _collection(shop, pid="col1"):
    from backend.catalog.models import Collection

    return Collection.objects.create(shop=shop, platform_id=pid, title=pid)


def test_orders_net_of_refunds_without_cancelled_across_channels(shop):
    c = make_customer(shop, email="x@example.com", tags=["VIP", "wholesale"], accepts_marketing=True, country="es")
    make_order(shop, c, "100.00", days_ago=40)
    make_order(shop, c, "60.00", days_ago=10, channel="pos", total_refunded=Decimal("20.00"))
    make_order(shop, c, "500.00", days_ago=5, cancelled_at=timezone.now())
    profile = refresh_profile(resolve_customer(c))
    assert profile.orders_count == 2
    assert profile.total_spent == Decimal("140.00")
    assert profile.aov == Decimal("70.00")
    assert 39.9 < days_since(profile.first_order_at) < 40.1
    assert 9.9 < days_since(profile.last_order_at) < 10.1
    assert profile.tags_text == "|vip|wholesale|"
    assert profile.country == "ES"
    assert profile.accepts_marketing and profile.consent_updated_at is not None
    assert profile.is_known


def test_sessions_cart_abandonment_and_viewed_collections(shop):
    shoes, hats = _collection(shop, "shoes"), _collection(shop, "hats")
    make_event(shop, "collection_viewed", "v9", "s1", days_ago=45, collection=hats)
    make_event(shop, "collection_viewed", "v9", "s2", days_ago=3, collection=shoes)
    make_event(shop, "added_to_cart", "v9", "s2", days_ago=2)
    profile = refresh_profile(resolve_visitor(shop.pk, "v9"), viewed_window_days=30)
    assert profile.sessions_count == 2 and profile.events_count == 3
    assert viewed_collection_ids(profile, 30) == {shoes.pk}  # hats was 45 days ago
    assert cart_abandoned(profile, window_hours=24)
    assert not cart_abandoned(profile, window_hours=72)  # the shop's window has not passed yet


def test_an_order_after_the_cart_means_not_abandoned(shop):
    c = make_customer(shop, email="y@example.com")
    resolve_visitor(shop.pk, "v5", c.pk)
    make_event(shop, "added_to_cart", "v5", "s1", days_ago=3)
    make_order(shop, c, "10.00", days_ago=2.9)
    profile = refresh_profile(resolve_customer(c))
    assert profile.last_cart_at is not None
    assert not cart_abandoned(profile)
    make_event(shop, "added_to_cart", "v5", "s2", days_ago=1.5)
    assert cart_abandoned(refresh_profile(profile), now=timezone.now() + timedelta(hours=1))


def test_bulk_rebuild_matches_the_per_profile_refresh(shop):
    from backend.customers.identities import link_new_customers
    from backend.customers.models import CustomerProfile, MergeLog
    from backend.customers.profiles import ORDER_FACTS, refresh_order_facts

    people = [make_customer(shop, email=f"p{i}@example.com", tags=[f"t{i % 2}"], country="ES") for i in range(6)]
    twin = make_customer(shop, email="P0@example.com", phone="+34612345678", accepts_marketing=True)
    already = make_customer(shop, email="old@example.com")
    resolve_customer(already)
    late = make_customer(shop, email="OLD@example.com")
    for i, c in enumerate(people + [twin, late]):
        make_order(shop, c, f"{10 + i}.00", days_ago=i + 1, channel="pos" if i % 3 == 0 else "online")
        if i % 2:
            make_order(shop, c, "7.00", days_ago=40, total_refunded=Decimal("2.00"))
    assert link_new_customers(shop.pk) == 8
    assert CustomerProfile.objects.for_shop(shop).filter(is_active=True).count() == 7  # p0+twin, old+late merged
    assert MergeLog.objects.for_shop(shop).count() == 0  # joined on creation: nothing was split, nothing to undo
    refresh_order_facts(shop.pk)
    bulk = {p.pk: [getattr(p, f) for f in ORDER_FACTS if f != "consent_updated_at"]
            for p in CustomerProfile.objects.for_shop(shop).filter(is_active=True)}
    for p in CustomerProfile.objects.for_shop(shop).filter(is_active=True):
        refresh_profile(p)
        assert [getattr(p, f) for f in ORDER_FACTS if f != "consent_updated_at"] == bulk[p.pk]
    merged = CustomerProfile.objects.for_shop(shop).get(email="p0@example.com")
    assert merged.orders_count == 2 and merged.accepts_marketing

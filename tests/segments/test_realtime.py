"""Real time: an order or a storefront event moves one shopper between segments, and the keys follow."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.customers.models import CustomerProfile
from backend.segments import tasks
from backend.segments.membership import full_pass, segment_keys_for
from backend.segments.models import Segment, SegmentMembershipChange
from backend.segments.presets import ensure_presets
from integrations.base.types import OrderData
from tests.customers.factories import make_customer, make_event, make_order

pytestmark = pytest.mark.django_db


def _order_data(platform_id: str, customer_platform_id: str, total: str, days_ago: float = 0) -> OrderData:
    when = timezone.now() - timedelta(days=days_ago)
    return OrderData(platform_id=platform_id, customer_platform_id=customer_platform_id, total_price=Decimal(total),
                     processed_at=when, created_at=when, updated_at=when)


def _upsert(shop, *orders: OrderData) -> None:
    from backend.orders.upsert import upsert_orders

    upsert_orders(shop, list(orders))
    # Bulk upserts fire no post_save; the one-minute catch-up job brings their customers' profiles up to date.
    tasks.catch_up_shop(shop.pk)


def test_an_order_moves_a_customer_into_repeat_buyers(shop):
    ensure_presets(shop)
    tasks.catch_up_shop(shop.pk)  # the first run only places the cursor
    customer = make_customer(shop, platform_id="9001", email="rita@example.com", country="ES")
    assert segment_keys_for(shop, customer_id=customer.pk) == ["visitors:new", "buyers:none"]

    _upsert(shop, _order_data("5001", "9001", "40.00", days_ago=20))
    keys = segment_keys_for(shop, customer_id=customer.pk)
    assert "buyers:first" in keys and "segment:first-time-buyers" in keys
    assert "country:ES" in keys and "segment:repeat-buyers" not in keys

    _upsert(shop, _order_data("5002", "9001", "60.00"))
    keys = segment_keys_for(shop, customer_id=customer.pk)
    assert "buyers:repeat" in keys and "segment:repeat-buyers" in keys
    assert "segment:first-time-buyers" not in keys

    repeat = Segment.objects.for_shop(shop).get(slug="repeat-buyers")
    first = Segment.objects.for_shop(shop).get(slug="first-time-buyers")
    assert repeat.member_count == 1 and first.member_count == 0
    changes = list(SegmentMembershipChange.objects.for_shop(shop).filter(segment__in=[repeat, first])
                   .order_by("at", "pk").values_list("segment__slug", "change"))
    assert changes == [("first-time-buyers", "entered"), ("first-time-buyers", "left"), ("repeat-buyers", "entered")]
    # Replaying the same webhook changes nothing.
    _upsert(shop, _order_data("5002", "9001", "60.00"))
    assert SegmentMembershipChange.objects.for_shop(shop).filter(segment__in=[repeat, first]).count() == 3

    # A refund arrives as a newer version of the order: the catch-up sees it by the platform's updated_at.
    refunded = _order_data("5002", "9001", "60.00")
    from dataclasses import replace

    _upsert(shop, replace(refunded, total_refunded=Decimal("60.00"), updated_at=timezone.now() + timedelta(seconds=5)))
    assert CustomerProfile.objects.for_shop(shop).get(email="rita@example.com").total_spent == Decimal("40.00")


def test_orders_changed_is_the_immediate_path_for_bulk_writers(shop, django_capture_on_commit_callbacks):
    from backend.orders.upsert import upsert_orders

    ensure_presets(shop)
    customer = make_customer(shop, platform_id="9002", email="now@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        upsert_orders(shop, [_order_data("6001", "9002", "10.00", days_ago=9), _order_data("6002", "9002", "12.00")])
        tasks.orders_changed(shop.pk, [customer.pk])
    assert "segment:repeat-buyers" in segment_keys_for(shop, customer_id=customer.pk)


def test_an_orm_saved_order_updates_through_post_save(shop, django_capture_on_commit_callbacks):
    ensure_presets(shop)
    customer = make_customer(shop, email="pos@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        make_order(shop, customer, "10.00", days_ago=3, channel="pos")
        make_order(shop, customer, "15.00", channel="pos")
    assert "segment:repeat-buyers" in segment_keys_for(shop, customer_id=customer.pk)


def test_storefront_events_make_a_returning_visitor_and_follow_the_login(shop):
    from backend.catalog.models import Product
    from backend.events.ingest import Envelope, store_batch

    ensure_presets(shop)
    Product.objects.create(shop=shop, platform_id="77", title="Boot")
    view = [{"type": "product_viewed", "product": "77"}]
    store_batch(shop.pk, shop.domain, Envelope("vis-1", "sess-1", "", True, view), None)
    assert "visitors:new" in segment_keys_for(shop, visitor_id="vis-1")
    assert "segment:new-visitors" in segment_keys_for(shop, visitor_id="vis-1")
    store_batch(shop.pk, shop.domain, Envelope("vis-1", "sess-2", "", True, view), None)
    keys = segment_keys_for(shop, visitor_id="vis-1")
    assert "visitors:returning" in keys and "segment:returning-visitors" in keys

    # Without analytics consent nothing personal is stored, so no profile appears.
    store_batch(shop.pk, shop.domain, Envelope("", "", "", False, view), None)
    assert CustomerProfile.objects.for_shop(shop).count() == 1

    # The visitor logs in: their visits now count for the customer, who bought once before.
    customer = make_customer(shop, email="v@example.com")
    make_order(shop, customer, "20.00", days_ago=30)
    store_batch(shop.pk, shop.domain, Envelope("vis-1", "sess-3", "", True, view), customer.pk)
    keys = segment_keys_for(shop, customer_id=customer.pk)
    assert "buyers:first" in keys and "visitors:returning" in keys
    assert segment_keys_for(shop, visitor_id="vis-1") == keys
    assert CustomerProfile.objects.for_shop(shop).filter(is_active=True).count() == 1


def test_cart_abandoners_and_time_based_rules_follow_the_scheduled_pass(shop):
    from backend.catalog.models import Product

    ensure_presets(shop)
    boot = Product.objects.create(shop=shop, platform_id="78", title="Boot")
    customer = make_customer(shop, email="late@example.com")
    make_order(shop, customer, "30.00", days_ago=100)
    make_order(shop, customer, "30.00", days_ago=59)
    make_event(shop, "added_to_cart", "vis-9", "s1", customer=customer, days_ago=0.5, product=boot)
    tasks.visitor_changed(shop.pk, "vis-9", customer.pk)
    keys = segment_keys_for(shop, customer_id=customer.pk)
    assert "segment:at-risk" not in keys and "segment:cart-abandoners" not in keys

    in_two_days = timezone.now() + timedelta(days=2)
    moved = full_pass(shop, now=in_two_days)
    assert moved["at-risk"] == (1, 0) and moved["cart-abandoners"] == (1, 0)
    keys = segment_keys_for(shop, customer_id=customer.pk)
    assert "segment:at-risk" in keys and "segment:cart-abandoners" in keys
    assert full_pass(shop, now=in_two_days)["at-risk"] == (0, 0)  # idempotent


def test_a_synced_customer_update_joins_profiles_through_the_catch_up(shop):
    from backend.customers.models import MergeLog
    from backend.customers.upsert import upsert_customers
    from integrations.base.types import CustomerData

    ensure_presets(shop)
    tasks.catch_up_shop(shop.pk)
    t0 = timezone.now() - timedelta(hours=1)
    upsert_customers(shop, [CustomerData(platform_id="on-1", email="eva@example.com", updated_at=t0),
                            CustomerData(platform_id="pos-1", phone="+34 611 222 333", updated_at=t0)])
    tasks.catch_up_shop(shop.pk)
    assert CustomerProfile.objects.for_shop(shop).filter(is_active=True).count() == 2
    # The till later records the POS customer's email: the platform sends a newer version of that customer.
    upsert_customers(shop, [CustomerData(platform_id="pos-1", phone="+34 611 222 333", email="EVA@example.com",
                                         updated_at=t0 + timedelta(minutes=30))])
    tasks.catch_up_shop(shop.pk)
    assert CustomerProfile.objects.for_shop(shop).filter(is_active=True).count() == 1
    log = MergeLog.objects.for_shop(shop).get()
    assert (log.joined_by_kind, log.joined_by_value) == ("email", "eva@example.com")

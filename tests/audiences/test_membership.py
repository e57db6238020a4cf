"""Who is in a recency or segment audience at a given moment, and when each recency member leaves."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.audiences import membership
from backend.audiences.models import AdConnection, Audience
from backend.audiences.presets import create_from_preset
from backend.customers.models import CustomerProfile
from backend.segments import tasks as segment_tasks
from tests.customers.factories import make_event, make_order
from tests.storefront.factories import make_collection, make_customer, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(shop):
    return AdConnection.objects.create(shop=shop, platform="meta", account_id="1", access_token="t")


def person(shop, pid: str, marketing: bool = True):
    c = make_customer(shop, platform_id=pid, email=f"{pid}@example.com", accepts_marketing=marketing)
    segment_tasks.profile_changed(shop.pk, c.pk)
    return c, CustomerProfile.objects.for_shop(shop).get(email=f"{pid}@example.com").pk


def test_cart_abandoners_7_days_leave_7_days_after_their_last_add_to_cart(shop, connection):
    now = timezone.now()
    a, a_profile = person(shop, "a")
    b, b_profile = person(shop, "b")
    make_event(shop, "added_to_cart", visitor_id="", customer=a, at=now - timedelta(days=6))
    make_event(shop, "added_to_cart", visitor_id="", customer=a, at=now - timedelta(days=1))  # the latest counts
    make_event(shop, "added_to_cart", visitor_id="", customer=b, at=now - timedelta(days=8))  # too old
    make_event(shop, "product_viewed", visitor_id="", customer=b, at=now - timedelta(hours=1))  # another activity
    audience = create_from_preset("cart-abandoners-7d", connection)
    found = membership.current(audience, now)
    assert found.profile_ids == [a_profile]
    assert found.next_leave_at == now - timedelta(days=1) + timedelta(days=7)
    assert membership.current(audience, now + timedelta(days=6, hours=1)).profile_ids == []


def test_an_order_after_the_activity_removes_one_before_does_not(shop, connection):
    now = timezone.now()
    a, a_profile = person(shop, "a")
    b, b_profile = person(shop, "b")
    make_order(shop, a, "10.00", at=now - timedelta(days=3))  # bought, then came back to look
    make_order(shop, b, "10.00", at=now - timedelta(hours=1))  # looked, then bought
    for c in (a, b):
        segment_tasks.profile_changed(shop.pk, c.pk)
        make_event(shop, "product_viewed", visitor_id="", customer=c, at=now - timedelta(days=1))
    audience = create_from_preset("viewed-not-bought-7d", connection)
    assert membership.current(audience, now).profile_ids == [a_profile]


def test_collection_and_product_narrowing_and_visitor_ids(shop, connection):
    now = timezone.now()
    product, other = make_product(shop), make_product(shop)
    collection = make_collection(shop, [product])
    a, a_profile = person(shop, "a")
    b, b_profile = person(shop, "b")
    # A's view arrives under their visitor id only (the profile owns it once they signed in on that browser).
    segment_tasks.visitor_changed(shop.pk, "browser-a", a.pk)
    make_event(shop, "product_viewed", visitor_id="browser-a", at=now - timedelta(hours=2), product=product)
    make_event(shop, "product_viewed", visitor_id="", customer=b, at=now - timedelta(hours=2), product=other)
    make_event(shop, "collection_viewed", visitor_id="", customer=b, at=now - timedelta(hours=3),
               collection=collection)
    narrowed = Audience.objects.create(shop=shop, name="p", source="recency", activity="product_viewed", days=2,
                                       product_id=product.pk, connection=connection)
    assert membership.current(narrowed, now).profile_ids == [a_profile]
    by_collection = Audience.objects.create(shop=shop, name="c", source="recency", activity="collection_viewed",
                                            days=14, connection=connection)
    assert membership.current(by_collection, now).profile_ids == [b_profile]


def test_only_marketing_consent_counts_for_every_kind_of_audience(shop, connection):
    now = timezone.now()
    yes, yes_profile = person(shop, "yes")
    no, _no_profile = person(shop, "no", marketing=False)
    for c in (yes, no):
        make_event(shop, "product_viewed", visitor_id="", customer=c, at=now - timedelta(hours=1))
    assert membership.current(create_from_preset("viewed-not-bought-2d", connection), now).profile_ids == \
        [yes_profile]
    CustomerProfile.objects.for_shop(shop).update(value_tier="vip")
    from backend.segments.membership import evaluate_segment
    from backend.segments.models import Segment

    vip = create_from_preset("vip", connection)
    evaluate_segment(Segment.objects.for_shop(shop).get(preset="vip"))
    assert membership.current(vip, now).profile_ids == [yes_profile]


def test_the_audit_trail_reads_a_run_in_the_merchants_words(client, shop, meta_connection, meta):
    from backend.audiences.sync import sync_audience
    from tests.dashboard.factories import sign_in

    sync_audience(create_from_preset("vip", meta_connection))
    sign_in(client, shop)
    page = client.get("/admin/audit/?lang=es").content.decode()
    assert "Sincronizó un público publicitario" in page and "Clientes VIP" in page
    assert "Personas que tiene el destino" in page


def test_a_customer_data_export_names_the_audiences_that_hold_them(shop, meta_connection, meta):
    from backend.audiences.sync import sync_audience
    from backend.shops.redaction import CustomerRef, export_customer

    c, _ = person(shop, "exported")
    make_order(shop, c, "10.00")
    segment_tasks.profile_changed(shop.pk, c.pk)
    sync_audience(create_from_preset("recent-buyers-30d", meta_connection))
    data = export_customer(shop, CustomerRef(platform_id="exported")).data
    assert [row["platform"] for row in data["ad_audiences"]] == ["meta"]

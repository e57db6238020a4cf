"""Code pools on the Shopify stand-in over real HTTP: created ahead, unique, claimed per visitor, refilled within
the daily cap, and matched back from orders."""
from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import timezone

from backend.events.models import Event
from backend.orders.models import Order
from backend.popups import codes
from backend.popups.campaigns import Shopper, decide
from backend.popups.models import DiscountCode

from .factories import claim_code, make_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def test_refill_creates_unique_single_use_expiring_codes_on_the_platform(standin, standin_shop):
    campaign = make_campaign(standin_shop, pool_size=4, code_ttl_hours=48)
    assert codes.refill(campaign) == 12  # three offers (free shipping, 10 %, 20 %) × 4

    on_platform = standin.shops[standin_shop.domain].discount_codes
    ours = list(DiscountCode.objects.for_shop(standin_shop).filter(campaign=campaign))
    assert {c.code for c in ours} == set(on_platform) and len(on_platform) == 12
    assert {c.platform_id for c in ours} == {d["id"] for d in on_platform.values()}
    for row in ours:
        created = on_platform[row.code]
        assert created["usageLimit"] == 1 and created["appliesOncePerCustomer"] is True
        assert created["endsAt"] and (row.expires_at - timezone.now()).total_seconds() > 47 * 3600
        if row.kind == "percent":
            assert created["kind"] == "discountCodeBasicCreate"
            assert created["percentage"] == pytest.approx(float(row.value) / 100)
        else:
            assert created["kind"] == "discountCodeFreeShippingCreate"
    assert codes.refill(campaign) == 0  # full pools stay as they are


def test_codes_are_claimed_per_visitor_and_the_pool_is_refilled_when_low(standin, standin_shop,
                                                                       django_capture_on_commit_callbacks):
    campaign = make_campaign(standin_shop, pool_size=4)
    codes.refill(campaign)
    seen = set()
    for n in range(3):
        assert decide(standin_shop.pk, Shopper(visitor_id=f"visitor-{n}"))["offer"]["kind"] == "free_shipping"
        with django_capture_on_commit_callbacks() as queued:
            got = claim_code(standin_shop, f"visitor-{n}", ip=f"192.0.2.{n}")
        seen.add(got)
        assert claim_code(standin_shop, f"visitor-{n}", ip=f"192.0.2.{n}") == got
    assert len(seen) == 3  # every visitor their own code
    assert queued, "a pool below half its size queues a refill"
    free_left = DiscountCode.objects.for_shop(standin_shop).filter(kind="free_shipping", status="available")
    assert free_left.count() == 1
    assert codes.refill(campaign) == 3
    assert free_left.count() == 4
    assert len(standin.shops[standin_shop.domain].discount_codes) == 15


def test_refills_never_create_more_codes_in_a_day_than_the_campaigns_cap(standin, standin_shop):
    campaign = make_campaign(standin_shop, pool_size=4, codes_per_day=10, codes_per_ip_per_day=100,
                             offer_rules=[], default_offer={"kind": "percent", "value": 10})
    assert codes.refill(campaign) == 4
    for n in range(6):  # the shoppers empty the pool; each refill tops it up while the cap allows
        claim_code(standin_shop, f"visitor-{n}")
        codes.refill(campaign)
    on_platform = standin.shops[standin_shop.domain].discount_codes
    assert len(on_platform) == 10, "4 at first, then refills up to the day's cap of 10, and no more"
    assert codes.refill(campaign) == 0
    with pytest.raises(codes.ClaimRefused) as refused:  # the cap also ends the day's claims
        for n in range(6, 20):
            claim_code(standin_shop, f"visitor-{n}")
    assert refused.value.status in (429, 503)
    assert len(standin.shops[standin_shop.domain].discount_codes) == 10


def test_a_code_the_platform_refuses_is_skipped(standin, standin_shop, monkeypatch):
    campaign = make_campaign(standin_shop, pool_size=2, offer_rules=[], default_offer={"kind": "percent",
                                                                                        "value": 10})
    monkeypatch.setattr(codes, "new_code", lambda prefix="PZ": "PZ-SAMECODE")
    assert codes.refill(campaign) == 1  # the second creation of the same code is TAKEN on the platform
    assert list(standin.shops[standin_shop.domain].discount_codes) == ["PZ-SAMECODE"]


def test_an_order_with_the_code_marks_it_used_and_counts_a_conversion(shop):
    from .factories import fill_pool

    campaign = make_campaign(shop)
    fill_pool(campaign)
    code = claim_code(shop, "buyer-visitor")
    order = Order.objects.create(shop=shop, platform_id="9001", currency="EUR", processed_at=timezone.now(),
                                 discount_codes=[code.lower(), "OTHER"])
    row = DiscountCode.objects.for_shop(shop).get(code=code)
    assert (row.status, row.order_id) == ("used", order.pk)
    converted = Event.objects.for_shop(shop).get(type="popup_converted")
    assert (converted.widget, converted.visitor_id, converted.variant) == (campaign.widget, "buyer-visitor", "order")
    order.save()  # a webhook replay counts nothing twice
    assert Event.objects.for_shop(shop).filter(type="popup_converted").count() == 1
    # A used code is never handed out again; the visitor is now suppressed as converted.
    assert decide(shop.pk, Shopper(visitor_id="buyer-visitor")) is None


def test_orders_written_in_bulk_are_matched_by_the_scheduled_job(shop):
    from backend.popups.tasks import match_recent_redemptions

    from .factories import fill_pool

    campaign = make_campaign(shop)
    fill_pool(campaign)
    code = claim_code(shop, "bulk-visitor")
    Order.objects.bulk_create([Order(shop=shop, platform_id="9100", currency="EUR", processed_at=timezone.now(),
                                     discount_codes=[code])])  # a sync: no post_save
    assert DiscountCode.objects.for_shop(shop).get(code=code).status == "reserved"
    assert match_recent_redemptions() == 1
    assert DiscountCode.objects.for_shop(shop).get(code=code).status == "used"
    assert match_recent_redemptions() == 0


def test_the_beat_job_drops_budgets_of_past_days(shop):
    from datetime import timedelta

    from backend.popups.models import Budget
    from backend.popups.tasks import refill_all_pools

    campaign = make_campaign(shop, status="paused")
    today = codes.budget_day(timezone.now())
    for age in (0, 1, 2, 30):
        Budget.objects.create(shop=shop, campaign=campaign, day=today - timedelta(days=age), scope="claims", used=3)
    refill_all_pools()
    kept = sorted((today - b.day).days for b in Budget.objects.for_shop(shop))
    assert kept == [0, 1]

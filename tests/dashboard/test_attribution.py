"""Attribution: a click and a matching order within the window is attributed once, outside it not at all; refunds
reduce revenue; view-through is reported apart; the rollup job writes what the analytics page and CSV show."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from backend.dashboard.attribution import attribute
from backend.dashboard.models import DailyRollup, ShopSettings
from backend.dashboard.rollups import rollup_shop
from backend.events.models import EventType, VisitorIdentity
from tests.dashboard.factories import click, event, now, order, product
from tests.recommendations.factories import customer

pytestmark = pytest.mark.django_db
WIDE = (timedelta(days=30), timedelta(minutes=1))


def _earned(shop, window=7):
    t = now()
    return attribute(shop, t - WIDE[0], t + WIDE[1], window)


def test_click_then_order_in_window_is_attributed_once_even_after_many_clicks(shop):
    mug, cap = product(shop, "Mug", "20.00"), product(shop, "Cap", "15.00")
    t = now()
    for hours in (50, 30, 2):
        click(shop, "v1", mug, t - timedelta(hours=hours))
    order(shop, "v1", [mug, cap], t - timedelta(hours=1))
    earned = _earned(shop)
    slot = earned[("widget", "also_bought")]
    assert len(slot.orders) == 1
    assert slot.revenue == Decimal("20.00")  # the mug line only, once; the unclicked cap earns nothing
    assert slot.view_revenue == 0


def test_order_outside_the_window_is_not_attributed(shop):
    mug = product(shop)
    t = now()
    click(shop, "v1", mug, t - timedelta(days=9))
    order(shop, "v1", [mug], t - timedelta(days=1))  # 8 days after the click, window 7
    assert ("widget", "also_bought") not in _earned(shop)
    # The merchant widens the window: now it counts.
    assert _earned(shop, window=10)[("widget", "also_bought")].revenue == Decimal("20.00")


def test_click_after_the_order_or_by_another_visitor_does_not_count(shop):
    mug = product(shop)
    t = now()
    order(shop, "v1", [mug], t - timedelta(hours=5))
    click(shop, "v1", mug, t - timedelta(hours=1))
    click(shop, "v2", mug, t - timedelta(hours=8))
    assert ("widget", "also_bought") not in _earned(shop)


def test_refund_reduces_attributed_revenue(shop):
    mug = product(shop, price="20.00")
    t = now()
    click(shop, "v1", mug, t - timedelta(hours=3))
    order(shop, "v1", [mug], t - timedelta(hours=2), refunded_quantity=1)
    slot = _earned(shop)[("widget", "also_bought")]
    assert len(slot.orders) == 1 and slot.revenue == Decimal("0.00")


def test_order_level_refund_is_spread_over_lines(shop):
    mug = product(shop, price="20.00")
    t = now()
    click(shop, "v1", mug, t - timedelta(hours=3))
    order(shop, "v1", [mug], t - timedelta(hours=2), total_refunded=Decimal("5.00"))
    assert _earned(shop)[("widget", "also_bought")].revenue == Decimal("15.00")


def test_view_through_is_separate_from_click_through(shop):
    mug = product(shop)
    t = now()
    event(shop, EventType.WIDGET_IMPRESSION, "v1", t - timedelta(hours=3), widget="bestsellers")
    order(shop, "v1", [mug], t - timedelta(hours=1))
    slot = _earned(shop)[("widget", "bestsellers")]
    assert slot.orders == set() and slot.revenue == 0
    assert len(slot.view_orders) == 1 and slot.view_revenue == Decimal("20.00")


def test_line_property_is_direct_evidence_and_stitched_customer_counts(shop):
    mug, cap = product(shop), product(shop, "Cap", "15.00")
    t = now()
    order(shop, "", [cap], t - timedelta(hours=1), widget_property="recently_viewed")
    buyer = customer(shop)
    VisitorIdentity.objects.create(shop=shop, visitor_id="v9", customer=buyer)
    click(shop, "v9", mug, t - timedelta(hours=4), widget="bestsellers")
    order(shop, "", [mug], t - timedelta(hours=2), customer=buyer)  # no cart attribute: stitched visitor
    earned = _earned(shop)
    assert earned[("widget", "recently_viewed")].revenue == Decimal("15.00")
    assert earned[("widget", "bestsellers")].revenue == Decimal("20.00")


def test_other_shops_clicks_never_attribute(shop, other_shop):
    mug = product(shop)
    other_mug = product(other_shop)
    t = now()
    click(other_shop, "v1", other_mug, t - timedelta(hours=3))
    order(shop, "v1", [mug], t - timedelta(hours=1))
    assert ("widget", "also_bought") not in _earned(shop)


def test_rollup_job_feeds_the_analytics_page_and_csv(client, shop):
    from backend.dashboard.tasks import rollup_one_shop
    from tests.dashboard.factories import member

    mug = product(shop)
    t = now()
    # The activity must fall on today's UTC day (the row asserted below), also when the test runs just after
    # midnight UTC: start at most 30 minutes back, never before 00:00, and keep impression < click < order <= now.
    start = max(t - timedelta(minutes=30), t.replace(hour=0, minute=0, second=0, microsecond=0))
    step = (t - start) / 4
    event(shop, EventType.WIDGET_IMPRESSION, "v1", start + step)
    event(shop, EventType.WIDGET_IMPRESSION, "v2", start + step)
    click(shop, "v1", mug, start + 2 * step)
    order(shop, "v1", [mug], start + 3 * step)
    ShopSettings.objects.create(shop=shop, attribution_window_days=3)
    assert rollup_one_shop(shop.pk) > 0
    today = DailyRollup.objects.for_shop(shop).get(day=t.date(), source_kind="widget", source_key="also_bought")
    assert (today.impressions, today.clicks, today.orders, today.revenue) == (2, 1, 1, Decimal("20.00"))
    assert DailyRollup.objects.for_shop(shop).values("day").distinct().count() == 4  # window + today
    rollup_shop(shop)  # rerun: upserted, not doubled
    assert DailyRollup.objects.for_shop(shop).filter(source_key="also_bought").count() == 1

    member(shop)
    client.post("/admin/login/", {"username": "ana@example.com", "password": "correct horse 42"})
    html = client.get("/admin/analytics/?lang=es").content.decode()
    assert "Ingresos atribuidos por origen" in html and "<svg" in html and "<details" in html
    assert "50.0%" in html  # CTR 1/2
    csv_text = client.get("/admin/analytics/?format=csv").content.decode()
    assert "also_bought" not in csv_text.splitlines()[0]
    assert any(line.endswith(",2,1,0,1,20.00,0,0.00,0.00") or ",2,1,0,1,20.00," in line
               for line in csv_text.splitlines()[1:])


def test_popup_earns_its_converted_visitors_orders_and_their_discount_cost(shop):
    mug = product(shop, price="20.00")
    t = now()
    event(shop, EventType.POPUP_CONVERTED, "v1", t - timedelta(hours=2), widget="7")
    order(shop, "v1", [mug], t - timedelta(hours=1), total_discounts=Decimal("2.00"))
    order(shop, "v2", [mug], t - timedelta(hours=1), total_discounts=Decimal("2.00"))  # never saw the popup
    slot = _earned(shop)[("popup", "7")]
    assert len(slot.orders) == 1 and slot.revenue == Decimal("20.00") and slot.discount_cost == Decimal("2.00")

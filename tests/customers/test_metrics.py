"""Shop metrics, by their stated definitions."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.customers import metrics
from backend.customers.identities import resolve_customer, resolve_visitor
from backend.customers.profiles import refresh_profile

from .factories import make_customer, make_event, make_order

pytestmark = pytest.mark.django_db


def test_retention_counts_people_across_channels(shop):
    now = timezone.now()
    start, end = now - timedelta(days=30), now
    online = make_customer(shop, email="same@example.com")
    pos = make_customer(shop, email="same@example.com")  # the same person at the till
    other = make_customer(shop, email="o@example.com")
    newcomer = make_customer(shop, email="n@example.com")
    for c in (online, pos, other, newcomer):
        resolve_customer(c)
    make_order(shop, online, "10", days_ago=60)
    make_order(shop, pos, "10", days_ago=5, channel="pos")  # bought again, at the shop
    make_order(shop, other, "10", days_ago=90)  # did not come back
    make_order(shop, newcomer, "10", days_ago=3)  # not a customer at the start: not in the base
    r = metrics.retention_rate(shop, start, end)
    assert (r.numerator, r.denominator) == (1, 2) and r.value == 0.5


def test_repeat_rate_and_aov_net_of_refunds(shop):
    a, b = make_customer(shop, email="a@x.io"), make_customer(shop, email="b@x.io")
    make_order(shop, a, "100", days_ago=3, total_refunded=Decimal("40"))
    make_order(shop, a, "20", days_ago=2)
    make_order(shop, b, "30", days_ago=1)
    make_order(shop, b, "999", days_ago=1, cancelled_at=timezone.now())
    for c in (a, b):
        refresh_profile(resolve_customer(c))
    assert metrics.repeat_purchase_rate(shop).value == 0.5
    now = timezone.now()
    assert metrics.average_order_value(shop, now - timedelta(days=7), now) == Decimal("36.67")  # (60+20+30)/3
    assert metrics.average_order_value(shop, now - timedelta(days=90), now - timedelta(days=30)) is None


def test_conversion_is_sessions_with_an_order_over_sessions(shop):
    buyer = make_customer(shop, email="buyer@x.io")
    resolve_visitor(shop.pk, "vb", buyer.pk)
    from backend.events.models import VisitorIdentity

    VisitorIdentity.objects.create(shop=shop, visitor_id="vb", customer=buyer)
    t0 = timezone.now() - timedelta(hours=5)
    make_event(shop, "product_viewed", "vb", "s-buy", at=t0)
    make_event(shop, "added_to_cart", "vb", "s-buy", at=t0 + timedelta(minutes=4))
    make_order(shop, buyer, "25", at=t0 + timedelta(minutes=20))  # within 30 min of the last event
    make_event(shop, "product_viewed", "vb", "s-browse", at=t0 + timedelta(hours=3))  # no order this time
    make_event(shop, "product_viewed", "anon", "s-anon", at=t0)
    make_event(shop, "product_viewed", "anon", "", at=t0)  # no session id: not a session
    r = metrics.conversion_rate(shop, t0 - timedelta(hours=1), timezone.now())
    assert (r.numerator, r.denominator) == (1, 3)


def test_definitions_exist_in_both_languages():
    for name in ("retention_rate", "repeat_purchase_rate", "aov", "conversion_rate"):
        assert metrics.DEFINITIONS[name]["en"] and metrics.DEFINITIONS[name]["es"]
    assert "before the period started" in metrics.DEFINITIONS["retention_rate"]["en"]

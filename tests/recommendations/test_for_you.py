"""Recommended for you: a shopper's purchases, cart and views through the co-purchase lists; no analytics consent
means no views or cart read; no history means the bestsellers of the shopper's segment."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.events.models import Event, EventType
from backend.recommendations import also_bought, bestsellers
from backend.recommendations.for_you import recommend_for
from backend.recommendations.registry import PERSONAL_WIDGETS, WIDGETS, RecommendationContext, recommend

from . import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(shop):
    """Tent goes with stove, kayak with paddle (four customers each, two months ago); this week socks sold most in
    Spain, mugs overall."""
    p = {name: f.product(shop, name) for name in ("tent", "stove", "kayak", "paddle", "socks", "mug", "lamp")}
    week, earlier = timezone.now() - timedelta(days=3), timezone.now() - timedelta(days=60)
    for pair in (("tent", "stove"), ("kayak", "paddle")):  # older than every bestseller window
        for _ in range(4):
            c = f.customer(shop)
            f.order(shop, [p[pair[0]]], customer=c, when=earlier)
            f.order(shop, [p[pair[1]]], customer=c, when=earlier + timedelta(days=1))
    for _ in range(3):
        f.order(shop, [p["socks"]], shipping_address={"country_code": "ES"}, when=week)
    for _ in range(6):
        f.order(shop, [p["mug"]], shipping_address={"country_code": "US"}, when=week)
    also_bought.full_recompute(shop)
    bestsellers.rebuild(shop)
    return p


def _event(shop, kind, product, visitor="v-1", customer=None, days_ago=0):
    return Event.objects.create(shop=shop, visitor_id=visitor, session_id=f"s-{visitor}", type=kind, product=product,
                                customer=customer, created_at=timezone.now() - timedelta(days=days_ago))


def test_a_customers_purchase_brings_its_companion_not_itself(shop, store):
    buyer = f.customer(shop)
    f.order(shop, [store["tent"]], customer=buyer)
    picks = recommend_for(shop, customer_id=buyer.pk, limit=4)
    assert picks[0] == store["stove"].pk
    assert store["tent"].pk not in picks and len(picks) == 4  # topped up from bestsellers


def test_a_visitors_views_and_cart_count_with_consent_only(shop, store):
    _event(shop, EventType.PRODUCT_VIEWED, store["kayak"])
    _event(shop, EventType.ADDED_TO_CART, store["tent"], days_ago=1)
    with_consent = recommend_for(shop, visitor_id="v-1", limit=3)
    assert set(with_consent[:2]) == {store["paddle"].pk, store["stove"].pk}
    # The fresher view outweighs nothing here: the cart add (stronger kind) leads despite being a day older.
    assert with_consent[0] == store["stove"].pk
    without = recommend_for(shop, visitor_id="v-1", limit=3, consent=False)
    assert store["paddle"].pk not in without and store["stove"].pk not in without
    assert without[0] == store["mug"].pk  # everyone's bestseller


def test_the_widget_without_consent_serves_the_segments_bestsellers(shop, store):
    _event(shop, EventType.PRODUCT_VIEWED, store["kayak"])
    ctx = RecommendationContext(visitor_id="v-1", segment="country:ES", limit=3, personal=False)
    picks = recommend(shop, "for_you", ctx)
    assert picks[0] == store["socks"].pk and store["paddle"].pk not in picks
    personal = recommend(shop, "for_you", RecommendationContext(visitor_id="v-1", segment="country:ES", limit=3))
    assert personal[0] == store["paddle"].pk
    assert "for_you" in WIDGETS and "for_you" in PERSONAL_WIDGETS


def test_a_new_visitor_gets_the_bestsellers_of_their_segment(shop, store):
    assert recommend(shop, "for_you", RecommendationContext(visitor_id="new", segment="country:ES",
                                                            limit=2))[0] == store["socks"].pk
    assert recommend_for(shop, visitor_id="new", limit=2)[0] == store["mug"].pk


def test_a_stitched_visitor_gets_the_customers_purchases_and_out_of_stock_never_shows(shop, store):
    from backend.events.models import VisitorIdentity

    buyer = f.customer(shop)
    f.order(shop, [store["kayak"]], customer=buyer)
    VisitorIdentity.objects.create(shop=shop, visitor_id="v-9", customer=buyer)
    assert recommend_for(shop, visitor_id="v-9", limit=2)[0] == store["paddle"].pk
    store["paddle"].total_inventory = 0
    store["paddle"].save()
    store["paddle"].variants.update(inventory_quantity=0)
    assert store["paddle"].pk not in recommend_for(shop, visitor_id="v-9", limit=5)


def test_a_rebuyable_purchase_comes_back_a_recent_view_does_not(shop, store):
    from backend.recommendations.models import ProductPreference

    # Bought tent and stove; the stove's fuel-like re-buyable flag lets the tent's list bring it back.
    buyer = f.customer(shop)
    f.order(shop, [store["tent"], store["stove"]], customer=buyer)
    assert store["stove"].pk not in recommend_for(shop, customer_id=buyer.pk, limit=6)
    ProductPreference.objects.create(shop=shop, product=store["stove"], rebuyable=True)
    picks = recommend_for(shop, customer_id=buyer.pk, limit=6)
    assert picks[0] == store["stove"].pk and store["tent"].pk not in picks

    # A view this week is left out (they know it); one from seven weeks ago only steers: it may be shown again.
    _event(shop, EventType.PRODUCT_VIEWED, store["kayak"], visitor="v-2", days_ago=2)
    _event(shop, EventType.PRODUCT_VIEWED, store["paddle"], visitor="v-2", days_ago=50)
    picks = recommend_for(shop, visitor_id="v-2", limit=3)
    assert picks[0] == store["paddle"].pk and store["kayak"].pk not in picks

"""Home is the scoreboard once set-up is done: what the app earned this period against the last (click-through;
view-through apart), and the widgets and popups that earned it; the checklist speaks the shop's platform."""
from __future__ import annotations

from datetime import timedelta

import pytest

from backend.dashboard.rollups import rollup_shop
from backend.events.models import EventType
from backend.shops.models import Shop
from tests.dashboard.factories import click, event, now, order, product, session_token
from tests.dashboard.test_translations import visible_text
from tests.factories import make_shop

pytestmark = pytest.mark.django_db


def _sale(shop, visitor: str, p, days_ago: float, widget: str = "also_bought") -> None:
    t = now() - timedelta(days=days_ago)
    click(shop, visitor, p, t - timedelta(minutes=20), widget=widget)
    order(shop, visitor, [p], t)


@pytest.fixture
def earning(shop):
    """Set up (impressions this week) and selling through the widgets: 3 orders now, 1 in the previous 7 days."""
    shop.currency = "EUR"
    shop.save()
    mug, lamp = product(shop, "Mug", "20.00"), product(shop, "Lamp", "50.00")
    event(shop, EventType.WIDGET_IMPRESSION, "v0", now() - timedelta(hours=2))
    _sale(shop, "v1", mug, 1)
    _sale(shop, "v2", mug, 2)
    _sale(shop, "v3", lamp, 3, widget="bestsellers")
    _sale(shop, "v4", mug, 9)
    rollup_shop(shop, days=16)
    return shop


def _home(client, shop, query: str = "") -> str:
    return visible_text(client.get(f"/admin/?id_token={session_token(shop)}&{query}").content.decode())


def test_home_shows_what_the_app_earned_against_the_previous_period(client, earning):
    text = _home(client, earning, "days=7&lang=en")
    assert "What the app earned in the last 7 days" in text
    assert "Revenue from the app €90.00" in text and "+350%" in text and "previous 7 days: €20.00" in text
    assert "Orders from the app 3" in text and "+200%" in text
    assert "Clicks that became orders 100.0%" in text
    assert "Seen but not clicked (view-through, never added in): 0 orders" in text
    es = _home(client, earning, "days=30&lang=es")
    assert "Lo que ganó la app en los últimos 30 días" in es and "Ingresos gracias a la app 110,00 €" in es


def test_best_sources_are_ordered_by_revenue(client, earning):
    text = _home(client, earning, "days=7&lang=en").split("What earned it")[1]
    assert text.index("Bestsellers") < text.index("Customers also bought")  # €50.00 before €40.00


def test_home_before_set_up_is_the_checklist(client, shop):
    text = _home(client, shop, "lang=en")
    assert "Getting started" in text and "What the app earned" not in text


def test_checklist_speaks_woocommerce_to_woocommerce_shops(client):
    woo = make_shop("tienda.example.com", platform=Shop.Platform.WOOCOMMERCE)
    from tests.dashboard.factories import member

    member(woo)
    client.post("/admin/login/", {"username": "ana@example.com", "password": "correct horse 42"})
    text = visible_text(client.get("/admin/?lang=en").content.decode())
    assert "Install and activate the Personalize plugin in WordPress" in text
    assert "app embed" not in text and "theme editor" not in text.lower()
    shopify = visible_text(client.get(f"/admin/?lang=en&id_token={session_token(make_shop())}").content.decode())
    assert "Enable the app embed in your theme" in shopify

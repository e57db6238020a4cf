"""Placement per page type, layout and card style: saved from the widgets form, answered by the widget API (a page
type the merchant left out gets the widget switched off) and followed by the demo store's pages."""
from __future__ import annotations

import pytest

from backend.demostore.sample import seed_store
from backend.storefront.rules import rule_for
from tests.dashboard.factories import session_token

pytestmark = pytest.mark.django_db
UA = {"HTTP_USER_AGENT": "Mozilla/5.0 Chrome/130.0"}


@pytest.fixture
def store(db):
    return seed_store()


def _save(client, store, widget: str, **fields):
    body = {"id_token": session_token(store.shop), "widget": widget, f"{widget}-enabled": "on",
            f"{widget}-limit": "8", f"{widget}-min_stock": "0", **{f"{widget}-{k}": v for k, v in fields.items()}}
    return client.post("/admin/widgets/", body)


def test_the_form_saves_placement_layout_and_style(client, store):
    assert _save(client, store, "bestsellers", placements_shown="1", placements=["home", "collection"],
                 layout="grid", card_style="minimal").status_code == 302
    rule = rule_for(store.shop, "bestsellers")
    assert rule.placements == {"home", "collection"} and rule.layout == "grid" and rule.card_style == "minimal"
    # Nothing ticked means nowhere; a form from before placements (no marker) leaves every page.
    _save(client, store, "bestsellers", placements_shown="1")
    assert rule_for(store.shop, "bestsellers").placements == frozenset()
    _save(client, store, "bestsellers")
    assert rule_for(store.shop, "bestsellers").placements == {"product", "collection", "cart", "home"}
    refused = _save(client, store, "bestsellers", layout="masonry", placements_shown="1", placements=["checkout"])
    assert refused.status_code == 200 and "Layout" in refused.content.decode()


def test_the_api_switches_a_widget_off_where_it_is_not_placed(client, store):
    _save(client, store, "also_bought", placements_shown="1", placements=["product"], layout="grid",
          card_style="compact")
    url = "/api/storefront/widgets/also_bought"
    key = {"key": store.shop.public_key, "product": store.pid("trail-jacket")}
    on = client.get(url, {**key, "page": "product"}, **UA).json()
    assert on["enabled"] and on["items"] and on["layout"] == "grid" and on["style"] == "compact"
    off = client.get(url, {**key, "page": "cart"}, **UA).json()
    assert off["enabled"] is False and off["items"] == []
    assert client.get(url, key, **UA).json()["items"]  # a page that does not say: shown, as before
    assert client.get(url, {**key, "page": "<checkout>"}, **UA).status_code == 400


def test_demo_pages_leave_out_what_the_merchant_did_not_place(client, store):
    shop = f"/demo/{store.shop.domain}"
    assert 'data-personalize-widget="bestsellers"' in client.get(f"{shop}/").content.decode()
    _save(client, store, "bestsellers", placements_shown="1", placements=["collection"])
    home = client.get(f"{shop}/").content.decode()
    assert 'data-personalize-widget="bestsellers"' not in home and 'data-personalize-widget="recently_viewed"' in home
    assert 'data-personalize-widget="bestsellers"' in client.get(f"{shop}/collections/outdoor").content.decode()


def test_activity_reads_placement_and_style_in_words(client, store):
    from django.utils import translation

    from backend.dashboard.activity import read
    from backend.dashboard.models import AuditEntry

    _save(client, store, "bestsellers", placements_shown="1", placements=["home"], layout="grid",
          card_style="compact")
    with translation.override("es"):
        changes = {c.field: c.after for line in read(store.shop, list(AuditEntry.objects.for_shop(store.shop)), "es")
                   for c in line.changes}
    assert changes["Mostrar en estas páginas"] == "Página de inicio"
    assert changes["Disposición"] == "Cuadrícula" and changes["Estilo de las tarjetas"] == "Compacto"


def test_a_title_left_at_the_default_stays_the_default(client, store):
    _save(client, store, "also_bought", title_en="Customers also bought", title_es="Lo que combina")
    rule = rule_for(store.shop, "also_bought")
    assert rule.title_en == "" and rule.title_es == "Lo que combina"
    page = client.get(f"/admin/widgets/?lang=en&id_token={session_token(store.shop)}").content.decode()
    assert 'value="Customers also bought"' in page  # shown, not stored: it follows the app's default

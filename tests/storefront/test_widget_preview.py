"""The widgets screen's preview: unsaved settings, validated like a save, signed into the address the real script
fetches from; nothing but a valid, fresh signature opens a payload, and nothing is saved or counted."""
from __future__ import annotations

import re

import pytest
from django.core import signing

from backend.demostore.sample import seed_store
from backend.storefront import preview
from backend.storefront.models import WidgetRule
from tests.dashboard.factories import session_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(db):
    return seed_store()


def _api(client, store, widget: str, **fields) -> str:
    token = session_token(store.shop)
    html = client.get(f"/admin/widgets/preview/{widget}/", {"id_token": token, **fields}).content.decode()
    return re.search(r'data-api="([^"]+)"', html).group(1)


def test_the_preview_shows_unsaved_settings_and_saves_nothing(client, store):
    api = _api(client, store, "bestsellers", lang="es", product=store.pid("trail-jacket"), **{
        "bestsellers-limit": "3", "bestsellers-title_es": "Lo nuevo",
        "bestsellers-pinned_products": store.pid("day-backpack"),
        "bestsellers-excluded_products": store.pid("water-bottle")})
    body = client.get(f"{api}/widgets/bestsellers", {"locale": "es", "key": "preview"}).json()
    ids = [i["id"] for i in body["items"]]
    assert body["title"] == "Lo nuevo" and len(ids) == 3 and ids[0] == store.pid("day-backpack")
    assert store.pid("water-bottle") not in ids and store.pid("trail-jacket") not in ids  # the product on the page
    assert WidgetRule.objects.for_shop(store.shop).count() == 0
    # The script's events sent to the preview are dropped.
    assert client.post(f"{api}/events", "{}", content_type="text/plain").status_code == 204


def test_no_settings_means_the_saved_rule_and_also_bought_of_the_chosen_product(client, store):
    api = _api(client, store, "also_bought", product=store.pid("trail-jacket"))
    body = client.get(f"{api}/widgets/also_bought", {"locale": "en"}).json()
    assert body["title"] == "Customers also bought"
    assert [i["title"] for i in body["items"][:2]] == ["Wool Hat", "Winter Gloves"]


def test_bad_settings_are_named_in_words_and_get_no_address(client, store):
    html = client.get("/admin/widgets/preview/bestsellers/", {
        "id_token": session_token(store.shop), "lang": "es", "bestsellers-limit": "99"}).content.decode()
    assert "data-api" not in html and "Número de productos" in html


def test_only_a_fresh_valid_signature_opens_a_payload(client, store, other_shop):
    api = _api(client, store, "bestsellers")
    token = api.rsplit("/", 1)[1]
    assert client.get(f"{api}/widgets/also_bought").status_code == 404  # signed for another widget
    tampered = token[:-2] + ("aa" if not token.endswith("aa") else "bb")
    assert client.get(f"/admin/widgets/preview/api/{tampered}/widgets/bestsellers").status_code == 404
    old = signing.dumps({"s": store.shop.pk, "w": "bestsellers", "p": None, "r": {}}, salt=preview.SALT)
    assert preview.unsign(old) is not None
    assert preview.unsign(old.replace(":", ";", 1)) is None
    # A preview page needs the merchant; the frame may be shown by our own pages only.
    assert client.get("/admin/widgets/preview/bestsellers/").status_code == 302
    page = client.get("/admin/widgets/preview/bestsellers/", {"id_token": session_token(store.shop)})
    assert page["X-Frame-Options"] == "SAMEORIGIN"
    assert page["Content-Security-Policy"].startswith("frame-ancestors 'self' https://widgets-demo.myshopify.com")
    assert client.get("/admin/widgets/preview/for_you/", {"id_token": session_token(store.shop)}).status_code == 404


def test_a_switched_off_widget_says_so_in_its_preview(client, store):
    token = session_token(store.shop)
    off = client.get("/admin/widgets/preview/bestsellers/", {"id_token": token, "lang": "es",
                                                              "bestsellers-limit": "4"}).content.decode()
    assert "está desactivado" in off and "data-api" in off
    on = client.get("/admin/widgets/preview/bestsellers/", {"id_token": token, "bestsellers-limit": "4",
                                                             "bestsellers-enabled": "on"}).content.decode()
    saved = client.get("/admin/widgets/preview/bestsellers/", {"id_token": token}).content.decode()
    assert 'id="preview-off"' not in on and 'id="preview-off"' not in saved  # the saved rule is on

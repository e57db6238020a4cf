"""The demo store's stand-in for Shopify's AJAX cart (`POST /cart/add.js`): what it accepts and what it refuses."""
from __future__ import annotations

import json

import pytest

from tests.widgets.factories import seed_store

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return seed_store()


def add(client, store, body, content_type="application/json"):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(f"/demo/{store.shop.domain}/cart/add.js", raw, content_type=content_type)


def variant_of(store, handle: str) -> str:
    return store.products[handle].variants.get().platform_id


def test_adds_a_variant_with_its_hidden_widget_property(client, store):
    hat = int(variant_of(store, "wool-hat"))
    line = {"id": hat, "quantity": 2, "properties": {"_personalize_widget": "also_bought"}}
    response = add(client, store, {"items": [line]})
    assert response.status_code == 200
    assert response.json()["items"][0]["product_id"] == store.pid("wool-hat")
    assert [list(line) for line in client.session["demo_cart"]] == [[store.pid("wool-hat"), 2]]
    assert client.session["demo_cart_widget"] == {store.pid("wool-hat"): "also_bought"}
    page = client.get(f"/demo/{store.shop.domain}/cart")
    assert "Wool Hat" in page.content.decode()


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("not json", "application/json", 400),
        ({"items": []}, "application/json", 422),
        ({"items": [{"id": "abc"}]}, "application/json", 422),
        ({"items": [{"id": 1, "quantity": 0}]}, "application/json", 422),
        ({"items": [{"id": 1, "quantity": True}]}, "application/json", 422),
        ({"items": [{"id": 999999}]}, "application/json", 404),
        ({"items": [{"id": 1, "properties": {"x": 1}}]}, "application/json", 422),
        ({"items": [{"id": 1}] * 11}, "application/json", 422),
        ("id=1", "application/x-www-form-urlencoded", 415),
        ('{"items": [' + '{"id": 1},' * 2000 + '{"id": 1}]}', "application/json", 413),
    ],
)
def test_refuses_bad_input_with_a_reason(client, store, body, content_type, status):
    response = add(client, store, body, content_type)
    assert response.status_code == status
    assert response.json()["description"]
    assert not client.session.get("demo_cart")


def test_another_shops_variant_is_not_found(client, store):
    other = seed_store(domain="other-demo.myshopify.com")
    other.products["wool-hat"].variants.update(platform_id="777001")
    response = add(client, store, {"items": [{"id": 777001}]})
    assert response.status_code == 404

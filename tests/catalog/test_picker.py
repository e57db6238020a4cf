"""The admin's pickers find products and collections by title, inside the signed-in merchant's shop only, with
their picture, a capped answer, and a 4xx with a reason for anything odd."""
from __future__ import annotations

import pytest

from backend.catalog.models import Collection, CollectionMembership, Product
from tests.dashboard.factories import session_token

pytestmark = pytest.mark.django_db


def _search(client, shop, **params):
    return client.get("/api/admin/catalog/search", params, HTTP_AUTHORIZATION=f"Bearer {session_token(shop)}")


def test_products_by_title_with_their_picture(client, shop, other_shop):
    Product.objects.create(shop=shop, platform_id="11", title="Blue linen shirt", image_url="https://cdn.example/s.jpg")
    Product.objects.create(shop=shop, platform_id="12", title="Linen", image_url="javascript:alert(1)")
    Product.objects.create(shop=shop, platform_id="13", title="Wool socks")
    Product.objects.create(shop=other_shop, platform_id="99", title="Linen trousers")
    found = _search(client, shop, kind="product", q="  LINEN ").json()["results"]
    # Closest (shortest) title first; the other shop's linen never shows; only http(s) pictures reach the page.
    assert found == [{"id": "12", "title": "Linen", "image": ""},
                     {"id": "11", "title": "Blue linen shirt", "image": "https://cdn.example/s.jpg"}]


def test_wildcards_are_plain_text_and_the_answer_is_capped(client, shop):
    for i in range(30):
        Product.objects.create(shop=shop, platform_id=str(i), title=f"Mug {i}")
    Product.objects.create(shop=shop, platform_id="pct", title="100% cotton")
    assert [r["id"] for r in _search(client, shop, q="%").json()["results"]] == ["pct"]
    assert _search(client, shop, q="_").json()["results"] == []
    assert len(_search(client, shop, q="mug").json()["results"]) == 20


def test_collections_show_a_product_picture(client, shop):
    c = Collection.objects.create(shop=shop, platform_id="c1", title="Summer")
    p = Product.objects.create(shop=shop, platform_id="1", title="Hat", image_url="/demo/img/hat.svg")
    CollectionMembership.objects.create(shop=shop, collection=c, product=p)
    assert _search(client, shop, kind="collection", q="sum").json()["results"] == [
        {"id": "c1", "title": "Summer", "image": "/demo/img/hat.svg"}]


def test_refusals_say_why(client, shop):
    assert _search(client, shop, kind="order").status_code == 400
    assert "100" in _search(client, shop, q="x" * 101).json()["error"]
    assert client.get("/api/admin/catalog/search", {"q": "a"}).status_code == 401
    forged = client.get("/api/admin/catalog/search", HTTP_AUTHORIZATION="Bearer nope")
    assert forged.status_code == 401

"""The widget API's page context beyond one product: a cart's also-bought (`cart=`) and a collection page's
bestsellers that leave out the collection's own grid (`exclude_collection=`), on the demo store's sample orders."""
from __future__ import annotations

import pytest
from django.core.cache import cache

from backend.storefront.access import forget_shops
from tests.widgets.factories import seed_store

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example"
UA = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36"}


@pytest.fixture
def store():
    cache.clear()
    forget_shops()
    yield seed_store(origin=ORIGIN)
    forget_shops()
    cache.clear()


def get(client, store, widget, **params):
    return client.get(f"/api/storefront/widgets/{widget}", {"key": store.shop.public_key, **params},
                      HTTP_ORIGIN=ORIGIN, **UA)


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["items"]]


def test_the_cart_widget_shows_what_goes_with_the_whole_cart(client, store):
    cart = f"{store.pid('trail-jacket')},{store.pid('silk-scarf')}"
    shown = titles(get(client, store, "also_bought", cart=cart))
    # Each line's co-purchases take turns: the jacket's hat, the scarf's socks, then the jacket's gloves.
    assert shown[:3] == ["Wool Hat", "Hiking Socks", "Winter Gloves"], shown
    assert "Trail Jacket" not in shown and "Silk Scarf" not in shown
    one = titles(get(client, store, "also_bought", cart=store.pid("silk-scarf")))
    assert one[0] == "Hiking Socks" and "Silk Scarf" not in one


def test_an_unknown_cart_product_is_ignored(client, store):
    shown = titles(get(client, store, "also_bought", cart=f"123456,{store.pid('trail-jacket')}"))
    assert shown[:2] == ["Wool Hat", "Winter Gloves"]


@pytest.mark.parametrize(
    "cart",
    [",".join(str(n) for n in range(21)), "1,<b>", "1,,2", "x" * 65, ",".join(["1" * 64] * 21)],
)
def test_a_malformed_or_oversized_cart_is_refused(client, store, cart):
    response = get(client, store, "also_bought", cart=cart)
    assert response.status_code == 400
    assert "cart" in response.json()["error"]


def test_bestsellers_on_a_collection_page_leave_out_its_grid(client, store):
    from backend.catalog.models import CollectionMembership

    grid = CollectionMembership.objects.for_shop(store.shop).filter(collection=store.collection)
    outdoor = set(grid.values_list("product__title", flat=True))
    assert {"Trail Jacket", "Wool Hat"} <= outdoor
    everywhere = titles(get(client, store, "bestsellers"))
    assert everywhere[0] == "Water Bottle" and "Trail Jacket" in everywhere
    outside = titles(get(client, store, "bestsellers", exclude_collection=store.collection.platform_id))
    assert outside and outside[0] == "Water Bottle"
    assert not set(outside) & outdoor, outside


def test_a_malformed_excluded_collection_is_refused(client, store):
    response = get(client, store, "bestsellers", exclude_collection="<x>")
    assert response.status_code == 400 and "exclude_collection" in response.json()["error"]

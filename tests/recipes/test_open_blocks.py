"""Open-time recommendation blocks for an ESP: the per-customer feed (secret key), signed slot images drawn with
Pillow when opened, and slot clicks that follow what the slot shows now (a product sold out since is swapped)."""
from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.utils import timezone
from PIL import Image

from backend.catalog.models import Product, Variant
from backend.customers.identities import resolve_customer
from backend.emails import openblocks
from backend.recommendations.also_bought import full_recompute
from backend.storefront import hotcache
from tests.recipes.factories import customer, history, order, product

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_feed_images_and_clicks_follow_stock_at_open_time(client, shop):
    tent, stove, lamp = product(shop, "Tent", "120.00"), product(shop, "Stove", "40.00"), product(shop, "Lamp")
    buyers = [customer(shop, f"b{i}@example.com") for i in range(3)]
    history(shop, [(b, pair) for b in buyers for pair in ([tent, stove], [tent, lamp])],
            when=lambda i: timezone.now() - timedelta(days=5 + i))
    ana = customer(shop, "ana@example.com", country="US")
    resolve_customer(ana)
    order(shop, [tent], ana, when=timezone.now() - timedelta(days=2))
    full_recompute(shop)

    url = f"/email/{shop.public_key}/feed.json"
    assert client.get(url, {"key": "wrong", "email": "ana@example.com"}).status_code == 403
    feed = client.get(url, {"key": openblocks.feed_key(shop), "email": "ana@example.com"}).json()["products"]
    titles = [p["title"] for p in feed]
    assert titles[:2] == ["Stove", "Lamp"] or titles[:2] == ["Lamp", "Stove"]
    assert "ana@example.com" not in feed[0]["image"]  # an opaque signed token, never the address

    image = client.get(_path(feed[0]["image"]))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (openblocks.WIDTH, openblocks.HEIGHT)
    first = Product.objects.for_shop(shop).get(title=titles[0])
    assert client.get(_path(feed[0]["click"]))["Location"].startswith(f"https://{shop.domain}/products/{first.handle}")

    # The first pick sells out after the send: at open time slot 1 shows (and links to) the next one.
    Product.objects.for_shop(shop).filter(pk=first.pk).update(total_inventory=0)
    Variant.objects.for_shop(shop).filter(product=first).update(inventory_quantity=0)
    cache.clear()
    hotcache.clear()
    from backend.emails.blocks import forget

    forget()
    swapped = client.get(_path(feed[0]["click"]))["Location"]
    assert first.handle not in swapped and "utm_campaign=esp-block" in swapped

    tampered = feed[0]["image"].replace("t=", "t=x")
    assert client.get(_path(tampered)).status_code == 400

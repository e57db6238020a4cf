"""The demo storefront's own words come from the gettext catalogue, in the shopper's language."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_demo_pages_speak_the_shoppers_language(client):
    from backend.demostore.sample import seed_store

    store = seed_store()
    es = client.get(f"/demo/{store.shop.domain}/cart?lang=es").content.decode()
    assert "Tu carrito está vacío." in es and '<html lang="es">' in es
    en = client.get(f"/demo/{store.shop.domain}/cart?lang=en").content.decode()
    assert "Your cart is empty." in en and "Carrito" not in en

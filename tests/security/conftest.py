"""Shared pieces for the hostile-input tests: shops on both platforms and a census of every table."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import pytest
from django.apps import apps
from django.conf import settings

# 3,000 `[` then 3,000 `]`: deeper than Python's recursion limit, which made the JSON parsers raise RecursionError.
DEEP = b"[" * 3000 + b"]" * 3000


def all_rows() -> dict[str, int]:
    """Row count of every table the app owns (refused input must change none of them)."""
    return {
        model._meta.label: model._base_manager.count()
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label not in {"contenttypes", "auth", "sessions", "admin"}
    }


def shopify_hmac(body: bytes, secret: str | None = None) -> str:
    key = (settings.SHOPIFY_API_SECRET if secret is None else secret).encode()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


@pytest.fixture
def shops(db):
    """An installed Shopify shop and a connected WooCommerce shop (with its webhook secret)."""
    from backend.shops.models import Shop
    from integrations.woocommerce.models import WooStore
    from tests.factories import make_shop

    shopify = make_shop("hostile.myshopify.com")
    woo = make_shop("woo.example.com", platform=Shop.Platform.WOOCOMMERCE)
    woo.access_token = "ck_" + "a" * 40
    woo.refresh_token = "cs_" + "b" * 40
    woo.save()
    store = WooStore.objects.create(shop=woo, store_url="https://woo.example.com", key_id="1",
                                    key_permissions="read_write", webhook_secret=secrets.token_urlsafe(32))
    return shopify, woo, store

"""Factories for test data, one function per model, always scoped to a shop."""
from __future__ import annotations

from backend.shops.models import Shop


def make_shop(domain: str = "alpha.myshopify.com", platform: str = Shop.Platform.SHOPIFY, **kw) -> Shop:
    shop = Shop(platform=platform, domain=domain, **kw)
    shop.access_token = kw.get("access_token", "shpat_test_token")
    shop.mark_installed()
    shop.save()
    return shop

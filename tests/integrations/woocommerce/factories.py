"""A shop connected to a stand-in store without going through wc-auth (the connect tests do that part)."""
from __future__ import annotations

import secrets

from backend.shops.models import Shop
from integrations.woocommerce.auth import shop_domain
from integrations.woocommerce.models import WooStore
from tests.standins.woocommerce import WooStandin


def connect_shop(standin: WooStandin, permissions: str = "read_write") -> Shop:
    key = standin.create_key(permissions)
    shop = Shop(platform=Shop.Platform.WOOCOMMERCE, domain=shop_domain(standin.url), currency="EUR")
    shop.access_token = key.consumer_key
    shop.refresh_token = key.consumer_secret
    shop.mark_installed()
    shop.save()
    WooStore.objects.create(shop=shop, store_url=standin.url, key_id=str(key.key_id), key_permissions=permissions,
                            webhook_secret=secrets.token_urlsafe(32))
    return shop

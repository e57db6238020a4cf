"""Hand the theme app extension what it needs to talk to us: the shop's public key, as an app-owned metafield.

The app embed reads `app.metafields.personalize.public_key`; app-owned metafields need no extra access scope.
"""
from __future__ import annotations

import logging

from backend.shops.models import Shop

from . import documents
from .client import ShopifyClient

logger = logging.getLogger("personalize.shopify.storefront_config")
NAMESPACE = "personalize"


class StorefrontConfigError(RuntimeError):
    pass


def publish_storefront_config(shop: Shop, client: ShopifyClient | None = None) -> None:
    own = client is None
    client = client or ShopifyClient(shop)
    try:
        data = client.graphql(documents.CURRENT_APP_INSTALLATION)
        owner = data["currentAppInstallation"]["id"]
        result = client.graphql(
            documents.SET_APP_METAFIELDS,
            {"metafields": [{"ownerId": owner, "namespace": NAMESPACE, "key": "public_key",
                             "type": "single_line_text_field", "value": shop.public_key}]},
        )["metafieldsSet"]
    finally:
        if own:
            client.close()
    if result["userErrors"]:
        raise StorefrontConfigError(f"metafieldsSet refused: {result['userErrors']}")
    logger.info("published storefront config shop=%s", shop.domain)

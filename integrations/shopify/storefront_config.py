"""Hand the theme app extension what it needs to talk to us: the shop's public key and its popup gate, as
app-owned metafields.

The app embed reads `app.metafields.personalize.public_key` and `.popup_gate`; app-owned metafields need no extra
access scope. Published on install and again whenever a campaign is saved (backend/popups/campaigns.py).
"""
from __future__ import annotations

import json
import logging

from backend.popups.gate import page_gate
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
                             "type": "single_line_text_field", "value": shop.public_key},
                            # Which popup campaigns a page could show (the app embed prints it as data-popup-gate):
                            # the script loads the popup chunk only when one can apply to the visitor.
                            {"ownerId": owner, "namespace": NAMESPACE, "key": "popup_gate", "type": "json",
                             "value": json.dumps(page_gate(shop.pk), separators=(",", ":"))}]},
        )["metafieldsSet"]
    finally:
        if own:
            client.close()
    if result["userErrors"]:
        raise StorefrontConfigError(f"metafieldsSet refused: {result['userErrors']}")
    logger.info("published storefront config shop=%s", shop.domain)

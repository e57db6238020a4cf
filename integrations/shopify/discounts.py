"""Single-use discount codes on Shopify for popups' code pools (needs the `write_discounts` scope).

One code discount per code: `usageLimit: 1` makes it single-use store-wide, `endsAt` makes it expire. Percent
offers go through `discountCodeBasicCreate`, free shipping through `discountCodeFreeShippingCreate`.
"""
from __future__ import annotations

import logging

from django.conf import settings

from backend.shops.models import Shop
from integrations.base.errors import IntegrationError
from integrations.base.platform import CreatedDiscountCode, DiscountCodeSpec

from . import documents
from .client import ShopifyClient

logger = logging.getLogger("personalize.shopify")


def _all_buyers() -> dict:
    """Who may use the code: everyone. 2026-04's schema has no `customerSelection` any more (Shopify rejects the
    whole input), only `context`; the older versions the app may still be pinned to know only the former."""
    if settings.SHOPIFY_API_VERSION >= "2026-01":
        return {"context": {"all": "ALL"}}
    return {"customerSelection": {"all": True}}


def discount_input(spec: DiscountCodeSpec) -> dict:
    common = {
        "title": spec.title or spec.code,
        "code": spec.code,
        "startsAt": spec.starts_at.isoformat(),
        "endsAt": spec.ends_at.isoformat(),
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
        **_all_buyers(),
    }
    if spec.kind == "free_shipping":
        return {**common, "destination": {"all": True}}
    return {**common, "customerGets": {"value": {"percentage": float(spec.value) / 100}, "items": {"all": True}}}


def create_discount_codes(shop: Shop, codes: list[DiscountCodeSpec]) -> list[CreatedDiscountCode]:
    """The codes Shopify accepted. A failing call (after the client's own retries) ends the batch but keeps what
    was created before it, so those codes still reach the pool; the next refill makes the rest."""
    created = []
    with ShopifyClient(shop) as client:
        for spec in codes:
            try:
                if spec.kind == "free_shipping":
                    data = client.graphql(documents.DISCOUNT_CODE_FREE_SHIPPING_CREATE,
                                          {"freeShippingCodeDiscount": discount_input(spec)}, expected_cost=10)
                    payload = data.get("discountCodeFreeShippingCreate") or {}
                else:
                    data = client.graphql(documents.DISCOUNT_CODE_BASIC_CREATE,
                                          {"basicCodeDiscount": discount_input(spec)}, expected_cost=10)
                    payload = data.get("discountCodeBasicCreate") or {}
            except IntegrationError as exc:
                logger.warning("discount code creation stopped shop=%s after %s codes: %s", shop.domain,
                               len(created), exc)
                break
            errors = payload.get("userErrors") or []
            node = payload.get("codeDiscountNode") or {}
            if errors or not node.get("id"):
                # A taken code or a rejected input skips this one code; the pool refills with others next time.
                logger.warning("discount code refused shop=%s: %s", shop.domain,
                               "; ".join(str(e.get("message")) for e in errors))
                continue
            created.append(CreatedDiscountCode(code=spec.code, platform_id=node["id"]))
    return created

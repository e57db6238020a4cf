"""Single-use coupons on WooCommerce for popups' code pools (REST `POST /wc/v3/coupons`).

Written to the documented fields: `usage_limit: 1` makes a coupon single-use, `date_expires_gmt` makes it expire, a
free-shipping coupon is a zero-amount coupon with `free_shipping: true`. Tested against the WooCommerce stand-in,
which refuses a code the store already has, as WooCommerce does.
"""
from __future__ import annotations

import logging
from datetime import UTC

from backend.core.json_input import MAX_API_RESPONSE_BYTES, parse_json
from backend.shops.models import Shop
from integrations.base.errors import IntegrationError
from integrations.base.platform import CreatedDiscountCode, DiscountCodeSpec

from .client import WooClient

logger = logging.getLogger("personalize.woocommerce")


def coupon_body(spec: DiscountCodeSpec) -> dict:
    body = {
        "code": spec.code,
        "description": spec.title,
        "usage_limit": 1,
        "usage_limit_per_user": 1,
        "date_expires_gmt": spec.ends_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "individual_use": True,
    }
    if spec.kind == "free_shipping":
        return {**body, "discount_type": "fixed_cart", "amount": "0", "free_shipping": True}
    return {**body, "discount_type": "percent", "amount": f"{spec.value:.2f}"}


def create_discount_codes(shop: Shop, codes: list[DiscountCodeSpec]) -> list[CreatedDiscountCode]:
    client = WooClient.for_shop(shop)
    created = []
    for spec in codes:
        try:
            data = parse_json(client.request("POST", "coupons", data=coupon_body(spec)).content,
                              max_bytes=MAX_API_RESPONSE_BYTES, what="response")
        except (IntegrationError, ValueError) as exc:
            logger.warning("coupon refused shop=%s: %s", shop.domain, exc)
            continue
        if isinstance(data, dict) and data.get("id"):
            created.append(CreatedDiscountCode(code=spec.code, platform_id=str(data["id"])))
    return created

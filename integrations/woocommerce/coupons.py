"""Single-use coupons on WooCommerce for popups' code pools (REST `POST /wc/v3/coupons`).

`usage_limit: 1` makes a coupon single-use; a free-shipping coupon is a zero-amount coupon with `free_shipping: true`.
The expiry goes in `date_expires`: WooCommerce's REST schema lists `date_expires_gmt` but the controller never sets
it (the coupon comes back with no expiry), and `date_expires` is read in the site's timezone unless the string
carries its own offset (WC_Data::set_date_prop), so we send UTC with a `Z`. The store's answer is read back: a
coupon whose stored expiry is not ours is deleted rather than handed out as a code that never expires. Tested
against the WooCommerce stand-in, which stores dates the same way and refuses a code the store already has.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime

from backend.core.json_input import MAX_API_RESPONSE_BYTES, parse_json
from backend.shops.models import Shop
from integrations.base.errors import IntegrationError
from integrations.base.platform import CreatedDiscountCode, DiscountCodeSpec

from .client import WooClient

logger = logging.getLogger("personalize.woocommerce")
BATCH = 100  # WooCommerce's batch and per_page limit


def coupon_body(spec: DiscountCodeSpec) -> dict:
    body = {
        "code": spec.code,
        "description": spec.title,
        "usage_limit": 1,
        "usage_limit_per_user": 1,
        "date_expires": _utc(spec.ends_at) + "Z",
        "individual_use": True,
    }
    if spec.kind == "free_shipping":
        return {**body, "discount_type": "fixed_cart", "amount": "0", "free_shipping": True}
    return {**body, "discount_type": "percent", "amount": f"{spec.value:.2f}"}


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


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
        if not isinstance(data, dict) or not data.get("id"):
            continue
        if data.get("date_expires_gmt") != _utc(spec.ends_at):
            logger.warning("coupon %s kept expiry %r, not %s; deleting it shop=%s", data["id"],
                           data.get("date_expires_gmt"), _utc(spec.ends_at), shop.domain)
            delete_coupons(shop, [str(data["id"])], client)
            continue
        created.append(CreatedDiscountCode(code=spec.code, platform_id=str(data["id"])))
    return created


def delete_coupons(shop: Shop, coupon_ids: list[str], client: WooClient | None = None) -> list[str]:
    """Delete coupons for good (a batch deletes, not trashes, so their codes are not kept taken), 100 per request;
    returns the ids the store deleted."""
    client = client or WooClient.for_shop(shop)
    deleted: list[str] = []
    ids = [int(i) for i in coupon_ids if str(i).isdecimal()]
    for start in range(0, len(ids), BATCH):
        try:
            answer = client.request("POST", "coupons/batch", data={"delete": ids[start:start + BATCH]}).json()
        except (IntegrationError, ValueError) as exc:
            logger.info("could not delete coupons shop=%s: %s", shop.domain, exc)
            continue
        items = answer.get("delete") if isinstance(answer, dict) else None
        deleted += [str(i["id"]) for i in items or [] if isinstance(i, dict) and "error" not in i and i.get("id")]
    return deleted


def delete_unused_coupons(shop: Shop, client: WooClient | None = None) -> int:
    """On disconnect: the popup coupons we created that no order used go from the store (and from our pools).
    The store's usage_count decides, not our status: an order we have not seen yet may have used one."""
    from backend.popups.models import DiscountCode

    ours = DiscountCode.objects.for_shop(shop).exclude(status=DiscountCode.Status.USED).exclude(platform_id="")
    ids = [pid for pid in ours.values_list("platform_id", flat=True) if pid.isdecimal()]
    if not ids:
        return 0
    client = client or WooClient.for_shop(shop)
    unused: list[str] = []
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        try:
            page = client.page("coupons", 1, per_page=BATCH, include=",".join(chunk))
        except IntegrationError as exc:
            logger.info("could not read coupons shop=%s: %s", shop.domain, exc)
            continue
        unused += [str(c["id"]) for c in page.items if not c.get("usage_count")]
    deleted = delete_coupons(shop, unused, client)
    DiscountCode.objects.for_shop(shop).filter(platform_id__in=deleted).delete()
    logger.info("deleted %d unused popup coupons shop=%s", len(deleted), shop.domain)
    return len(deleted)

"""A customer's tags on WooCommerce, which has none of its own: kept in one customer meta entry,
`personalize_tags`, as a comma-separated list ("vip, cart-left"), the way Shopify writes tags as text. A meta
entry because the REST API edits it without touching the rest (PUT /customers/<id> with only that key leaves
every other meta entry as it was), and because other plugins (AutomateWoo's "customer custom field" rules, an
export) can read it. A key without a leading underscore, so the REST API does not treat it as protected.

Changing it is a read, then a write of our key alone, and only when it changes (idempotent; the caller holds a lock
per customer so two steps tagging one customer at once do not lose each other's tag). The key needs write
permission: a read-only key reads fine and is refused the write (401, "does not have write permissions"; a user
who may not edit customers: 403 woocommerce_rest_cannot_edit), raised as MissingScope.
"""
from __future__ import annotations

from backend.shops.models import Shop
from integrations.base.errors import ClientError, Forbidden, MissingScope, NotFound, Unauthorized

from .client import WooClient

META_KEY = "personalize_tags"
WRITE_SCOPE = "read_write"


class TagRefused(ClientError):
    """WooCommerce refused the change itself (no such customer, a value it will not take)."""


def tags_of(customer: dict) -> list[str]:
    for entry in customer.get("meta_data") or []:
        if isinstance(entry, dict) and entry.get("key") == META_KEY and isinstance(entry.get("value"), str):
            return [t for t in (part.strip() for part in entry["value"].split(",")) if t]
    return []


def _changed(current: list[str], tag: str, mode: str) -> list[str]:
    lowered = tag.lower()  # compared as Shopify compares tags: "VIP" is "vip"
    if mode == "add":
        return current if any(t.lower() == lowered for t in current) else [*current, tag]
    return [t for t in current if t.lower() != lowered]


def change_tag(shop: Shop, platform_id: str, tag: str, mode: str, *, client: WooClient | None = None) -> bool:
    """Add or remove one tag; True when the store was written, False when it already was as asked."""
    if not str(platform_id).isdigit():
        raise TagRefused(f"not a WooCommerce customer id: {str(platform_id)[:30]}", shop_domain=shop.domain)
    client = client or WooClient.for_shop(shop)
    try:
        customer = client.get(f"customers/{int(platform_id)}")
    except NotFound as exc:
        raise TagRefused("customer not found in the store", shop_domain=shop.domain, status=404) from exc
    current = tags_of(customer if isinstance(customer, dict) else {})
    wanted = _changed(current, tag, mode)
    if wanted == current:
        return False
    # A null value deletes the entry (WC_Data::save_meta_data): no empty key left behind on the last removal.
    body = {"meta_data": [{"key": META_KEY, "value": ", ".join(wanted) if wanted else None}]}
    try:
        client.request("PUT", f"customers/{int(platform_id)}", data=body)
    except (Unauthorized, Forbidden) as exc:
        # The same key just read this customer: what it lacks is the right to write.
        raise MissingScope(f"the store refused the write ({exc.status})", scope=WRITE_SCOPE,
                           shop_domain=shop.domain, status=exc.status) from exc
    except ClientError as exc:
        raise TagRefused(str(exc)[:300], shop_domain=shop.domain, status=exc.status) from exc
    return True

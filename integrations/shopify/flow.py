"""Firing the app's Shopify Flow trigger (the flow_trigger extension in integrations/shopify/flow/) with
flowTriggerReceive, so a recipe step can start any workflow the merchant builds in Flow."""
from __future__ import annotations

from backend.shops.models import Shop
from integrations.base.errors import IntegrationError

from . import documents
from .client import ShopifyClient

RECIPE_STEP_HANDLE = "recipe-step-reached"
MAX_PAYLOAD = 50_000  # bytes: Flow's limit on a trigger payload


class FlowRefused(IntegrationError):
    """Flow answered with user errors (unknown handle, a payload that doesn't match the trigger's fields)."""


def fire(shop: Shop, handle: str, payload: dict) -> None:
    with ShopifyClient(shop) as client:
        data = client.graphql(documents.FLOW_TRIGGER_RECEIVE, {"handle": handle, "payload": payload},
                              expected_cost=10)
    errors = (data.get("flowTriggerReceive") or {}).get("userErrors") or []
    if errors:
        raise FlowRefused("; ".join(str(e.get("message")) for e in errors)[:500], shop_domain=shop.domain)


def recipe_step_payload(customer_platform_id: str, recipe_key: str, step_number: int, value_tier: str) -> dict:
    """The trigger's fields (see its shopify.extension.toml): a customer reference by numeric id, then ours."""
    numeric = customer_platform_id.rsplit("/", 1)[-1]
    return {"customer_id": int(numeric) if numeric.isdigit() else numeric, "Recipe": recipe_key,
            "Step": step_number, "Value tier": value_tier or ""}

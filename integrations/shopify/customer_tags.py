"""A customer's tags on Shopify: tagsAdd / tagsRemove on the customer's GID, and the scopes the installation
really holds (currentAppInstallation.accessScopes), read from Shopify rather than assumed from what we asked.

Both mutations need `write_customers`, which the install does not ask for: a merchant grants it when a recipe
tags customers (oauth.authorize_url with OPTIONAL_SCOPES). Without it Shopify answers ACCESS_DENIED, raised here
as MissingScope; userErrors (no such customer, a tag too long) as TagRefused; the rest as the client's typed
errors (throttling is waited out by the client itself).
"""
from __future__ import annotations

from backend.shops.models import Shop
from integrations.base.errors import ClientError, GraphQLError, MissingScope

from . import documents
from .client import ShopifyClient

WRITE_SCOPE = "write_customers"
MUTATION_COST = 10  # Shopify prices a mutation at 10 points of the bucket


class TagRefused(ClientError):
    """Shopify answered with userErrors: retrying the same request cannot succeed."""


def customer_gid(platform_id: str) -> str:
    """Our Customer.platform_id (Shopify's numeric id; a GID is taken as it is) as the GID the mutations take."""
    text = str(platform_id).strip()
    return text if text.startswith("gid://shopify/Customer/") else f"gid://shopify/Customer/{text}"


def change_tag(shop: Shop, platform_id: str, tag: str, mode: str, *, client: ShopifyClient | None = None) -> None:
    """Add (mode "add") or remove ("remove") one tag on the customer. Both are idempotent on Shopify's side."""
    field = "tagsAdd" if mode == "add" else "tagsRemove"
    document = documents.TAGS_ADD if mode == "add" else documents.TAGS_REMOVE
    own = client is None
    client = client or ShopifyClient(shop)
    try:
        data = client.graphql(document, {"id": customer_gid(platform_id), "tags": [tag]},
                              expected_cost=MUTATION_COST)
    except GraphQLError as exc:
        if any(isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "ACCESS_DENIED"
               for e in exc.errors):
            raise MissingScope(f"{field}: access denied, {WRITE_SCOPE} not granted", scope=WRITE_SCOPE,
                               shop_domain=shop.domain, status=exc.status) from exc
        raise
    finally:
        if own:
            client.close()
    errors = (data.get(field) or {}).get("userErrors") or []
    if errors:
        text = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
        raise TagRefused(f"{field}: {text}"[:300], shop_domain=shop.domain, status=200)


def granted_scopes(shop: Shop, *, client: ShopifyClient | None = None) -> list[str]:
    """The installation's access scopes as Shopify reports them now."""
    own = client is None
    client = client or ShopifyClient(shop)
    try:
        data = client.graphql(documents.ACCESS_SCOPES)
    finally:
        if own:
            client.close()
    scopes = ((data.get("currentAppInstallation") or {}).get("accessScopes")) or []
    return sorted({str(s.get("handle")) for s in scopes if isinstance(s, dict) and s.get("handle")})

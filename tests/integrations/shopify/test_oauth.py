"""Pure OAuth checks: query HMAC, shop domain, timestamp, single-use state, channel mapping, JSONL-shaped records."""
from __future__ import annotations

import time

import pytest

from integrations.shopify.oauth import OAuthError, clean_shop_domain, issue_state, sign_query, spend_state, verify_query
from integrations.shopify.records import channel_for, order_from_node, product_from_node


def signed(**params):
    params.setdefault("shop", "alpha.myshopify.com")
    params.setdefault("timestamp", str(int(time.time())))
    params["hmac"] = sign_query(params)
    return params


def test_a_signed_query_verifies_and_names_the_shop():
    assert verify_query(signed(code="abc", state="s")) == "alpha.myshopify.com"


@pytest.mark.parametrize("mutate, reason", [
    (lambda p: p.update(hmac="0" * 64), "hmac does not match"),
    (lambda p: p.pop("hmac"), "missing hmac"),
    (lambda p: p.update(code="other"), "hmac does not match"),
])
def test_forged_or_missing_hmac_is_refused(mutate, reason):
    params = signed(code="abc")
    mutate(params)
    with pytest.raises(OAuthError, match=reason):
        verify_query(params)


def test_stale_timestamp_is_refused_even_when_signed():
    with pytest.raises(OAuthError, match="stale"):
        verify_query(signed(timestamp=str(int(time.time()) - 3600)))


@pytest.mark.parametrize("domain", ["evil.com", "alpha.myshopify.com.evil.com", "a/b.myshopify.com",
                                    "-x.myshopify.com", "", "x" * 80 + ".myshopify.com", "alpha.myshopify.co"])
def test_only_myshopify_domains(domain):
    with pytest.raises(OAuthError):
        clean_shop_domain(domain)
    with pytest.raises(OAuthError):
        verify_query(signed(shop=domain))


def test_state_is_single_use_and_bound_to_its_shop(settings):
    state = issue_state("alpha.myshopify.com")
    with pytest.raises(OAuthError, match="another shop"):
        spend_state(state, "beta.myshopify.com")
    state = issue_state("alpha.myshopify.com")
    spend_state(state, "alpha.myshopify.com")
    with pytest.raises(OAuthError, match="already used"):
        spend_state(state, "alpha.myshopify.com")
    with pytest.raises(OAuthError):
        spend_state("never-issued", "alpha.myshopify.com")


@pytest.mark.parametrize("source, app, channel", [
    ("web", "", "online"), ("pos", "", "pos"), ("shopify_draft_order", "", "draft"),
    ("amazon", "", "marketplace"), ("1234567", "eBay Marketplace", "marketplace"), ("iphone", "", "other"),
    ("", "Point of Sale", "pos"), ("", "Online Store", "online"), ("iphone", "Online Store", "other"),
    ("5541283", "Amazon", "marketplace"), ("1780363", "Google & YouTube", "marketplace"),
])
def test_channel_from_source_name_and_app(source, app, channel):
    assert channel_for(source, app) == channel


def test_regrouped_bulk_rows_and_paged_nodes_map_alike():
    bulk = {"id": "gid://shopify/Product/7", "title": "Hat", "status": "ACTIVE", "updatedAt": "2026-01-01T00:00:00Z",
            "collections": [{"id": "gid://shopify/Collection/3"}],
            "variants": [{"id": "gid://shopify/ProductVariant/70", "price": "9.50", "inventoryQuantity": 4,
                          "inventoryItem": {"id": "gid://shopify/InventoryItem/700", "tracked": True},
                          "inventoryLevels": [{"location": {"id": "gid://shopify/Location/1"},
                                               "quantities": [{"name": "available", "quantity": 4}]}]}]}
    paged = dict(bulk, collections={"nodes": bulk["collections"]}, variants={"nodes": [
        dict(bulk["variants"][0], inventoryLevels=None,
             inventoryItem={"id": "gid://shopify/InventoryItem/700", "tracked": True,
                            "inventoryLevels": {"nodes": bulk["variants"][0]["inventoryLevels"]}})]})
    paged["variants"]["nodes"][0].pop("inventoryLevels")
    a, b = product_from_node(bulk), product_from_node(paged)
    assert a == b
    assert a.platform_id == "7" and a.status == "active" and a.collection_ids == ("3",)
    assert a.variants[0].inventory_levels[0].location_id == "1" and a.variants[0].inventory_item_id == "700"
    # A nested connection cut off by `first:` means "unknown": keep what is stored.
    truncated = dict(paged, variants={"nodes": [], "pageInfo": {"hasNextPage": True}})
    assert product_from_node(truncated).variants is None


def test_order_mapping_reads_money_bags_and_refunded_quantities():
    order = order_from_node({
        "id": "gid://shopify/Order/5", "sourceName": "pos", "currencyCode": "EUR",
        "totalPriceSet": {"shopMoney": {"amount": "30.0", "currencyCode": "EUR"}},
        "customer": {"id": "gid://shopify/Customer/9"},
        "lineItems": [{"id": "gid://shopify/LineItem/1", "quantity": 3, "currentQuantity": 1,
                       "product": {"id": "gid://shopify/Product/7"}, "variant": None,
                       "originalUnitPriceSet": {"shopMoney": {"amount": "10.00"}}}],
    })
    assert order.channel == "pos" and str(order.total_price) == "30.00" and order.customer_platform_id == "9"
    line = order.line_items[0]
    assert line.refunded_quantity == 2 and line.product_platform_id == "7" and line.variant_platform_id == ""


def test_the_shopify_connector_implements_the_platform_protocol():
    from integrations.base.platform import Platform
    from integrations.shopify.reconcile import ShopifyPlatform

    assert isinstance(ShopifyPlatform(), Platform)

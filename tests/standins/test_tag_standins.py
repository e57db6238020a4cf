"""Customer tags on the stand-ins behave as the platforms do.

Shopify: tagsAdd / tagsRemove need write_customers (ACCESS_DENIED otherwise, as for any field), split every string
on commas, refuse a tag over 255 characters or an id that is no customer (userErrors), compare tags without case,
cost a mutation's 10 points of the bucket (THROTTLED when it is empty) and send customers/update; the installation's
accessScopes are what the token was granted.
WooCommerce: a read-only key is refused any write (401 woocommerce_rest_authentication_error, as
WC_REST_Authentication::check_permissions answers), a user who may not edit is refused with 403
woocommerce_rest_cannot_edit, and PUT /customers/<id> updates meta entries by key, leaving the others alone.
"""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from integrations.base.errors import ClientError, Forbidden, Unauthorized
from integrations.woocommerce.client import WooClient
from tests.standins.shopify import ShopifyStandin, StoreSize, standin_http_client
from tests.standins.shopify.admin_api import LeakyBucket
from tests.standins.woocommerce import StoreSize as WooSize
from tests.standins.woocommerce import WooStandin

SHOP = "tags.myshopify.com"
VERSION = "2026-04"
ADD = ("mutation($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { node { id } "
       "userErrors { field message } } }")
REMOVE = ("mutation($id: ID!, $tags: [String!]!) { tagsRemove(id: $id, tags: $tags) { node { id } "
          "userErrors { field message } } }")


@pytest.fixture
def shopify():
    standin = ShopifyStandin("k", "s" * 40, size=StoreSize(products=4, customers=6, orders=4)).start()
    standin.add_shop(SHOP)
    with standin_http_client(standin.base_url) as http:
        yield standin, http
    standin.stop()


def gql(http: httpx.Client, token: str, query: str, **variables: Any) -> dict[str, Any]:
    response = http.post(f"https://{SHOP}/admin/api/{VERSION}/graphql.json", json={"query": query,
                                                                                 "variables": variables},
                         headers={"X-Shopify-Access-Token": token})
    assert response.status_code == 200
    return response.json()


def token(standin: ShopifyStandin, *extra: str) -> str:
    return standin.oauth.issue_offline_token(SHOP, scopes=standin.oauth.scopes | set(extra))["access_token"]


def test_shopify_tags_need_write_customers_and_follow_the_platforms_rules(shopify):
    standin, http = shopify
    store = standin.store(SHOP)
    who = store.customer(2)["id"]
    before = list(store.customer_fields(2)["tags"])

    denied = gql(http, token(standin), ADD, id=who, tags=["vip"])
    assert denied["data"] == {"tagsAdd": None}
    assert denied["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert "`write_customers`" in denied["errors"][0]["message"] and denied["errors"][0]["path"] == ["tagsAdd"]
    assert store.customer_fields(2)["tags"] == before

    write = token(standin, "write_customers")
    added = gql(http, write, ADD, id=who, tags=["VIP, carrito ", " ,", "vip"])
    assert added["data"]["tagsAdd"] == {"node": {"id": who}, "userErrors": []}
    assert added["extensions"]["cost"]["requestedQueryCost"] == 10
    assert store.customer_fields(2)["tags"] == [*before, *[t for t in ("VIP", "carrito")
                                                           if t.lower() not in {b.lower() for b in before}]]
    again = gql(http, write, ADD, id=who, tags=["vip"])  # already there, whatever the case: nothing changes
    assert again["data"]["tagsAdd"]["userErrors"] == [] and store.customer_fields(2)["tags"].count("VIP") <= 1

    long = gql(http, write, ADD, id=who, tags=["x" * 256])
    assert long["data"]["tagsAdd"]["userErrors"] == [
        {"field": ["tags"], "message": "Tags is too long (maximum is 255 characters)"}]
    missing = gql(http, write, ADD, id="gid://shopify/Customer/1", tags=["vip"])
    assert missing["data"]["tagsAdd"] == {"node": None, "userErrors": [{"field": ["id"],
                                                                       "message": "Resource not found"}]}
    blank = gql(http, write, ADD, id=who, tags=[" , "])
    assert blank["data"]["tagsAdd"]["userErrors"][0]["field"] == ["tags"]

    removed = gql(http, write, REMOVE, id=who, tags=["vip", "CARRITO"])
    assert removed["data"]["tagsRemove"]["userErrors"] == []
    assert [t for t in store.customer_fields(2)["tags"] if t.lower() in ("vip", "carrito")] == []

    scopes = gql(http, write, "{ currentAppInstallation { accessScopes { handle } } }")
    handles = {s["handle"] for s in scopes["data"]["currentAppInstallation"]["accessScopes"]}
    assert "write_customers" in handles and "read_customers" in handles


def test_shopify_tag_mutations_spend_the_cost_bucket(shopify):
    standin, http = shopify
    standin.shops[SHOP].bucket = LeakyBucket(maximum=15, restore_rate=1)
    write = token(standin, "write_customers")
    who = standin.store(SHOP).customer(1)["id"]
    assert gql(http, write, ADD, id=who, tags=["a"])["data"]["tagsAdd"]["userErrors"] == []
    throttled = gql(http, write, ADD, id=who, tags=["b"])
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert "b" not in standin.store(SHOP).customer_fields(1)["tags"]


def test_a_tag_change_sends_customers_update(shopify):
    standin, http = shopify
    sent = []
    standin.shops[SHOP].on_customer_changed = sent.append
    who = standin.store(SHOP).customer(3)["id"]
    write = token(standin, "write_customers")
    gql(http, write, ADD, id=who, tags=["nuevo"])
    gql(http, write, ADD, id=who, tags=["nuevo"])  # no change, no webhook
    assert sent == [3]


@pytest.fixture
def woo(settings):
    settings.WOOCOMMERCE_BACKOFF_BASE = 0.01
    settings.WOOCOMMERCE_RETRIES = 0
    with WooStandin(WooSize(products=3, customers=5, orders=3)) as store:
        yield store


def client_for(woo: WooStandin, permissions: str) -> tuple[WooClient, Any]:
    key = woo.create_key(permissions)
    return WooClient(woo.url, key.consumer_key, key.consumer_secret, retries=0), key


def test_woocommerce_read_only_keys_cannot_write_and_meta_updates_by_key(woo):
    woo.store.update_customer(3, meta_data=[{"id": 1, "key": "loyalty", "value": "L1"},
                                            {"id": 2, "key": "_internal", "value": "x"}])
    reader, _ = client_for(woo, "read")
    assert reader.get("customers/3")["id"] == 3
    with pytest.raises(Unauthorized, match="does not have write permissions"):
        reader.request("PUT", "customers/3", data={"meta_data": [{"key": "personalize_tags", "value": "vip"}]})

    writer, key = client_for(woo, "read_write")
    writer.request("PUT", "customers/3", data={"meta_data": [
        {"key": "personalize_tags", "value": "vip"}, {"key": "_internal", "value": "overwritten?"}]})
    kept = {m["key"]: m["value"] for m in woo.store.get_customer(3)["meta_data"]}
    assert kept == {"loyalty": "L1", "_internal": "x", "personalize_tags": "vip"}  # protected key untouched
    writer.request("PUT", "customers/3", data={"meta_data": [{"key": "personalize_tags", "value": "vip, b"}]})
    writer.request("PUT", "customers/3", data={"meta_data": [{"key": "personalize_tags", "value": None}]})
    assert {m["key"] for m in woo.store.get_customer(3)["meta_data"]} == {"loyalty", "_internal"}

    with pytest.raises(ClientError, match="woocommerce_rest_invalid_id"):
        writer.request("PUT", "customers/999", data={"meta_data": []})
    with pytest.raises(ClientError, match="rest_invalid_param"):
        writer.request("PUT", "customers/3", data={"meta_data": [{"value": "no key"}]})
    woo.users_who_cannot_edit.add(key.user_id)
    with pytest.raises(Forbidden, match="woocommerce_rest_cannot_edit"):
        writer.request("PUT", "customers/3", data={"meta_data": [{"key": "personalize_tags", "value": "x"}]})
    writer_only, _ = client_for(woo, "write")
    with pytest.raises(Unauthorized, match="does not have read permissions"):
        writer_only.get("customers/3")

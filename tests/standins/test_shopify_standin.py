"""The Shopify stand-in enforces Shopify's documented protocol, exercised through Shopify's own `shopifyapp`."""
from __future__ import annotations

import collections
import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
import shopify_app

from tests.standins.shopify import ShopifyStandin, StoreSize, schema_available, standin_http_client
from tests.standins.shopify.store import CATEGORIES, CATEGORY_INDEX, PRODUCT_BASE, VARIANT_BASE, Store

KEY = "test-api-key"
SECRET = "test-api-secret-0123456789abcdef0123456789"
SHOP = "alpha.myshopify.com"
OTHER = "beta.myshopify.com"
VERSION = "2025-04"
needs_schema = pytest.mark.skipif(
    not (schema_available(VERSION) and schema_available()),
    reason="../shared/shopify/admin-2025-04.graphql.gz or admin-2026-04.graphql.gz absent (or SHOPIFY_SCHEMA_DIR)")


class Receiver:
    """A local webhook endpoint: records every request, answers the scripted statuses (then 200)."""

    def __init__(self, statuses: list[int] | None = None, delay: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        self.delay = delay
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/shopify/webhooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def topics(self) -> list[str]:
        return [r["headers"]["X-Shopify-Topic"] for r in self.requests]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def make_standin(receiver: Receiver | None = None, **kwargs: Any) -> ShopifyStandin:
    kwargs.setdefault("size", StoreSize(products=60, customers=40, orders=150))
    kwargs.setdefault("retry_delays", (0.05, 0.05, 0.05))
    standin = ShopifyStandin(KEY, SECRET, app_url="https://app.example.com",
                             webhook_url=receiver.url if receiver else None, **kwargs).start()
    standin.add_shop(SHOP)
    standin.add_shop(OTHER, seed=2)
    return standin


@pytest.fixture
def standin(receiver):
    s = make_standin(receiver)
    yield s
    s.stop()


@pytest.fixture
def http(standin):
    with standin_http_client(standin.base_url) as client:
        yield client


APP = shopify_app.ShopifyApp(KEY, SECRET)


def exchange(standin: ShopifyStandin, http: httpx.Client, shop: str = SHOP, **token_kwargs: Any) -> Any:
    """App Home request verified by shopifyapp, then exchanged for an expiring offline token."""
    token = standin.session_token(shop, **token_kwargs)
    verified = APP.verify_app_home_req({"method": "GET", "headers": {"Authorization": f"Bearer {token}"},
                                        "url": "https://app.example.com/app/", "body": ""}, "/app/patch-id-token")
    assert verified.ok, verified.log
    return APP.exchange_using_token_exchange("offline", id_token=verified.id_token, http_client=http)


def gql(http: httpx.Client, token: str, query: str, shop: str = SHOP, **variables: Any) -> Any:
    return APP.admin_graphql_request(query, shop=shop.removesuffix(".myshopify.com"), access_token=token,
                                     api_version=VERSION, http_client=http, variables=variables or None,
                                     max_retries=0)


def forged_id_token(token: str, shop: str = SHOP) -> dict[str, Any]:
    """What an app would hand shopifyapp if it skipped verification: the stand-in must still refuse it."""
    return {"exchangeable": True, "token": token, "claims": {"dest": f"https://{shop}"}}


# ------------------------------------------------------------------------------------------- OAuth
def test_token_exchange_gives_expiring_offline_token_usable_on_graphql(standin, http):
    result = exchange(standin, http)
    assert result.ok, result.log
    token = result.access_token
    assert token.token.startswith("shpat_") and token.refresh_token and token.expires and token.refresh_token_expires
    shop = gql(http, token.token, "{ shop { name currencyCode ianaTimezone primaryDomain { url } } }")
    assert shop.ok, shop.response.body
    assert shop.data["shop"] == {"name": "Alpha", "currencyCode": "EUR", "ianaTimezone": "Europe/Madrid",
                                 "primaryDomain": {"url": "https://alpha.myshopify.com"}}
    cost = shop.extensions["cost"]
    assert cost["requestedQueryCost"] >= 1 and set(cost["throttleStatus"]) == {
        "maximumAvailable", "currentlyAvailable", "restoreRate"}


@pytest.mark.parametrize("forgery", ["wrong_secret", "expired", "other_shop", "wrong_audience"])
def test_forged_or_stale_session_tokens_are_refused(standin, http, forgery):
    kwargs = {"wrong_secret": {"secret": "not-the-app-secret-0123456789abcdef"},
              "expired": {"issued_at": time.time() - 3600},
              "other_shop": {"dest": f"https://{OTHER}"},
              "wrong_audience": {"aud": "another-app"}}[forgery]
    token = standin.session_token(SHOP, **kwargs)
    result = APP.exchange_using_token_exchange("offline", id_token=forged_id_token(token), http_client=http)
    assert not result.ok
    assert result.log.code == "invalid_subject_token"
    assert result.response.status == 401


def test_wrong_client_secret_is_refused(standin, http):
    wrong = shopify_app.ShopifyApp(KEY, "wrong-secret-0123456789abcdef0123456789")
    token = standin.session_token(SHOP)
    result = wrong.exchange_using_token_exchange("offline", id_token=forged_id_token(token), http_client=http)
    assert not result.ok and result.log.code == "invalid_client"


def test_authorization_code_grant_single_use_code_and_signed_callback(standin, http):
    state = "nonce-123"
    authorize = http.get(f"https://{SHOP}/admin/oauth/authorize", params={
        "client_id": KEY, "scope": "read_products,read_orders", "state": state,
        "redirect_uri": "https://app.example.com/shopify/callback"})
    assert authorize.status_code == 302
    location = urlsplit(authorize.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://app.example.com/shopify/callback"
    params = dict(parse_qsl(location.query))
    assert params["shop"] == SHOP and params["state"] == state and params["code"] and params["timestamp"]
    # The documented check: hex HMAC-SHA256 over the other params, sorted, joined k=v&...
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "hmac")
    assert params["hmac"] == hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()

    body = {"client_id": KEY, "client_secret": SECRET, "code": params["code"]}
    first = http.post(f"https://{SHOP}/admin/oauth/access_token", json=body)
    assert first.status_code == 200
    assert first.json()["scope"] == "read_orders,read_products"
    reused = http.post(f"https://{SHOP}/admin/oauth/access_token", data=body)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_request"
    in_query = http.post(f"https://{SHOP}/admin/oauth/access_token", params=body)  # the documented form
    assert in_query.status_code == 400 and in_query.json()["error"] == "invalid_request"
    # the scopes granted are the ones asked for
    denied = gql(http, first.json()["access_token"], "{ customers(first: 1) { nodes { id } } }")
    assert json.loads(denied.response.body)["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"


@pytest.mark.parametrize("change", [{"client_id": "someone-else"},
                                   {"redirect_uri": "https://evil.example.net/callback"},
                                   {"scope": "read_products,all_the_things"}])
def test_authorize_refuses_unknown_client_or_foreign_redirect(standin, http, change):
    params = {"client_id": KEY, "scope": "read_products", "state": "s",
              "redirect_uri": "https://app.example.com/shopify/callback", **change}
    response = http.get(f"https://{SHOP}/admin/oauth/authorize", params=params)
    assert response.status_code == 400 and "Location" not in response.headers


def test_code_of_one_shop_cannot_be_redeemed_on_another(standin, http):
    authorize = http.get(f"https://{SHOP}/admin/oauth/authorize", params={
        "client_id": KEY, "scope": "read_products", "redirect_uri": "https://app.example.com/cb", "state": "x"})
    code = dict(parse_qsl(urlsplit(authorize.headers["Location"]).query))["code"]
    stolen = http.post(f"https://{OTHER}/admin/oauth/access_token",
                       json={"client_id": KEY, "client_secret": SECRET, "code": code})
    assert stolen.status_code == 400


def test_signed_install_query_follows_the_documented_hmac(standin):
    params = dict(parse_qsl(standin.signed_install_query(SHOP)))
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "hmac")
    assert params["hmac"] == hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    forged = dict(parse_qsl(standin.signed_install_query(SHOP, secret="guess")))
    assert forged["hmac"] != hmac.new(SECRET.encode(), urlencode({}).encode(), hashlib.sha256).hexdigest()
    assert forged["hmac"] != params["hmac"] or forged["timestamp"] != params["timestamp"]


def test_refresh_rotates_both_tokens_and_the_old_refresh_token_dies(receiver):
    standin = make_standin(receiver, token_lifetime=30)  # shopifyapp refreshes within 60 s of expiry
    try:
        with standin_http_client(standin.base_url) as http:
            first = exchange(standin, http).access_token
            refreshed = APP.refresh_token_exchanged_access_token(first, http_client=http)
            assert refreshed.ok, refreshed.log
            second = refreshed.access_token
            assert second.token != first.token and second.refresh_token != first.refresh_token
            assert gql(http, second.token, "{ shop { name } }").ok
            again = APP.refresh_token_exchanged_access_token(first, http_client=http)
            assert not again.ok and again.log.code == "invalid_grant"
            standin.expire_token(second.token)
            expired = gql(http, second.token, "{ shop { name } }")
            assert expired.response.status == 401
    finally:
        standin.stop()


# ------------------------------------------------------------------------------------------- Admin GraphQL
def test_graphql_needs_a_valid_token_of_that_shop(standin, http):
    token = standin.issue_token(SHOP)["access_token"]
    url = f"https://{SHOP}/admin/api/{VERSION}/graphql.json"
    assert http.post(url, json={"query": "{ shop { name } }"}).status_code == 401
    assert http.post(url, json={"query": "{ shop { name } }"},
                     headers={"X-Shopify-Access-Token": "shpat_guess"}).status_code == 401
    other = http.post(f"https://{OTHER}/admin/api/{VERSION}/graphql.json", json={"query": "{ shop { name } }"},
                      headers={"X-Shopify-Access-Token": token})
    assert other.status_code == 401
    assert http.post(url, json={"query": "{ shop { name } }"},
                     headers={"X-Shopify-Access-Token": token}).status_code == 200
    assert http.post("https://nowhere.myshopify.com/admin/api/2025-04/graphql.json", json={}).status_code == 404
    standin.uninstall(SHOP)
    assert http.post(url, json={"query": "{ shop { name } }"},
                     headers={"X-Shopify-Access-Token": token}).status_code == 401


@needs_schema
@pytest.mark.parametrize("query, code", [
    ("{ shop { nam } }", "validationError"),
    ("{ products(first: 2) { edges { node { title bogus } } } }", "validationError"),
    ("{ shop { name }", "parseError"),
    ("mutation { productDelete(input: {productId: \"x\"}) { deletedProductId } }", "validationError"),
])
def test_documents_invalid_against_shopify_schema_are_rejected(standin, http, query, code):
    token = standin.issue_token(SHOP)["access_token"]
    result = gql(http, token, query)
    assert not result.ok
    body = json.loads(result.response.body)
    assert "data" not in body and body["errors"][0]["extensions"]["code"] == code


def test_connections_need_first_or_last_within_250(standin, http):
    token = standin.issue_token(SHOP)["access_token"]
    body = json.loads(gql(http, token, "{ products { edges { node { id } } } }").response.body)
    assert body["errors"][0]["message"] == "you must provide one of first or last"
    body = json.loads(gql(http, token, "{ products(first: 251) { edges { node { id } } } }").response.body)
    assert "250" in body["errors"][0]["message"]


def test_concurrent_requests_are_served_in_parallel(standin):
    from concurrent.futures import ThreadPoolExecutor

    tokens = {shop: standin.issue_token(shop)["access_token"] for shop in (SHOP, OTHER)}

    def call(k: int) -> str:
        shop = (SHOP, OTHER)[k % 2]
        with standin_http_client(standin.base_url) as client:
            return gql(client, tokens[shop], "{ shop { name } }", shop=shop).data["shop"]["name"]

    with ThreadPoolExecutor(8) as pool:
        names = list(pool.map(call, range(24)))
    assert names == ["Alpha", "Beta"] * 12


def test_small_bucket_throttles_then_restores(receiver):
    standin = make_standin(receiver, bucket_size=100, restore_rate=20)
    try:
        with standin_http_client(standin.base_url) as http:
            token = standin.issue_token(SHOP)["access_token"]
            query = "{ products(first: 30) { edges { node { id title } } } }"  # 2 + 30 x 1 = 32 requested
            first = gql(http, token, query)
            assert first.ok and first.extensions["cost"]["requestedQueryCost"] == 32
            results = [gql(http, token, query) for _ in range(3)]
            throttled = [r for r in results if not r.ok]
            assert throttled, "a 100-point bucket cannot serve 4 x 32 points at once"
            body = json.loads(throttled[0].response.body)
            assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
            status = body["extensions"]["cost"]["throttleStatus"]
            assert status["maximumAvailable"] == 100 and status["currentlyAvailable"] < 32
            time.sleep((32 - status["currentlyAvailable"]) / 20 + 0.2)
            assert gql(http, token, query).ok
            huge = json.loads(gql(http, token, "{ orders(first: 250) { edges { node { lineItems(first: 250) "
                                               "{ edges { node { id } } } } } } }").response.body)
            assert huge["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    finally:
        standin.stop()


def test_updated_at_pagination_returns_each_changed_order_once(standin, http):
    token = standin.issue_token(SHOP)["access_token"]
    store = standin.store(SHOP)
    cutoff = int(store.o_updated[len(store.o_updated) // 2])
    standin.cancel_order(SHOP, 3)  # an old order changed now must show up too
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(cutoff))
    query = """query($after: String, $q: String) { orders(first: 25, after: $after, query: $q, sortKey: UPDATED_AT) {
        pageInfo { hasNextPage endCursor } edges { node { id updatedAt cancelledAt } } } }"""
    seen, after = [], None
    while True:
        page = gql(http, token, query, q=f"updated_at:>'{since}'", after=after)
        assert page.ok, page.response.body
        conn = page.data["orders"]
        seen += [e["node"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    ids = [n["id"] for n in seen]
    expected = {f"gid://shopify/Order/{6_100_000_000_000 + o}" for o in range(store.order_count)
                if store.order_updated(o) > cutoff}
    assert len(ids) == len(set(ids)) and set(ids) == expected
    assert "gid://shopify/Order/6100000000003" in ids
    stamps = [n["updatedAt"] for n in seen]
    assert stamps == sorted(stamps)


def test_nested_selection_is_served_from_the_store(standin, http):
    token = standin.issue_token(SHOP)["access_token"]
    store = standin.store(SHOP)
    result = gql(http, token, """query($id: ID!) { product(id: $id) { title
        variants(first: 10) { nodes { sku price inventoryItem { inventoryLevels(first: 2) { nodes {
            location { name } quantities(names: ["available"]) { quantity } } } } } } } }""",
                 id=f"gid://shopify/Product/{PRODUCT_BASE}")
    assert result.ok, result.response.body
    product = result.data["product"]
    assert product["title"] == store.product_title(0)
    levels = product["variants"]["nodes"][0]["inventoryItem"]["inventoryLevels"]["nodes"]
    assert [lv["quantities"][0]["quantity"] for lv in levels] == [store.stock(0, 0)[0], store.stock(0, 1)[0]]


# ------------------------------------------------------------------------------------------- bulk operations
BULK_PRODUCTS = """{ products { edges { node { id title
    variants { edges { node { id sku price inventoryItem { inventoryLevels { edges { node {
        location { id } quantities(names: ["available"]) { name quantity } } } } } } } }
    collections { edges { node { id handle } } } } } } }"""
RUN = """mutation($q: String!) { bulkOperationRunQuery(query: $q) {
    bulkOperation { id status } userErrors { field message code } } }"""
POLL = "{ currentBulkOperation { id status objectCount rootObjectCount url } }"


@needs_schema
def test_bulk_operation_round_trip_produces_jsonl_with_parent_ids(receiver):
    standin = make_standin(receiver, bulk_duration=0.4)
    try:
        with standin_http_client(standin.base_url) as http:
            token = standin.issue_token(SHOP)["access_token"]
            started = gql(http, token, RUN, q=BULK_PRODUCTS)
            assert started.ok and started.data["bulkOperationRunQuery"]["userErrors"] == []
            op_id = started.data["bulkOperationRunQuery"]["bulkOperation"]["id"]
            second = gql(http, token, RUN, q=BULK_PRODUCTS).data["bulkOperationRunQuery"]
            assert second["bulkOperation"] is None and second["userErrors"][0]["code"] == "OPERATION_IN_PROGRESS"
            deadline = time.time() + 10
            while (op := gql(http, token, POLL).data["currentBulkOperation"])["status"] != "COMPLETED":
                assert time.time() < deadline and op["status"] in ("CREATED", "RUNNING")
                time.sleep(0.05)
            assert op["id"] == op_id
            lines = [json.loads(line) for line in httpx.get(op["url"]).text.splitlines()]
            by_node = gql(http, token, "query($id: ID!) { node(id: $id) { ... on BulkOperation { status url } } }",
                          id=op_id)
            assert by_node.data["node"] == {"status": "COMPLETED", "url": op["url"]}
        store = standin.store(SHOP)
        assert len(lines) == int(op["objectCount"])
        products = [r for r in lines if "__parentId" not in r]
        assert len(products) == int(op["rootObjectCount"]) == store.product_count
        seen: set[str] = set()
        kinds = collections.Counter()
        for row in lines:
            if "__parentId" in row:
                assert row["__parentId"] in seen, "a child must come after its parent"
                kinds["level" if "location" in row else row["id"].split("/")[3]] += 1
            if "id" in row:
                seen.add(row["id"])
        assert kinds["ProductVariant"] == store.n_variants and kinds["level"] == 2 * store.n_variants
        assert kinds["Collection"] >= store.product_count
        assert set(products[0]) == {"id", "title"}
        assert standin.wait_for_webhooks(5)
        finish = [r for r in receiver.requests if r["headers"]["X-Shopify-Topic"] == "bulk_operations/finish"]
        payload = json.loads(finish[0]["body"])
        assert payload["admin_graphql_api_id"] == op_id and payload["status"] == "completed"
    finally:
        standin.stop()


@needs_schema
@pytest.mark.parametrize("query, fragment", [
    ("{ shop { name } }", "at least one connection"),
    ("mutation { bulkOperationCancel(id: \"x\") { userErrors { message } } }", "query operation"),
    ("{ products { edges { node { idd } } } }", "Invalid bulk query"),
    ("""{ collections { edges { node { products { edges { node { variants { edges { node {
        inventoryItem { inventoryLevels { edges { node { id } } } } } } } } } } } } } }""", "nested"),
])
def test_bulk_queries_shopify_would_refuse_are_refused(standin, http, query, fragment):
    token = standin.issue_token(SHOP)["access_token"]
    payload = gql(http, token, RUN, q=query).data["bulkOperationRunQuery"]
    assert payload["bulkOperation"] is None and fragment in payload["userErrors"][0]["message"]


@needs_schema
def test_bulk_orders_stream_line_items_after_their_order(standin, http):
    token = standin.issue_token(SHOP)["access_token"]
    gql(http, token, RUN, q="""{ orders { edges { node { id name sourceName
        lineItems { edges { node { id quantity variant { id } } } } } } } }""")
    deadline = time.time() + 10
    while (op := gql(http, token, POLL).data["currentBulkOperation"])["status"] != "COMPLETED":
        assert time.time() < deadline
        time.sleep(0.02)
    parent = None
    orders = lines = 0
    with httpx.stream("GET", op["url"]) as response:
        for raw in response.iter_lines():
            row = json.loads(raw)
            if "__parentId" in row:
                assert row["__parentId"] == parent and row["variant"]["id"].startswith("gid://shopify/ProductVariant/")
                lines += 1
            else:
                parent, orders = row["id"], orders + 1
    store = standin.store(SHOP)
    assert orders == store.order_count and lines == len(store.l_product)
    assert httpx.get(op["url"].replace("/bulk-results/", "/bulk-results/x")).status_code in (403, 404)


# ------------------------------------------------------------------------------------------- webhooks
def test_webhooks_are_signed_like_shopify_and_verify_with_shopifyapp(standin, receiver):
    standin.issue_token(SHOP)
    variant = 4
    standin.set_price(SHOP, variant, "19.90", compare_at="29.90")
    o = standin.create_order(SHOP, [(variant, 2)], customer=1, source="pos")
    assert standin.wait_for_webhooks(5)
    # Shopify does not promise delivery order; these run concurrently too.
    assert sorted(receiver.topics()) == ["inventory_levels/update", "orders/create", "orders/paid", "products/update"]
    by_topic = {r["headers"]["X-Shopify-Topic"]: r for r in receiver.requests}
    for request in receiver.requests:
        headers = request["headers"]
        for name in ("X-Shopify-Topic", "X-Shopify-Hmac-Sha256", "X-Shopify-Shop-Domain", "X-Shopify-API-Version",
                     "X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Triggered-At"):
            assert headers.get(name), name
        verified = APP.verify_webhook_req({"method": "POST", "headers": headers, "url": receiver.url,
                                           "body": request["body"].decode()})
        assert verified.ok and verified.shop == "alpha"
    tampered = by_topic["orders/create"]
    forged_body = tampered["body"].decode().replace('"quantity": 2', '"quantity": 20')
    assert not APP.verify_webhook_req({"method": "POST", "headers": tampered["headers"], "url": receiver.url,
                                       "body": forged_body}).ok
    order = json.loads(by_topic["orders/create"]["body"])
    assert order["id"] == 6_100_000_000_000 + o and order["source_name"] == "pos"
    assert order["line_items"][0]["variant_id"] == VARIANT_BASE + variant
    assert order["line_items"][0]["price"] == "19.90" and order["line_items"][0]["quantity"] == 2
    product = json.loads(by_topic["products/update"]["body"])
    assert product["variants"][variant - product["variants"][0]["id"] + VARIANT_BASE]["compare_at_price"] == "29.90"


def test_failed_deliveries_are_retried_with_the_same_event_id(receiver):
    receiver.statuses = [500, 503]
    standin = make_standin(receiver)
    try:
        standin.issue_token(SHOP)
        standin.update_customer(SHOP, 2, first="Marta")
        assert standin.wait_for_webhooks(5)
        delivery = standin.deliveries_for("customers/update", SHOP)[0]
        assert delivery.statuses == [500, 503, 200] and delivery.delivered
        assert len({r["headers"]["X-Shopify-Event-Id"] for r in receiver.requests}) == 1
        assert json.loads(receiver.requests[-1]["body"])["first_name"] == "Marta"
    finally:
        standin.stop()


def test_slow_receiver_counts_as_failure_and_gives_up_after_the_schedule():
    slow = Receiver(delay=0.6)
    standin = make_standin(slow, webhook_timeout=0.2, retry_delays=(0.05,))
    try:
        standin.issue_token(SHOP)
        delivery = standin.send_webhook(SHOP, "shop/redact", {"shop_domain": SHOP})
        assert standin.wait_for_webhooks(5)
        assert delivery.statuses == [None, None] and delivery.gave_up and not delivery.delivered
    finally:
        standin.stop()
        slow.close()


def test_replay_and_out_of_order_helpers(standin, receiver):
    standin.issue_token(SHOP)
    older = standin.webhook_payload(SHOP, "products/update", 7)
    standin.update_product(SHOP, 7, title="Chaqueta Nueva")
    assert standin.wait_for_webhooks(5)
    newer = standin.deliveries_for("products/update")[0]
    standin.replay(newer)
    stale = standin.send_webhook(SHOP, "products/update", older)
    assert standin.wait_for_webhooks(5)
    sent = collections.defaultdict(list)  # deliveries run concurrently: group by event id, not arrival
    for r in receiver.requests:
        sent[r["headers"]["X-Shopify-Event-Id"]].append(json.loads(r["body"]))
    assert len(sent[newer.event_id]) == 2 and sent[newer.event_id][0] == sent[newer.event_id][1]
    assert stale.event_id != newer.event_id and len(sent[stale.event_id]) == 1
    fresh, old = sent[newer.event_id][0], sent[stale.event_id][0]
    assert fresh["title"] == "Chaqueta Nueva" and old["title"] != "Chaqueta Nueva"
    assert old["updated_at"] < fresh["updated_at"]


def test_uninstall_revokes_and_stops_webhooks(standin, receiver):
    standin.issue_token(SHOP)
    standin.uninstall(SHOP)
    standin.set_stock(SHOP, 1, 0, 5)
    assert standin.wait_for_webhooks(5)
    assert receiver.topics() == ["app/uninstalled"]
    assert json.loads(receiver.requests[0]["body"])["myshopify_domain"] == SHOP


# ------------------------------------------------------------------------------------------- generated store
def test_generated_store_is_deterministic_and_shaped_like_a_real_shop():
    size = StoreSize(products=400, customers=500, orders=4000)
    a, b = Store(SHOP, size, seed=5), Store(SHOP, size, seed=5)
    assert [a.product_title(i) for i in range(50)] == [b.product_title(i) for i in range(50)]
    assert dict(a.order(123).items())["totalPriceSet"] == dict(b.order(123).items())["totalPriceSet"]
    assert Store(SHOP, size, seed=6).product_title(0) != a.product_title(0) or \
        Store(SHOP, size, seed=6).product_title(1) != a.product_title(1)
    sources = collections.Counter(a.order(o)["sourceName"] for o in range(size.orders))
    assert 0.07 < sources["pos"] / size.orders < 0.13 and sources["shopify_draft_order"] > 0
    statuses = collections.Counter(a.order(o)["displayFinancialStatus"] for o in range(size.orders))
    assert statuses["REFUNDED"] and statuses["PARTIALLY_REFUNDED"]
    assert sum(1 for o in range(size.orders) if a.order(o)["cancelledAt"]) > size.orders * 0.015
    countries = collections.Counter(a.customer(c)["defaultAddress"]["countryCodeV2"] for c in range(500))
    assert {"ES", "MX", "AR", "US", "GB"} <= set(countries)
    titles = [a.product_title(i) for i in range(size.products)]
    assert any(t.startswith(("Chaqueta", "Gorro", "Zapatillas", "Bufanda")) for t in titles)
    assert any(a.stock(v, 0)[0] == 0 and a.stock(v, 1)[0] == 0 for v in range(a.n_variants))
    assert 2.5 < len(a.l_product) / size.orders < 3.5 and 2 < a.n_variants / size.products < 3.5
    months = {a.order(o)["createdAt"][:7] for o in range(size.orders)}
    assert len(months) >= 17


def test_jackets_are_bought_with_their_companion_hat_and_gloves():
    size = StoreSize(products=300, customers=300, orders=6000)
    store = Store(SHOP, size, seed=9)
    jacket = int(store.cat_members[CATEGORY_INDEX["jackets"]][0])  # the bestseller jacket
    companions = dict(store.companions(jacket))
    hat, gloves = (next(p for p in companions if store.p_cat[p] == CATEGORY_INDEX[c]) for c in ("hats", "gloves"))
    with_jacket = with_hat = with_gloves = 0
    for o in range(size.orders):
        products = {line[0] for line in store.order_spec(o).lines}
        if jacket in products:
            with_jacket += 1
            with_hat += hat in products
            with_gloves += gloves in products
    assert with_jacket > 30
    assert with_hat / with_jacket > 0.4 and with_gloves / with_jacket > 0.3
    assert CATEGORIES[int(store.p_cat[hat])].handle == "hats"


def test_large_store_generates_fast():
    start = time.perf_counter()
    store = Store(SHOP, StoreSize(products=50_000, customers=50_000, orders=200_000), seed=1)
    assert time.perf_counter() - start < 20
    assert store.n_variants > 100_000 and len(store.l_product) > 500_000


@needs_schema
def test_running_bulk_operation_can_be_cancelled(receiver):
    standin = make_standin(receiver, bulk_duration=2.0)
    try:
        with standin_http_client(standin.base_url) as http:
            token = standin.issue_token(SHOP)["access_token"]
            op_id = gql(http, token, RUN, q=BULK_PRODUCTS).data["bulkOperationRunQuery"]["bulkOperation"]["id"]
            cancel = gql(http, token, 'mutation($id: ID!) { bulkOperationCancel(id: $id) { bulkOperation { status } '
                                      'userErrors { message } } }', id=op_id).data["bulkOperationCancel"]
            assert cancel["userErrors"] == [] and cancel["bulkOperation"]["status"] == "CANCELING"
            deadline = time.time() + 5
            while (op := gql(http, token, POLL).data["currentBulkOperation"])["status"] != "CANCELED":
                assert time.time() < deadline
                time.sleep(0.05)
            assert op["url"] is None
            assert gql(http, token, RUN, q=BULK_PRODUCTS).data["bulkOperationRunQuery"]["userErrors"] == []
    finally:
        standin.stop()


def test_online_token_exchange_carries_the_user(standin, http):
    token = standin.session_token(SHOP, user_id=42)
    verified = APP.verify_app_home_req({"method": "GET", "headers": {"Authorization": f"Bearer {token}"},
                                        "url": "https://app.example.com/app/", "body": ""}, "/app/patch")
    result = APP.exchange_using_token_exchange("online", id_token=verified.id_token, http_client=http)
    assert result.ok and result.access_token.user.id == 42 and result.access_token.token.startswith("shpua_")


def test_order_lifecycle_webhooks_carry_rest_payloads(standin, receiver):
    standin.issue_token(SHOP)
    store = standin.store(SHOP)
    o = next(o for o in range(store.order_count) if len(store.order_spec(o).lines) >= 2
             and not store.order_spec(o).refunds and store.order_spec(o).cancelled is None)
    standin.refund_order(SHOP, o, [(0, 1)])
    standin.cancel_order(SHOP, o)
    customer = store.order_spec(o).customer
    if customer >= 0:
        standin.redact_customer(SHOP, customer)
    assert standin.wait_for_webhooks(5)
    bodies = {r["headers"]["X-Shopify-Topic"]: json.loads(r["body"]) for r in receiver.requests}
    refund = bodies["refunds/create"]
    assert refund["order_id"] == 6_100_000_000_000 + o and refund["refund_line_items"][0]["quantity"] == 1
    assert bodies["orders/cancelled"]["cancelled_at"] and bodies["orders/cancelled"]["financial_status"] in (
        "partially_refunded", "refunded", "voided")
    if customer >= 0:
        redact = bodies["customers/redact"]
        assert redact["shop_domain"] == SHOP and 6_100_000_000_000 + o in redact["orders_to_redact"]


def test_cli_serves_until_terminated():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "tests.standins.shopify", "--port", "0", "--shop",
                             "demo.myshopify.com", "--products", "20", "--orders", "30", "--customers", "10"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "SHOPIFY_ADMIN_SCHEMA": "/nonexistent"})  # skip the 2 s schema build
    try:
        url = ""
        for _ in range(5):
            line = proc.stdout.readline()
            if line.startswith("SHOPIFY_STANDIN_URL="):
                url = line.strip().split("=", 1)[1]
                break
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(url + "/").json()["shops"] == ["demo.myshopify.com"]
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_only_topics_the_app_config_subscribes_to_are_delivered(receiver, tmp_path):
    config = tmp_path / "shopify.app.toml"
    config.write_text('[access_scopes]\nscopes = "read_products"\n[webhooks]\napi_version = "2026-10"\n'
                      '[[webhooks.subscriptions]]\ntopics = ["products/update"]\nuri = "https://app.example.com/wh"\n')
    standin = make_standin(receiver, app_config=config)
    try:
        assert standin.issue_token(SHOP)["scope"] == "read_products"
        standin.set_stock(SHOP, 0, 0, 3)  # inventory_levels/update: not subscribed
        standin.set_price(SHOP, 0, "10.00")
        standin.redact_shop(SHOP)  # compliance topics are mandatory
        assert standin.wait_for_webhooks(5)
        assert sorted(receiver.topics()) == ["products/update", "shop/redact"]
    finally:
        standin.stop()


# ------------------------------------------------------------------------------------------- API 2026-01 and later
V2026 = "2026-10"
RUN_2026 = """mutation($q: String!, $grouped: Boolean!) { bulkOperationRunQuery(query: $q, groupObjects: $grouped) {
    bulkOperation { id status } userErrors { field message code } } }"""
BY_ID = "query($id: ID!) { bulkOperation(id: $id) { id status url objectCount query } }"


def gql_at(http: httpx.Client, token: str, version: str, query: str, **variables: Any) -> dict[str, Any]:
    response = http.post(f"https://{SHOP}/admin/api/{version}/graphql.json", json={
        "query": query, "variables": variables}, headers={"X-Shopify-Access-Token": token})
    assert response.status_code == 200
    return response.json()


def bulk_lines(http: httpx.Client, token: str, query: str, grouped: bool) -> list[bytes]:
    started = gql_at(http, token, V2026, RUN_2026, q=query, grouped=grouped)["data"]["bulkOperationRunQuery"]
    assert started["userErrors"] == []
    deadline = time.time() + 20
    while (op := gql_at(http, token, V2026, BY_ID, id=started["bulkOperation"]["id"])["data"]["bulkOperation"])[
            "status"] != "COMPLETED":
        assert time.time() < deadline
        time.sleep(0.02)
    first = httpx.get(op["url"]).content
    assert httpx.get(op["url"]).content == first  # a resumed download reads the very same file
    return first.splitlines()


def placement(lines: list[bytes]) -> collections.Counter:
    """Where each child line sits relative to its parent line."""
    rows = [json.loads(line) for line in lines]
    position = {row["id"]: n for n, row in enumerate(rows) if "id" in row}
    seen: collections.Counter = collections.Counter()
    for n, row in enumerate(rows):
        if "__parentId" in row:
            distance = n - position[row["__parentId"]]
            seen["before" if distance < 0 else "far after" if distance > 200 else "after"] += 1
    return seen


@needs_schema
@pytest.mark.parametrize("query", [BULK_PRODUCTS, """{ orders { edges { node { id name
    lineItems { edges { node { id quantity } } } } } } }"""])
def test_from_2026_01_bulk_output_is_ungrouped_unless_grouping_is_asked(standin, http, query):
    token = standin.issue_token(SHOP)["access_token"]
    ungrouped = bulk_lines(http, token, query, grouped=False)
    grouped = bulk_lines(http, token, query, grouped=True)
    assert sorted(ungrouped) == sorted(grouped)  # the same lines, only in another order
    spread = placement(ungrouped)
    assert spread["before"] and spread["far after"] and spread["after"], spread
    assert set(placement(grouped)) == {"after"}
    seen: set[str] = set()
    for raw in grouped:  # grouped: every child right after its parent's line or a sibling's
        row = json.loads(raw)
        assert "__parentId" not in row or row["__parentId"] in seen
        seen.add(row.get("id"))


@needs_schema
def test_the_2025_04_api_knows_neither_group_objects_nor_bulk_operation_by_id(standin, http):
    token = standin.issue_token(SHOP)["access_token"]
    refused = gql_at(http, token, VERSION, RUN_2026, q=BULK_PRODUCTS, grouped=False)
    assert "groupObjects" in refused["errors"][0]["message"] and "data" not in refused
    refused = gql_at(http, token, VERSION, BY_ID, id="gid://shopify/BulkOperation/1")
    assert "bulkOperation" in refused["errors"][0]["message"]


@needs_schema
def test_from_2026_01_several_bulk_queries_run_at_once_and_bulk_operations_lists_them(receiver, http):
    slow = make_standin(receiver, bulk_duration=3.0)
    try:
        with standin_http_client(slow.base_url) as client:
            token = slow.issue_token(SHOP)["access_token"]
            ids = []
            for _ in range(6):
                payload = gql_at(client, token, V2026, RUN_2026, q=BULK_PRODUCTS, grouped=False)
                ids.append(payload["data"]["bulkOperationRunQuery"])
            assert all(p["userErrors"] == [] for p in ids[:5])
            assert ids[5]["bulkOperation"] is None and ids[5]["userErrors"][0]["code"] == "OPERATION_IN_PROGRESS"
            running = gql_at(client, token, V2026, """{ bulkOperations(first: 10,
                query: "operation_type:query AND (status:created OR status:running)") { nodes { id status } } }""")
            listed = running["data"]["bulkOperations"]["nodes"]
            assert [op["id"] for op in listed] == [p["bulkOperation"]["id"] for p in reversed(ids[:5])]  # newest first
            # Before 2026-01: one at a time.
            old = gql(client, token, RUN, q=BULK_PRODUCTS).data["bulkOperationRunQuery"]
            assert old["userErrors"][0]["code"] == "OPERATION_IN_PROGRESS"
            done = gql_at(client, token, V2026,
                          '{ bulkOperations(first: 5, query: "status:completed") { nodes { id } } }')
            assert done["data"]["bulkOperations"]["nodes"] == []
    finally:
        slow.stop()


@needs_schema
def test_from_2026_04_a_metafield_value_over_16_kb_is_refused(standin, http):
    token = standin.issue_token(SHOP)["access_token"]
    owner = gql_at(http, token, V2026, "{ currentAppInstallation { id } }")["data"]["currentAppInstallation"]["id"]
    write = """mutation($m: [MetafieldsSetInput!]!) { metafieldsSet(metafields: $m) {
        metafields { key } userErrors { field code message } } }"""

    def value_of(size: int, version: str) -> dict[str, Any]:
        return gql_at(http, token, version, write, m=[{"ownerId": owner, "namespace": "personalize", "key": "big",
                                                       "type": "multi_line_text_field", "value": "x" * size}])

    assert value_of(16 * 1024, V2026)["data"]["metafieldsSet"]["userErrors"] == []
    refused = value_of(16 * 1024 + 1, V2026)["data"]["metafieldsSet"]
    assert refused["metafields"] is None and refused["userErrors"][0]["field"] == ["metafields", "0", "value"]
    assert value_of(16 * 1024 + 1, VERSION)["data"]["metafieldsSet"]["userErrors"] == []

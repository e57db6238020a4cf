"""The client against the stand-in: both authentication modes, typed errors, retries, throttling, pagination."""
from __future__ import annotations

import time

import pytest
import requests

from integrations.base.errors import ClientError, NotFound, ServerError, Unauthorized
from integrations.woocommerce.client import WooClient
from tests.standins.woocommerce import StoreSize, WooStandin


def client_for(standin, key=None, **kw) -> WooClient:  # noqa: ANN001
    key = key or standin.create_key()
    return WooClient(standin.url, key.consumer_key, key.consumer_secret, backoff_base=0.01, **kw)


def test_oauth1_over_http(standin):
    page = client_for(standin).page("orders", 2, per_page=50, orderby="id", order="asc")
    assert page.total == 120 and page.total_pages == 3 and len(page.items) == 50
    assert page.items[0]["id"] < page.items[-1]["id"]
    # Every request carried an OAuth 1.0a signature, never the secret.
    assert all("consumer_secret" not in path for _, path, _ in standin.requests_log)


def test_bad_keys_and_bad_signatures_get_401(standin):
    key = standin.create_key()
    with pytest.raises(Unauthorized):
        WooClient(standin.url, key.consumer_key, "cs_" + "0" * 40).get("products")
    with pytest.raises(Unauthorized):
        WooClient(standin.url, "ck_" + "0" * 40, key.consumer_secret).get("products")
    # Basic auth over plain http is not accepted by WooCommerce: the request is anonymous.
    plain = requests.get(f"{standin.url}/wp-json/wc/v3/products", auth=(key.consumer_key, key.consumer_secret))
    assert plain.status_code == 401 and plain.json()["code"] == "woocommerce_rest_cannot_view"
    # A tampered signed URL (page changed after signing) is refused.
    from woocommerce.oauth import OAuth

    signed = OAuth(f"{standin.url}/wp-json/wc/v3/products?page=1", key.consumer_key, key.consumer_secret,
                   version="wc/v3", method="GET").get_oauth_url()
    tampered = requests.get(signed.replace("page=1", "page=2"))
    assert tampered.status_code == 401 and "signature" in tampered.json()["message"]
    # Replaying the very same signed URL reuses its nonce.
    assert requests.get(signed).status_code == 200
    assert requests.get(signed).status_code == 401


def test_basic_auth_over_https(settings):
    with WooStandin(StoreSize(products=5, customers=3, orders=4), tls=True) as store:
        settings.WOOCOMMERCE_CA_BUNDLE = store.cert_file
        key = store.create_key()
        page = WooClient(store.url, key.consumer_key, key.consumer_secret).page("customers", 1)
        assert page.total == 3
        with pytest.raises(Unauthorized):
            WooClient(store.url, key.consumer_key, "cs_" + "1" * 40).get("customers")
        # The secret travelled in the Authorization header, not the URL.
        assert all("consumer_secret" not in path and "oauth_" not in path for _, path, _ in store.requests_log)


def test_server_errors_are_retried_then_typed(standin):
    standin.fail_next(2, 502)
    client = client_for(standin, retries=3)
    assert client.get("products/100")["id"] == 100
    assert client.requests_sent == 3
    standin.fail_next(10, 500)
    with pytest.raises(ServerError):
        client_for(standin, retries=2).get("products/100")
    standin._faults.clear()
    with pytest.raises(NotFound):
        client.get("products/99999")
    with pytest.raises(ClientError):
        client.page("products", 1, per_page=500)


def test_read_only_key_cannot_write(standin):
    client = client_for(standin, standin.create_key("read"))
    assert client.get("webhooks") == []
    with pytest.raises(Unauthorized):
        client.create_webhook("order.created", "https://app.example/hook", "s3cret", "x")


def test_throttling_slows_but_does_not_fail():
    # A burst of 2 then 2 requests/s: five quick page reads must run into the limit, whatever the machine's load.
    with WooStandin(StoreSize(products=5, customers=3, orders=250), rate_limit=(2, 2.0)) as store:
        client = client_for(store, retries=8)
        started = time.monotonic()
        ids = []
        for page_no in range(1, 6):
            ids += [o["id"] for o in client.page("orders", page_no, per_page=50, orderby="id", order="asc").items]
        assert len(ids) == len(set(ids)) == 250
        assert store.throttled > 0 and client.throttled == store.throttled
        # Every 429 carried Retry-After (≥ 1 s), and the client waited it out.
        assert time.monotonic() - started >= 1.0

"""Connecting a store through wc-auth, end to end over real HTTP; forged callbacks; disconnecting."""
from __future__ import annotations

import html
import json
import re
import time
from datetime import timedelta

import pytest
import requests
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from backend.catalog.models import Product
from backend.shops.models import Shop, SyncRun
from integrations.woocommerce.auth import begin_connect, plugin_signature
from integrations.woocommerce.models import ConnectRequest, WooStore
from tests.standins.woocommerce import WooStandin


def approve_link(page: str) -> str:
    return html.unescape(re.search(r'class="wc-auth-approve" href="([^"]+)"', page)[1])


def connect_in_browser(live_server, standin) -> requests.Session:
    browser = requests.Session()
    form = browser.get(f"{live_server.url}/woocommerce/connect")
    assert form.status_code == 200 and 'name="store_url"' in form.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)[1]
    sent = browser.post(f"{live_server.url}/woocommerce/connect",
                        data={"store_url": standin.url, "csrfmiddlewaretoken": token}, allow_redirects=False)
    assert sent.status_code == 302 and sent.headers["Location"].startswith(standin.url + "/wc-auth/v1/authorize?")
    authorize = browser.get(sent.headers["Location"])
    assert authorize.status_code == 200 and "Personalize" in authorize.text
    # The merchant clicks Approve: the store creates a key, POSTs it to our callback, then sends them back.
    approved = browser.get(standin.url + approve_link(authorize.text), allow_redirects=False)
    assert approved.status_code == 302, approved.text
    landed = browser.get(approved.headers["Location"])
    assert landed.status_code == 200
    assert "Connected" in landed.text and landed.url.startswith(f"{live_server.url}/woocommerce/shops/")
    return browser


def test_connect_flow_end_to_end(transactional_db, live_server, standin, woo_settings, eager_celery):
    woo_settings.APP_URL = live_server.url
    connect_in_browser(live_server, standin)

    shop = Shop.objects.get(platform=Shop.Platform.WOOCOMMERCE)
    assert shop.domain == standin.host and shop.is_active and shop.currency == "EUR" and shop.locale == "es"
    key = standin.keys[shop.access_token]
    assert shop.refresh_token == key.consumer_secret and key.permissions == "read_write"
    assert standin.callbacks == [(f"{live_server.url}/woocommerce/callback", 200)]
    # Stored encrypted: the raw column holds neither the key nor the secret.
    with connection.cursor() as cur:
        cur.execute("SELECT access_token, refresh_token FROM shops_shop WHERE id = %s", [shop.pk])
        raw = cur.fetchone()
    assert key.consumer_key not in raw[0] and key.consumer_secret not in raw[1]
    # Webhooks subscribed (each ping answered) and the first sync ran.
    store = WooStore.objects.for_shop(shop).get()
    assert sorted(store.webhook_ids) == sorted(standin.webhooks) and len(store.webhook_ids) == 9
    assert [code for _, code in standin.pings] == [200] * 9
    run = SyncRun.objects.for_shop(shop).get()
    assert run.status == SyncRun.Status.DONE
    assert Product.objects.for_shop(shop).count() == len(standin.store.product_ids())


def test_merchant_denies_access(transactional_db, live_server, standin, woo_settings):
    woo_settings.APP_URL = live_server.url
    url = begin_connect(standin.url, "")
    page = requests.get(url).text
    deny = html.unescape(re.search(r'class="wc-auth-deny" href="([^"]+)"', page)[1])
    landed = requests.get(standin.url + deny)
    assert "Connection declined" in landed.text
    assert not Shop.objects.exists() and not standin.keys


def test_store_refuses_a_plain_http_callback(standin):
    # WooCommerce demands an https callback_url; our stand-in relaxes that for loopback only, and only when asked.
    with WooStandin(allow_http_callback_on_loopback=False) as strict:
        query = "app_name=P&scope=read_write&user_id=x&return_url=http://127.0.0.1/r&callback_url=http://127.0.0.1/c"
        page = requests.get(f"{strict.url}/wc-auth/v1/authorize?{query}")
        assert page.status_code == 400 and "needs to be over SSL" in page.text


def callback_body(token: str, key) -> bytes:  # noqa: ANN001
    return json.dumps({"key_id": key.key_id, "user_id": token, "consumer_key": key.consumer_key,
                       "consumer_secret": key.consumer_secret, "key_permissions": key.permissions}).encode()


def post_callback(client, body: bytes):
    return client.post(reverse("woocommerce-callback"), body, content_type="application/json")


@pytest.mark.django_db
def test_forged_callbacks_are_refused_and_write_nothing(client, standin, woo_settings, eager_celery):
    key = standin.create_key()
    # Nobody started a connection with this user_id.
    assert post_callback(client, callback_body("A" * 32, key)).status_code == 400
    # A connection was started, but the keys do not work on that store (made up, or from another store).
    req, token = ConnectRequest.issue(standin.url)
    fake = type(key)(1, "1", "ck_" + "a" * 40, "cs_" + "b" * 40, "read_write", "")
    assert post_callback(client, callback_body(token, fake)).status_code == 400
    # Read-only keys: we asked for read_write (webhooks need write).
    read_only = standin.create_key("read")
    assert post_callback(client, callback_body(token, read_only)).status_code == 400
    # Malformed bodies.
    for body in (b"", b"[]", b"{", json.dumps({"user_id": token}).encode()):
        assert post_callback(client, body).status_code == 400
    assert not Shop.objects.exists() and not WooStore.all_shops.exists()
    req.refresh_from_db()
    assert req.used_at is None

    # Expired.
    ConnectRequest.objects.filter(pk=req.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert post_callback(client, callback_body(token, key)).status_code == 400
    assert not Shop.objects.exists()


@pytest.mark.django_db
def test_callback_is_single_use(client, standin, woo_settings, monkeypatch):
    monkeypatch.setattr("integrations.woocommerce.auth._queue_finish", lambda shop_id: None)
    _, token = ConnectRequest.issue(standin.url)
    key = standin.create_key()
    assert post_callback(client, callback_body(token, key)).status_code == 200
    shop = Shop.objects.get()
    # Replayed, even with another working key for the same store: refused, the stored keys stay.
    other = standin.create_key()
    assert post_callback(client, callback_body(token, other)).status_code == 400
    shop.refresh_from_db()
    assert shop.access_token == key.consumer_key and Shop.objects.count() == 1


def test_connect_form_refuses_bad_addresses(client, db, settings):
    settings.WOOCOMMERCE_ALLOW_LOOPBACK_STORES = False
    settings.APP_URL = "https://app.example"
    for bad in ("javascript:alert(1)", "http://127.0.0.1:8080", "https://user:pw@shop.example", "ftp://x.example",
                "https://shop.example/?q=1", "http://10.0.0.5", "https://localhost"):
        response = client.post(reverse("woocommerce-connect"), {"store_url": bad})
        assert response.status_code == 400, bad
    assert not ConnectRequest.objects.exists()
    ok = client.post(reverse("woocommerce-connect"), {"store_url": "shop.example.com/store/"})
    assert ok.status_code == 302
    assert ok["Location"].startswith("https://shop.example.com/store/wc-auth/v1/authorize?app_name=Personalize")
    assert "callback_url=https%3A%2F%2Fapp.example%2Fwoocommerce%2Fcallback" in ok["Location"]
    assert "scope=read_write" in ok["Location"] and "return_url=https%3A%2F%2Fapp.example%2Fwoocommerce%2Freturn" \
        in ok["Location"]


def signed(client, path: str, shop, body: dict, secret: str | None = None):
    raw = json.dumps(body).encode()
    return client.post(reverse(path), raw, content_type="application/json",
                       HTTP_X_PERSONALIZE_SIGNATURE=plugin_signature(secret or shop.refresh_token, raw))


@pytest.mark.django_db
def test_plugin_config_and_disconnect(client, woo_shop, standin):
    from integrations.woocommerce.auth import finish_connect

    woo_shop.refresh_from_db()
    body = {"store_url": standin.url, "timestamp": int(time.time())}
    config = signed(client, "woocommerce-plugin-config", woo_shop, body)
    assert config.status_code == 200
    assert config.json()["public_key"] == woo_shop.public_key and config.json()["currency"] == "EUR"
    # Wrong secret, stale timestamp, unknown store: refused, nothing changes.
    assert signed(client, "woocommerce-plugin-disconnect", woo_shop, body, secret="cs_wrong").status_code == 401
    stale = {**body, "timestamp": int(time.time()) - 3600}
    assert signed(client, "woocommerce-plugin-disconnect", woo_shop, stale).status_code == 401
    other = {**body, "store_url": "https://elsewhere.example"}
    assert signed(client, "woocommerce-plugin-disconnect", woo_shop, other).status_code == 401  # not ours
    woo_shop.refresh_from_db()
    assert woo_shop.is_active

    finish_connect(woo_shop)
    assert len(standin.webhooks) == 9
    assert signed(client, "woocommerce-plugin-disconnect", woo_shop, body).status_code == 200
    woo_shop.refresh_from_db()
    assert not woo_shop.is_active and woo_shop.access_token == "" and woo_shop.refresh_token == ""
    assert standin.webhooks == {}, "our webhooks are deleted from the store"
    assert WooStore.objects.for_shop(woo_shop).get().webhook_secret == ""


@pytest.mark.django_db
def test_a_caller_who_cannot_sign_never_learns_whether_a_store_is_connected(client, woo_shop, standin):
    from integrations.woocommerce.auth import disconnect

    woo_shop.refresh_from_db()
    old_secret = woo_shop.refresh_token
    url = reverse("woocommerce-plugin-config")

    def stranger(store: str, with_header: bool) -> tuple[int, dict]:
        raw = json.dumps({"store_url": store, "timestamp": int(time.time())}).encode()
        headers = {"HTTP_X_PERSONALIZE_STORE": store} if with_header else {}
        answer = client.post(url, raw, content_type="application/json", HTTP_X_PERSONALIZE_SIGNATURE="bm9wZQ==",
                             **headers)
        return answer.status_code, answer.json()

    def plugin(secret: str) -> int:
        raw = json.dumps({"store_url": standin.url, "timestamp": int(time.time())}).encode()
        return client.post(url, raw, content_type="application/json", HTTP_X_PERSONALIZE_STORE=standin.url,
                           HTTP_X_PERSONALIZE_SIGNATURE=plugin_signature(secret, raw)).status_code

    refused = (401, {"status": "rejected", "reason": "bad signature"})
    for with_header in (True, False):  # current plugins name their store in a header, older ones in the body
        assert stranger(standin.url, with_header) == refused, "connected"
        assert stranger("https://never-connected.example", with_header) == refused, "never connected"
    assert plugin(old_secret) == 200
    disconnect(woo_shop)  # the merchant pressed Disconnect in the app
    for with_header in (True, False):
        assert stranger(standin.url, with_header) == refused, "disconnected"
    # The plugin itself, signing with the secret of the connection the app ended, is told: it deletes that key.
    assert plugin(old_secret) == 410
    assert plugin("cs_" + "0" * 40) == 401


@pytest.mark.django_db
def test_plugin_data_deletion_request_removes_the_shop(client, woo_shop, standin):
    from integrations.woocommerce.sync import run_sync, start_sync

    run_sync(start_sync(woo_shop))
    assert Product.objects.for_shop(woo_shop).exists()
    body = {"store_url": standin.url, "timestamp": int(time.time()), "erase_data": True}
    response = signed(client, "woocommerce-plugin-disconnect", woo_shop, body)
    assert response.status_code == 200 and response.json()["status"] == "erased"
    assert not Shop.objects.filter(pk=woo_shop.pk).exists()
    assert not Product.all_shops.filter(shop_id=woo_shop.pk).exists()
    assert not SyncRun.all_shops.filter(shop_id=woo_shop.pk).exists()


def test_demo_command_connects_a_standin_store(transactional_db, live_server, woo_settings, eager_celery):
    from io import StringIO

    from django.core.management import call_command

    woo_settings.APP_URL = live_server.url
    out = StringIO()
    call_command("woocommerce_standin", app_url=live_server.url, products=12, customers=5, orders=20, no_wait=True,
                 stdout=out)
    assert "Connected: " + live_server.url + "/woocommerce/shops/" in out.getvalue()
    shop = Shop.objects.get(platform=Shop.Platform.WOOCOMMERCE)
    assert shop.is_active and Product.objects.for_shop(shop).count() == 12


@pytest.mark.django_db
def test_a_plugin_request_naming_its_store_is_verified_before_its_body_is_read(client, woo_shop, standin):
    import time

    woo_shop.refresh_from_db()
    url = reverse("woocommerce-plugin-config")
    hostile = b"[" * 3000 + b"]" * 3000
    # Unsigned garbage for a connected store is refused for its signature: the body was never parsed.
    refused = client.post(url, hostile, content_type="application/json", HTTP_X_PERSONALIZE_STORE=standin.url,
                          HTTP_X_PERSONALIZE_SIGNATURE="bm9wZQ==")
    assert refused.status_code == 401 and refused.json()["reason"] == "bad signature"
    # A signed body may not speak for another store than the header names.
    raw = json.dumps({"store_url": "https://elsewhere.example", "timestamp": int(time.time())}).encode()
    crossed = client.post(url, raw, content_type="application/json", HTTP_X_PERSONALIZE_STORE=standin.url,
                          HTTP_X_PERSONALIZE_SIGNATURE=plugin_signature(woo_shop.refresh_token, raw))
    assert crossed.status_code == 401 and "does not match" in crossed.json()["reason"]
    raw = json.dumps({"store_url": standin.url, "timestamp": int(time.time())}).encode()
    ok = client.post(url, raw, content_type="application/json", HTTP_X_PERSONALIZE_STORE=standin.url,
                     HTTP_X_PERSONALIZE_SIGNATURE=plugin_signature(woo_shop.refresh_token, raw))
    assert ok.status_code == 200 and ok.json()["public_key"] == woo_shop.public_key

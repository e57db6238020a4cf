"""Installing over real HTTP against the Shopify stand-in, both ways; forged, missing, stale or replayed input is
refused with a 4xx and writes nothing."""
from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from backend.shops.models import Shop, SyncRun
from integrations.shopify.client import ShopifyClient
from integrations.shopify.http import shopify_client
from integrations.shopify.oauth import sign_query
from tests.standins.shopify import StoreSize

from .sync_support import new_domain

pytestmark = pytest.mark.django_db(transaction=False)


def nothing_written(domain: str) -> bool:
    return not Shop.objects.filter(domain=domain).exists() and not SyncRun.all_shops.exists()


def authorize(client, standin, domain: str):
    """The merchant clicks install: our redirect, then Shopify's authorize page redirects back with a code."""
    res = client.get("/shopify/install?" + standin.signed_install_query(domain))
    assert res.status_code == 302, res.content
    location = res["Location"]
    assert location.startswith(f"https://{domain}/admin/oauth/authorize?")
    with shopify_client() as http:
        approved = http.get(location)
    assert approved.status_code == 302
    callback = urlsplit(approved.headers["location"])
    assert callback.path == "/shopify/callback"
    return dict(parse_qsl(callback.query))


def test_non_embedded_install_stores_an_encrypted_expiring_token_and_syncs(
        client, standin, eager_celery, django_capture_on_commit_callbacks):
    domain = new_domain("oauth")
    standin.add_shop(domain)
    params = authorize(client, standin, domain)
    with django_capture_on_commit_callbacks(execute=True):
        res = client.get("/shopify/callback?" + urlencode(params))
    assert res.status_code == 302
    shop = Shop.objects.get(domain=domain)
    assert shop.is_active and shop.access_token.startswith("shpat_") and shop.refresh_token
    assert shop.access_token_expires_at and shop.refresh_token_expires_at
    assert "read_products" in shop.scopes
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT access_token, refresh_token FROM shops_shop WHERE id = %s", [shop.pk])
        stored = c.fetchone()
    assert shop.access_token not in stored[0] and shop.refresh_token not in stored[1]  # ciphertext at rest
    run = SyncRun.objects.for_shop(shop).get()
    assert run.status == SyncRun.Status.DONE  # the first sync ran (eager Celery here)
    # The state was single use: replaying the same callback is refused and changes nothing.
    replay = client.get("/shopify/callback?" + urlencode(params))
    assert replay.status_code == 400 and b"state" in replay.content
    assert SyncRun.objects.for_shop(shop).count() == 1


@pytest.mark.parametrize("tamper, status", [
    (lambda q: q.update(hmac="f" * 64), 401),
    (lambda q: q.pop("hmac"), 401),
    (lambda q: q.update(shop="evil.example.com"), 401),
])
def test_forged_or_missing_install_hmac_is_refused(client, standin, tamper, status):
    domain = new_domain("forged")
    standin.add_shop(domain)
    query = dict(parse_qsl(standin.signed_install_query(domain)))
    tamper(query)
    res = client.get("/shopify/install?" + urlencode(query))
    assert res.status_code == status and b"Refused" in res.content
    assert nothing_written(domain)


def test_stale_install_link_is_refused(client, standin):
    domain = new_domain("stale")
    standin.add_shop(domain)
    res = client.get("/shopify/install?" + standin.signed_install_query(domain, timestamp=int(time.time()) - 3600))
    assert res.status_code == 401 and b"stale" in res.content
    assert nothing_written(domain)


def test_non_myshopify_domain_is_refused_even_when_signed(client, standin):
    params = {"shop": "shop.evil.com", "timestamp": str(int(time.time()))}
    params["hmac"] = sign_query(params)
    res = client.get("/shopify/install?" + urlencode(params))
    assert res.status_code == 400 and b"myshopify" in res.content


@pytest.mark.parametrize("case", ["bad_state", "no_state", "forged_hmac", "stale", "other_shops_state"])
def test_bad_callbacks_are_refused_and_write_nothing(client, standin, case):
    domain = new_domain("cb")
    standin.add_shop(domain)
    params = authorize(client, standin, domain)
    if case == "bad_state":
        params["state"] = "made-up"
        params["hmac"] = sign_query(params)
    elif case == "no_state":
        params.pop("state")
        params["hmac"] = sign_query(params)
    elif case == "forged_hmac":
        params["code"] = "0" * 32
    elif case == "stale":
        params["timestamp"] = str(int(time.time()) - 3600)
        params["hmac"] = sign_query(params)
    elif case == "other_shops_state":
        other = new_domain("cb-other")
        standin.add_shop(other)
        params = {**authorize(client, standin, other), "shop": domain}
        params["hmac"] = sign_query(params)
    res = client.get("/shopify/callback?" + urlencode(params))
    assert 400 <= res.status_code < 500 and b"Refused" in res.content
    assert nothing_written(domain)


def test_embedded_install_exchanges_the_session_token(client, standin, eager_celery,
                                                      django_capture_on_commit_callbacks):
    domain = new_domain("embedded")
    standin.add_shop(domain, size=StoreSize(products=3, customers=2, orders=2))
    token = standin.session_token(domain)
    with django_capture_on_commit_callbacks(execute=True):
        res = client.get(f"/app/?shop={domain}&host=x&id_token={token}")
    assert res.status_code == 302, res.content
    assert "frame-ancestors" in res["Content-Security-Policy"]
    assert res["Location"].startswith("/admin/?embedded=1")
    home = client.get(res["Location"])
    assert home.status_code == 200 and domain.encode() in home.content
    shop = Shop.objects.get(domain=domain)
    assert shop.is_active and shop.refresh_token and shop.access_token_expires_at
    # The theme app extension's embed reads the public key from the app-owned metafield set at install.
    assert standin.shop(domain).app_metafields[("personalize", "public_key")]["value"] == shop.public_key
    with ShopifyClient(shop) as api:
        assert api.graphql("{ shop { name } }")["shop"]["name"]


@pytest.mark.parametrize("case", ["forged", "wrong_audience", "other_shop_dest"])
def test_forged_session_tokens_are_refused(client, standin, case):
    domain = new_domain("badjwt")
    standin.add_shop(domain)
    kwargs = {"forged": {"secret": "not-the-app-secret-0123456789abcdef0123"},
              "wrong_audience": {"aud": "someone-elses-app"},
              "other_shop_dest": {"dest": "https://evil.example.com"}}[case]
    token = standin.session_token(domain, **kwargs)
    res = client.get(f"/app/?shop={domain}&id_token={token}")
    assert res.status_code in (400, 401), res.content
    res = client.get("/app/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert res.status_code in (400, 401)
    assert nothing_written(domain)


def test_expired_session_token_bounces_to_the_patch_page(client, standin):
    domain = new_domain("expired")
    standin.add_shop(domain)
    token = standin.session_token(domain, issued_at=time.time() - 600, expires_in=60)
    res = client.get(f"/app/?shop={domain}&id_token={token}")
    assert res.status_code == 302 and "/app/patch-id-token" in res["Location"]
    assert nothing_written(domain)


def test_rotate_encryption_key_reencrypts_tokens_under_the_new_key(settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command
    from django.db import connection

    from tests.factories import make_shop

    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    shop = make_shop(new_domain("rotate"), access_token="shpat_secret_value")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *old_keys]  # new key first, old still readable
    call_command("rotate_encryption_key")
    with connection.cursor() as c:
        c.execute("SELECT access_token FROM shops_shop WHERE id = %s", [shop.pk])
        stored = c.fetchone()[0]
    assert Fernet(new_key.encode()).decrypt(stored.encode()).decode() == "shpat_secret_value"
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key can now be dropped
    assert Shop.objects.get(pk=shop.pk).access_token == "shpat_secret_value"

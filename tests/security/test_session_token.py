"""A Shopify session token is issued by a shop's admin for that shop: iss = https://<shop>/admin and
dest = https://<shop> (shopify.dev, session tokens). A token where they disagree is refused, over real HTTP, on the
admin API, the admin pages and the App Home install, and nothing is written."""
from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest
from django.conf import settings

from tests.integrations.shopify.sync_support import new_domain, shopify_standin, standin  # noqa: F401

from .test_framing import app_tables

pytestmark = pytest.mark.django_db(transaction=True)


def token(dest_shop: str, iss_shop: str) -> str:
    now = int(time.time())
    claims = {"iss": f"https://{iss_shop}/admin", "dest": f"https://{dest_shop}", "aud": settings.SHOPIFY_API_KEY,
              "sub": "7", "exp": now + 60, "nbf": now - 5, "iat": now - 5, "jti": str(uuid.uuid4()), "sid": "s"}
    return jwt.encode(claims, settings.SHOPIFY_API_SECRET, algorithm="HS256")


def test_matching_token_opens_the_admin_api(live_server, shop):
    res = httpx.get(f"{live_server.url}/api/admin/analytics",
                    headers={"Authorization": f"Bearer {token(shop.domain, shop.domain)}"}, timeout=10)
    assert res.status_code == 200


@pytest.mark.parametrize("iss_shop", ["evil.myshopify.com", "evil.example"])
def test_token_whose_issuer_is_another_shop_is_refused(live_server, shop, iss_shop):
    before = app_tables()
    forged = token(shop.domain, iss_shop)
    api = httpx.get(f"{live_server.url}/api/admin/analytics", headers={"Authorization": f"Bearer {forged}"},
                    timeout=10)
    assert api.status_code == 401 and "issuer" in api.json()["error"]
    page = httpx.post(f"{live_server.url}/admin/settings/", timeout=10,
                      data={"id_token": forged, "attribution_window_days": "3", "data_retention_days": "60"})
    assert page.status_code == 401
    assert app_tables() == before


def test_app_home_refuses_a_token_whose_issuer_is_another_shop(live_server, standin):  # noqa: F811
    domain = new_domain("issuer")
    standin.add_shop(domain)
    before = app_tables()
    res = httpx.get(f"{live_server.url}/app/", params={"shop": domain, "id_token": token(domain, "evil.myshopify.com")},
                    timeout=30)
    assert res.status_code == 401, res.text
    assert "issuer" in res.text
    assert app_tables() == before

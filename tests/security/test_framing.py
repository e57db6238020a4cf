"""Framing, over real HTTP: no page of ours may be framed except the embedded admin, by its own shop's admin; the shop
that goes into that header is validated, so a crafted one neither injects CSP directives nor breaks the response."""
from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest

from tests.dashboard.factories import session_token

pytestmark = pytest.mark.django_db(transaction=True)


def app_tables() -> dict[str, int]:
    """Row counts of every table but the cache's (a refusal is counted there, on purpose)."""
    from django.apps import apps

    return {m._meta.db_table: m._base_manager.count() for m in apps.get_models()
            if m._meta.db_table != "core_cache"}


def raw_get(base_url: str, target: str) -> tuple[int, bytes]:
    """A GET with the request target sent exactly as given (httpx would re-encode it)."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\nConnection: close\r\n\r\n"
                     .encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head + b"\r\n\r\n" + body


@pytest.mark.parametrize("path", ["/admin/login/", "/healthz", "/admin/"])
def test_pages_refuse_to_be_framed(live_server, path):
    res = httpx.get(live_server.url + path, timeout=10)
    assert res.headers.get("X-Frame-Options") == "DENY"
    assert "frame-ancestors" not in res.headers.get("Content-Security-Policy", "")


def test_signed_in_admin_outside_shopify_refuses_to_be_framed(live_server, shop):
    from backend.dashboard.auth import login_token

    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        home = http.get("/admin/login/link", params={"token": login_token(shop)}, follow_redirects=True)
    assert home.status_code == 200 and shop.domain in home.text
    assert home.headers.get("X-Frame-Options") == "DENY"


def test_embedded_admin_may_be_framed_by_its_own_shops_admin_only(live_server, shop):
    token = session_token(shop)
    res = httpx.get(f"{live_server.url}/admin/", params={"embedded": "1", "shop": shop.domain, "id_token": token},
                    timeout=10)
    assert res.status_code == 200 and shop.domain in res.text
    assert res.headers["Content-Security-Policy"] == (
        f"frame-ancestors https://{shop.domain} https://admin.shopify.com;")
    assert "X-Frame-Options" not in res.headers


def test_patch_page_frames_for_a_valid_shop(live_server):
    res = httpx.get(f"{live_server.url}/app/patch-id-token",
                    params={"shop": "alpha.myshopify.com", "shopify-reload": "/admin/?embedded=1"}, timeout=10)
    assert res.status_code == 200 and "app-bridge.js" in res.text
    assert res.headers["Content-Security-Policy"] == (
        "frame-ancestors https://alpha.myshopify.com https://admin.shopify.com;")
    assert "X-Frame-Options" not in res.headers


@pytest.mark.parametrize("shop_param", [
    "evil.com;%20script-src%20*;%20x",            # injects CSP directives
    "alpha.myshopify.com%20https://evil.example",  # adds a framing origin
    "evil.example",                                 # frames us on any site
    "a%0d%0aSet-Cookie:%20sessionid=x",             # header splitting: was a 500
    "a%0aX:%20y",
    "",
])
def test_patch_page_refuses_a_shop_that_is_not_a_shop(live_server, shop_param):
    before = app_tables()
    status, response = raw_get(live_server.url, f"/app/patch-id-token?shop={shop_param}&shopify-reload=%2Fadmin%2F")
    assert status == 400, response[:500]
    head = response.split(b"\r\n\r\n", 1)[0].lower()
    assert b"content-security-policy" not in head and b"set-cookie: sessionid" not in head
    assert b"myshopify.com" in response  # the reason says what a shop must be
    assert app_tables() == before


@pytest.mark.parametrize("reload_to", ["https://evil.example/", "//evil.example/admin", "/\\evil.example", ""])
def test_patch_page_reloads_only_a_path_of_ours(live_server, reload_to):
    res = httpx.get(f"{live_server.url}/app/patch-id-token",
                    params={"shop": "alpha.myshopify.com", "shopify-reload": reload_to}, timeout=10)
    assert res.status_code == 400
    assert "Content-Security-Policy" not in res.headers

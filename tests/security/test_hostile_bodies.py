"""Finding 3: hostile bodies sent over real HTTP to a running server get a 4xx with a reason and write nothing.

The body is 3,000 `[` then 3,000 `]`. Before the fix every endpoint below answered 500 (RecursionError), on Shopify
webhooks inside the SDK's request check, which parsed the body before comparing the HMAC.
"""
from __future__ import annotations

import time

import httpx
import pytest

from integrations.woocommerce.auth import plugin_signature
from integrations.woocommerce.webhooks import signature_for

from .conftest import DEEP, all_rows, shopify_hmac

COMPLIANCE = ("customers/data_request", "customers/redact", "shop/redact")


def shopify_headers(topic: str, domain: str, hmac_value: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": domain,
               "X-Shopify-Event-Id": "evt-hostile", "X-Shopify-API-Version": "2026-10"}
    if hmac_value is not None:
        headers["X-Shopify-Hmac-Sha256"] = hmac_value
    return headers


def cases(shopify, woo, store) -> list[tuple[str, str, dict[str, str], set[int]]]:
    """(name, path, headers, statuses acceptable) for every endpoint that reads a body from outside."""
    key = shopify.public_key
    forged = "A" * 43 + "="
    out = []
    for topic in (*COMPLIANCE, "products/create", "orders/create", "app/uninstalled"):
        # Compliance topics must answer exactly 401 to a bad signature (Shopify's app review checks it).
        out.append((f"shopify {topic} forged hmac", "/shopify/webhooks",
                    shopify_headers(topic, shopify.domain, forged), {401}))
        out.append((f"shopify {topic} no hmac", "/shopify/webhooks",
                    shopify_headers(topic, shopify.domain, None), {401}))
        # Correctly signed (as if the secret leaked): still a 4xx, not a crash.
        out.append((f"shopify {topic} signed", "/shopify/webhooks",
                    shopify_headers(topic, shopify.domain, shopify_hmac(DEEP)), {400}))
    out += [
        ("events", f"/api/storefront/events?key={key}", {"Content-Type": "text/plain"}, {400}),
        ("events json", "/api/storefront/events", {"Content-Type": "application/json"}, {400}),
        ("proxy events", "/api/storefront/proxy/events", {"Content-Type": "text/plain"}, {401}),
        ("consent", f"/api/storefront/popup/consent?key={key}", {"Content-Type": "text/plain"}, {400, 413}),
        ("proxy consent", "/api/storefront/proxy/popup/consent", {"Content-Type": "text/plain"}, {401}),
        ("woocommerce callback", "/woocommerce/callback", {"Content-Type": "application/json"}, {400}),
        ("woocommerce webhook forged", f"/woocommerce/webhooks/{woo.pk}",
         {"X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Signature": "forged"}, {401}),
        ("woocommerce webhook signed", f"/woocommerce/webhooks/{woo.pk}",
         {"X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Signature": signature_for(store.webhook_secret, DEEP)},
         {400}),
    ]
    for name in ("config", "disconnect", "redact-customer"):
        for label, sig in (("forged", "forged"), ("signed", plugin_signature(woo.refresh_token, DEEP))):
            out.append((f"plugin {name} {label}", f"/woocommerce/plugin/{name}",
                        {"Content-Type": "application/json", "X-Personalize-Signature": sig}, {400, 401}))
    return out


@pytest.mark.django_db(transaction=True)
def test_deep_brackets_get_4xx_with_a_reason_and_write_nothing(live_server, shops):
    shopify, woo, store = shops
    before = all_rows()
    answers = {}
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        for name, path, headers, wanted in cases(shopify, woo, store):
            response = http.post(path, content=DEEP, headers=headers)
            answers[name] = response.status_code
            assert response.status_code in wanted, f"{name}: {response.status_code} {response.text[:200]}"
            assert response.headers["content-type"].startswith("application/json"), name
            body = response.json()
            assert body.get("reason") or body.get("error"), f"{name}: no reason in {body}"
    assert all_rows() == before


@pytest.mark.django_db(transaction=True)
def test_parsing_a_deep_body_costs_no_more_than_refusing_it(live_server, shops):
    """The depth check runs before any parser and is linear: a 5 MB bracket bomb is refused quickly."""
    shopify, _, _ = shops
    bomb = b"[" * (2 * 1024 * 1024) + b"]" * (2 * 1024 * 1024)
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        started = time.monotonic()
        response = http.post("/shopify/webhooks", content=bomb,
                             headers=shopify_headers("products/create", shopify.domain, shopify_hmac(bomb)))
        elapsed = time.monotonic() - started
    assert response.status_code == 400, response.text[:200]
    assert "deep" in response.json()["reason"]
    assert elapsed < 5, f"took {elapsed:.1f}s"


@pytest.mark.django_db(transaction=True)
def test_oversized_bodies_are_refused_unread_and_compliance_topics_still_say_401(live_server, shops):
    shopify, woo, _ = shops
    big = b"x" * (5 * 1024 * 1024 + 1)
    before = all_rows()
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        for topic in COMPLIANCE:
            answer = http.post("/shopify/webhooks", content=big,
                               headers=shopify_headers(topic, shopify.domain, shopify_hmac(big)))
            assert answer.status_code == 401, (topic, answer.text[:200])
        orders = http.post("/shopify/webhooks", content=big,
                           headers=shopify_headers("orders/create", shopify.domain, shopify_hmac(big)))
        woo_answer = http.post(f"/woocommerce/webhooks/{woo.pk}", content=big,
                               headers={"X-WC-Webhook-Topic": "order.created"})
        events = http.post(f"/api/storefront/events?key={shopify.public_key}", content=b"[" + b"1," * 20000 + b"1]",
                           headers={"Content-Type": "text/plain"})
    assert orders.status_code == 413 and "larger than" in orders.json()["reason"]
    assert woo_answer.status_code == 413
    assert events.status_code == 413 and "larger than" in events.json()["error"]
    assert all_rows() == before


@pytest.mark.django_db(transaction=True)
def test_signatures_with_non_ascii_bytes_are_a_mismatch_not_a_crash(live_server, shops):
    """hmac.compare_digest raises TypeError on str with non-ASCII characters: a header byte 0xE9 was a 500."""
    shopify, woo, _ = shops
    body = b'{"store_url": "https://woo.example.com", "timestamp": 1}'
    before = all_rows()
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        answers = {
            "woocommerce webhook": http.post(f"/woocommerce/webhooks/{woo.pk}", content=body, headers={
                "X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Signature": b"\xe9t\xe9"}),
            "plugin": http.post("/woocommerce/plugin/config", content=body.replace(b"1}", str(int(time.time()))
                                                                                   .encode() + b"}"),
                                headers={"X-Personalize-Signature": b"\xe9t\xe9"}),
            "shopify webhook": http.post("/shopify/webhooks", content=body, headers={
                **shopify_headers("customers/redact", shopify.domain, None), "X-Shopify-Hmac-Sha256": b"\xe9"}),
        }
    assert {name: r.status_code for name, r in answers.items()} == {name: 401 for name in answers}
    assert all_rows() == before

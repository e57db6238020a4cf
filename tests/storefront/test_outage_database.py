"""The database stops answering (SQLite: its file can't be opened; PostgreSQL: nothing listens on its port): the
storefront, webhooks and health answer JSON 503 with Retry-After, the admin a short page in the merchant's
language, a widget the worker holds is still served, and nothing is Django's HTML 500."""
from __future__ import annotations

import json

import pytest

from backend.core import health
from tests.dashboard.factories import session_token
from tests.integrations.shopify.webhook_support import post_webhook, product_body
from tests.outage import database_down
from tests.storefront.factories import make_product

pytestmark = pytest.mark.django_db(transaction=True)  # the outage closes the connection: no test transaction

UA = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36"}
ORIGIN = "https://alpha.myshopify.com"


@pytest.fixture(autouse=True)
def _fresh_probe():
    health.forget_cache_probe()
    yield
    health.forget_cache_probe()


@pytest.fixture
def catalog(shop, monkeypatch):
    products = [make_product(shop, title=f"P{i}") for i in range(4)]
    monkeypatch.setattr("backend.recommendations.registry.recommend",
                        lambda s, widget, ctx: [p.pk for p in products if p.pk != ctx.product_id][: ctx.limit])
    return products


def assert_json_503(response):
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert int(response["Retry-After"]) > 0
    assert json.loads(response.content)["unavailable"] == "database"


def test_storefront_webhooks_and_health_answer_json_503(client, shop, catalog):
    token, domain, key = session_token(shop), shop.domain, shop.public_key
    with database_down():
        widget = client.get("/api/storefront/widgets/bestsellers", {"key": key}, HTTP_ORIGIN=ORIGIN, **UA)
        assert_json_503(widget)
        view = {"type": "product_viewed", "product": catalog[0].platform_id}
        events = client.post("/api/storefront/events", json.dumps({
            "key": key, "visitor": "v-1", "consent": {"analytics": True}, "events": [view]}),
            content_type="text/plain", **UA)
        assert_json_503(events)
        assert_json_503(client.get("/api/storefront/popup", {"key": key, "visitor": "v-1"}))
        woo = client.post("/woocommerce/webhooks/1", b"{}", content_type="application/json",
                          HTTP_X_WC_WEBHOOK_TOPIC="product.updated", HTTP_X_WC_WEBHOOK_SIGNATURE="x")
        assert_json_503(woo)
        shopify = post_webhook(client, "products/update", product_body(), domain)
        assert shopify.status_code == 503 and shopify["Content-Type"] == "application/json"
        assert int(shopify["Retry-After"]) > 0  # Shopify retries a 5xx delivery: nothing is lost
        healthz = client.get("/healthz")
        assert healthz.status_code == 503 and healthz.json()["database"].startswith("error")
        assert client.get(f"/api/admin/analytics?id_token={token}").status_code == 503
    assert client.get("/api/storefront/widgets/bestsellers", {"key": key}, **UA).status_code == 200  # back


def test_admin_gets_a_page_in_the_merchants_language_not_a_500(client, shop):
    token = session_token(shop)
    with database_down():
        es = client.get(f"/admin/?id_token={token}&lang=es")
        en = client.get(f"/admin/widgets/?id_token={token}", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8")
        guessed = client.get(f"/admin/segments/?id_token={token}", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    assert es.status_code == 503 and int(es["Retry-After"]) > 0
    assert es["Content-Type"].startswith("text/html")
    assert "No disponible temporalmente" in es.content.decode()
    assert en.status_code == 503 and "Temporarily unavailable" in en.content.decode()
    assert guessed.status_code == 503 and "No disponible temporalmente" in guessed.content.decode()
    assert es["X-Frame-Options"] == "DENY"  # outside Shopify's admin nobody frames it


def test_inside_shopifys_admin_the_outage_page_can_be_framed(client, shop):
    """Shopify's admin loads the app with embedded=1 and the shop: the 503 page must show there, not a frame
    error (the session token can't be checked while the database is down)."""
    token = session_token(shop)
    with database_down():
        page = client.get(f"/admin/?embedded=1&shop={shop.domain}&id_token={token}&lang=es")
        forged = client.get(f"/admin/?embedded=1&shop=evil.com;%20script-src%20*&id_token={token}&lang=es")
    assert page.status_code == 503 and "No disponible temporalmente" in page.content.decode()
    assert page["Content-Security-Policy"] == f"frame-ancestors https://{shop.domain} https://admin.shopify.com;"
    assert "X-Frame-Options" not in page
    assert forged.status_code == 503 and forged["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" not in forged


def test_a_widget_the_worker_holds_is_served_while_the_database_is_down(client, shop, catalog):
    key = shop.public_key
    warm = client.get("/api/storefront/widgets/bestsellers", {"key": key}, **UA)
    assert warm.status_code == 200 and len(warm.json()["items"]) == 4
    with database_down():
        held = client.get("/api/storefront/widgets/bestsellers", {"key": key}, **UA)
        cold = client.get("/api/storefront/widgets/also_bought", {"key": key, "product": catalog[0].platform_id},
                          **UA)
    assert held.status_code == 200 and held.json() == warm.json()
    assert_json_503(cold)


def test_an_outage_raised_outside_any_view_is_still_a_503_and_other_errors_stay_500(rf):
    """handler500's side: what escapes a middleware (a session save, say) reaches Django's error handler, not ours."""
    from django.db import OperationalError

    from backend.core import outage

    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        api = outage.server_error(rf.get("/api/storefront/events"))
        page = outage.server_error(rf.get("/admin/", HTTP_ACCEPT_LANGUAGE="es"))
    assert_json_503(api)
    assert page.status_code == 503 and "No disponible temporalmente" in page.content.decode()
    try:
        raise ValueError("a bug, not an outage")
    except ValueError:
        bug = outage.server_error(rf.get("/api/storefront/events"))
    assert bug.status_code == 500

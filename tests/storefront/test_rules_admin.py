"""Merchant controls: the JSON API and the server-rendered screen, scoped to the session's shop, CSRF-protected."""
from __future__ import annotations

import json

import pytest
from django.test import Client

from backend.dashboard.auth import login_token
from backend.storefront.merchant_session import login_link
from backend.storefront.models import WidgetRule
from backend.storefront.rules import rule_for
from tests.storefront.factories import make_collection, make_order, make_product

pytestmark = pytest.mark.django_db
UA = {"HTTP_USER_AGENT": "Mozilla/5.0 Chrome/130.0"}


@pytest.fixture
def merchant(shop):
    """A browser signed in to `shop` with CSRF enforced like a real one."""
    client = Client(enforce_csrf_checks=True)
    assert client.get(login_link(shop)).status_code == 302
    client.get("/admin/widgets/")
    return client


def put(client, widget, body, csrf=True):
    headers = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value} if csrf else {}
    return client.put(f"/api/admin/widgets/{widget}", json.dumps(body), content_type="application/json", **headers)


def test_api_round_trip_in_platform_ids_and_rule_for_sees_pks(merchant, shop):
    a, b, c = (make_product(shop, title=t) for t in "abc")
    collection = make_collection(shop, [c])
    response = put(merchant, "also_bought", {
        "enabled": True, "title_en": "You may like", "title_es": "Te puede gustar", "limit": 6, "algorithm": "lift",
        "excluded_products": [a.platform_id], "excluded_collections": [collection.platform_id],
        "pinned_products": [b.platform_id], "min_stock": 2,
    })
    assert response.status_code == 200, response.content
    body = merchant.get("/api/admin/widgets/also_bought").json()
    assert body["excluded_products"] == [a.platform_id] and body["pinned_products"] == [b.platform_id]
    assert body["excluded_collections"] == [collection.platform_id] and body["algorithm"] == "lift"
    rule = rule_for(shop, "also_bought")
    assert rule.excluded_product_ids == {a.pk} and rule.pinned_product_ids == (b.pk,)
    assert rule.title("es") == "Te puede gustar" and rule.limit == 6 and rule.min_stock == 2


def test_api_validation_errors_are_400_with_reasons(merchant, shop, other_shop):
    foreign = make_product(other_shop)
    cases = [
        {"limit": 0}, {"limit": 25}, {"algorithm": "magic"}, {"title_en": "x" * 121},
        {"excluded_products": [foreign.platform_id]}, {"pinned_products": ["<script>"]},
        {"min_stock": -1}, {"pinned_products": [str(i) for i in range(30)]},
    ]
    for body in cases:
        response = put(merchant, "bestsellers", body)
        assert response.status_code == 400, body
        assert response.json()["errors"], body
    assert WidgetRule.objects.for_shop(shop).count() == 0


def test_api_needs_session_and_csrf(client, merchant, shop):
    assert client.get("/api/admin/widgets/bestsellers").status_code == 401
    assert put(merchant, "bestsellers", {"limit": 3}, csrf=False).status_code == 403
    assert put(merchant, "nope", {"limit": 3}).status_code == 404
    assert put(merchant, "bestsellers", {"limit": 3}).status_code == 200


def test_admin_screen_needs_valid_link(client, shop):
    assert client.get("/admin/widgets/").status_code == 401
    assert client.get("/admin/widgets/?token=forged").status_code == 403
    token = login_token(shop)
    assert client.get(f"/admin/widgets/?token={token[:-2]}xx").status_code == 403


def test_admin_screen_saves_and_storefront_changes_live(merchant, shop):
    products = [make_product(shop, title=f"P{i}") for i in range(5)]
    for p in products:
        make_order(shop, [p])
    before = merchant.get("/api/storefront/widgets/bestsellers", {"key": shop.public_key}, **UA).json()
    assert len(before["items"]) == 5
    page = merchant.get("/admin/widgets/?lang=es")
    assert "Los más vendidos" in page.content.decode() and "csrfmiddlewaretoken" in page.content.decode()
    csrf = merchant.cookies["csrftoken"].value
    response = merchant.post("/admin/widgets/", {
        "csrfmiddlewaretoken": csrf, "widget": "bestsellers", "bestsellers-enabled": "on",
        "bestsellers-title_es": "Lo más <b>top</b>", "bestsellers-limit": "2",
        "bestsellers-excluded_products": products[0].platform_id,
    })
    assert response.status_code == 302
    after = merchant.get("/api/storefront/widgets/bestsellers", {"key": shop.public_key, "locale": "es"}, **UA)
    assert after.json()["title"] == "Lo más <b>top</b>"
    assert len(after.json()["items"]) == 2
    assert products[0].platform_id not in [i["id"] for i in after.json()["items"]]
    # The title is escaped where the screen renders it.
    html = merchant.get("/admin/widgets/").content.decode()
    assert "Lo más &lt;b&gt;top&lt;/b&gt;" in html


def test_admin_screen_shows_errors_and_rejects_missing_csrf(merchant, shop):
    csrf = merchant.cookies["csrftoken"].value
    bad = merchant.post("/admin/widgets/", {"csrfmiddlewaretoken": csrf, "widget": "also_bought",
                                            "also_bought-limit": "99"})
    assert bad.status_code == 200 and 'role="alert"' in bad.content.decode()
    no_csrf = merchant.post("/admin/widgets/", {"widget": "also_bought", "also_bought-limit": "3"})
    assert no_csrf.status_code == 403
    assert WidgetRule.objects.for_shop(shop).count() == 0


def test_admin_origins_allow_a_custom_domain(merchant, shop):
    csrf = merchant.cookies["csrftoken"].value
    url = "/api/storefront/widgets/bestsellers"
    assert merchant.get(url, {"key": shop.public_key}, HTTP_ORIGIN="https://shop.example", **UA).status_code == 403
    merchant.post("/admin/widgets/", {"csrfmiddlewaretoken": csrf, "widget": "origins",
                                      "origins": "https://Shop.Example/\nnot a url"})
    assert merchant.get(url, {"key": shop.public_key}, HTTP_ORIGIN="https://shop.example", **UA).status_code == 403
    merchant.post("/admin/widgets/", {"csrfmiddlewaretoken": csrf, "widget": "origins",
                                      "origins": "https://Shop.Example/"})
    assert merchant.get(url, {"key": shop.public_key}, HTTP_ORIGIN="https://shop.example", **UA).status_code == 200


def test_one_shop_cannot_edit_another(merchant, shop, other_shop):
    put(merchant, "bestsellers", {"limit": 3})
    assert WidgetRule.objects.for_shop(other_shop).count() == 0
    assert rule_for(other_shop, "bestsellers").limit == 8


def test_admin_link_command_signs_in(shop, capsys):
    from django.core.management import call_command

    call_command("widget_admin_link", shop.domain)
    link = capsys.readouterr().out.strip()
    client = Client()
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert client.get("/" + path).status_code == 302
    assert client.get("/admin/widgets/").status_code == 200

"""GET /api/storefront/popup and POST /api/storefront/popup/consent: decisions, validation, headers, consent."""
from __future__ import annotations

import json

import pytest
from django.core.cache import cache

from backend.popups.models import Consent, DiscountCode
from backend.storefront.access import forget_shops

from .factories import COPY, fill_pool, make_campaign, returning_visitor

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean():
    cache.clear()
    forget_shops()
    yield
    cache.clear()
    forget_shops()


def get(client, shop, **params):
    return client.get("/api/storefront/popup", {"key": shop.public_key, **params})


def test_answer_is_personal_and_differs_for_new_and_returning_visitors(client, shop):
    campaign = make_campaign(shop)
    fill_pool(campaign)
    returning_visitor(shop, "returning-1")

    new = get(client, shop, visitor="new-1", locale="en")
    back = get(client, shop, visitor="returning-1", locale="es")
    assert new.status_code == back.status_code == 200
    assert new["Cache-Control"] == "private, no-store"
    body, other = new.json(), back.json()
    assert body["campaign"]["id"] == campaign.pk and body["offer"]["kind"] == "free_shipping"
    assert body["trigger"] == {"min_seconds": 2, "mobile": True} and body["cap"] == {"scope": "session", "days": 0}
    assert other["offer"]["kind"] == "percent" and other["copy"]["headline"] == COPY["es"]["headline"]
    assert "code" not in body["offer"] and body["platform"] == "shopify"
    assert not DiscountCode.objects.for_shop(shop).exclude(visitor_id="").exists(), "asking reserves nothing"

def test_no_campaign_answers_null(client, shop):
    response = get(client, shop, visitor="v1")
    assert response.status_code == 200 and response.json() == {"campaign": None}


@pytest.mark.parametrize(("params", "status", "reason"), [
    ({"visitor": "x" * 65}, 400, "visitor"),
    ({"visitor": "<script>"}, 400, "visitor"),
    ({"session": "a b"}, 400, "session"),
    ({"locale": "fr"}, 400, "locale"),
    ({"cart": "yes"}, 400, "cart"),
    ({"key": "pk_nope"}, 404, "unknown key"),
    ({"key": "bad key!"}, 404, "unknown key"),
])
def test_bad_input_is_a_4xx_with_a_reason(client, shop, params, status, reason):
    make_campaign(shop)
    response = client.get("/api/storefront/popup", {"key": shop.public_key, **params})
    assert response.status_code == status
    assert reason in response.json()["error"]


def test_a_foreign_origin_is_refused(client, shop):
    response = client.get("/api/storefront/popup", {"key": shop.public_key}, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403


def test_another_shops_key_never_sees_this_shops_campaign(client, shop, other_shop):
    fill_pool(make_campaign(shop))
    assert get(client, other_shop, visitor="v1").json() == {"campaign": None}


def post_consent(client, **body):
    return client.post("/api/storefront/popup/consent", json.dumps(body), content_type="text/plain")


def test_email_capture_stores_consent_with_the_exact_text_and_time(client, shop):
    campaign = make_campaign(shop, email_capture=True)
    ok = post_consent(client, key=shop.public_key, campaign=campaign.pk, email="Ana@Example.com ", consent=True,
                      text=COPY["es"]["consent"], locale="es", visitor="v-1")
    assert ok.status_code == 201, ok.content
    row = Consent.objects.for_shop(shop).get()
    assert (row.email, row.text, row.locale, row.visitor_id) == ("ana@example.com", COPY["es"]["consent"], "es", "v-1")
    assert row.given_at is not None


@pytest.mark.parametrize(("change", "reason"), [
    ({"consent": False}, "explicit consent"),
    ({"consent": "yes"}, "explicit consent"),
    ({"email": "not-an-email"}, "email"),
    ({"text": "I agree to anything"}, "consent text"),
    ({"locale": "de"}, "locale"),
    ({"campaign": "1"}, "campaign"),
])
def test_consent_without_a_real_yes_or_with_other_text_is_refused(client, shop, change, reason):
    campaign = make_campaign(shop, email_capture=True)
    body = {"key": shop.public_key, "campaign": campaign.pk, "email": "a@example.com", "consent": True,
            "text": COPY["en"]["consent"], "locale": "en", **change}
    response = post_consent(client, **body)
    assert response.status_code == 400 and reason in response.json()["error"]
    assert not Consent.objects.for_shop(shop).exists()


def test_consent_body_that_is_not_json_is_a_400(client, shop):
    response = client.post("/api/storefront/popup/consent", b"\xff\xfe", content_type="text/plain")
    assert response.status_code == 400


def _proxy_query(shop_domain: str, secret: str, **extra) -> dict:
    import hashlib
    import hmac
    import time

    from shopify_app.verify.app_proxy import _generate_param_string  # the SDK's own canonical form of the query

    params = {"shop": shop_domain, "path_prefix": "/apps/personalize", "timestamp": str(int(time.time())), **extra}
    params["signature"] = hmac.new(secret.encode(), _generate_param_string(params).encode(), hashlib.sha256).hexdigest()
    return params


def test_app_proxy_variant_needs_shopifys_signature(client, shop, settings):
    from urllib.parse import urlencode

    fill_pool(make_campaign(shop))
    good = client.get("/api/storefront/proxy/popup",
                      _proxy_query(shop.domain, settings.SHOPIFY_API_SECRET, visitor="proxy-v", locale="en"))
    assert good.status_code == 200 and good.json()["offer"]["kind"] == "free_shipping"
    claim = client.post("/api/storefront/proxy/popup/claim?" + urlencode(_proxy_query(
        shop.domain, settings.SHOPIFY_API_SECRET)), json.dumps({"campaign": good.json()["campaign"]["id"],
                                                               "visitor": "proxy-v"}), content_type="text/plain")
    assert claim.status_code == 200 and claim.json()["offer"]["code"]
    forged = client.get("/api/storefront/proxy/popup", _proxy_query(shop.domain, "not-the-secret", visitor="proxy-v"))
    assert forged.status_code == 401


def test_consent_through_the_app_proxy(client, shop, settings):
    from urllib.parse import urlencode

    campaign = make_campaign(shop, email_capture=True)
    body = json.dumps({"campaign": campaign.pk, "email": "luis@example.com", "consent": True,
                       "text": COPY["en"]["consent"], "locale": "en"})
    signed = urlencode(_proxy_query(shop.domain, settings.SHOPIFY_API_SECRET))
    ok = client.post(f"/api/storefront/proxy/popup/consent?{signed}", body, content_type="text/plain")
    assert ok.status_code == 201 and Consent.objects.for_shop(shop).get().email == "luis@example.com"
    forged = urlencode(_proxy_query(shop.domain, "nope"))
    assert client.post(f"/api/storefront/proxy/popup/consent?{forged}", body,
                       content_type="text/plain").status_code == 401


def test_gdpr_export_and_redaction_include_popup_consents(client, shop):
    from backend.shops.redaction import CustomerRef, export_customer, redact_customer

    campaign = make_campaign(shop, email_capture=True)
    post_consent(client, key=shop.public_key, campaign=campaign.pk, email="eva@example.com", consent=True,
                 text=COPY["en"]["consent"], locale="en")
    ref = CustomerRef(platform_id="404", email="EVA@example.com")
    exported = export_customer(shop, ref)
    assert exported.data["popup_consents"][0]["text"] == COPY["en"]["consent"]
    redact_customer(shop, ref)
    assert not Consent.objects.for_shop(shop).exists()

"""One auth for every merchant screen: session tokens (embedded), Woo login, one-time links; shops never mix."""
from __future__ import annotations

import pytest

from backend.dashboard.auth import current_shop, login_token
from backend.experiments.models import Experiment
from tests.dashboard.factories import member, session_token

pytestmark = pytest.mark.django_db


def _bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_session_token_opens_own_shop_pages_and_apis_without_cookies(client, shop):
    token = session_token(shop)
    page = client.get(f"/admin/?id_token={token}")
    assert page.status_code == 200
    assert shop.domain in page.content.decode()
    assert 'name="shopify-api-key"' in page.content.decode()  # embedded: App Bridge tag present
    assert f"id_token={token}" in page.content.decode()  # nav links carry the token (no cookie)
    assert client.get("/api/admin/experiments", **_bearer(token)).status_code == 200
    assert not client.cookies.get("sessionid")


def test_token_for_shop_b_cannot_read_shop_a(client, shop, other_shop):
    exp_a = Experiment.objects.create(shop=shop, name="A only", target_key="also_bought",
                                      arms=[{"key": "control"}, {"key": "b"}])
    token_b = session_token(other_shop)
    assert client.get(f"/api/admin/experiments/{exp_a.pk}", **_bearer(token_b)).status_code == 404
    assert client.get(f"/admin/experiments/{exp_a.pk}/?id_token={token_b}").status_code == 404
    listed = client.get("/api/admin/experiments", **_bearer(token_b)).json()
    assert listed["experiments"] == []
    stop = client.post(f"/api/admin/experiments/{exp_a.pk}/start", **_bearer(token_b))
    assert stop.status_code == 404
    exp_a.refresh_from_db()
    assert exp_a.status == Experiment.Status.DRAFT
    # The widget screen (another owner's) follows the same auth: B's token shows B, never A.
    page = client.get(f"/admin/widgets/?id_token={token_b}")
    assert page.status_code == 200 and other_shop.domain in page.content.decode()


@pytest.mark.parametrize("kind", ["forged", "expired", "garbage"])
def test_bad_session_token_is_401(client, shop, kind):
    token = {"forged": session_token(shop, secret="not-the-app-secret"),
             "expired": session_token(shop, expires_in=-120), "garbage": "abc.def.ghi"}[kind]
    assert client.get("/api/admin/experiments", **_bearer(token)).status_code == 401
    assert client.get(f"/admin/analytics/?id_token={token}").status_code == 401


def test_bad_token_never_falls_back_to_a_cookie_session(client, shop, other_shop):
    member(shop)
    client.post("/admin/login/", {"username": "ana@example.com", "password": "correct horse 42"})
    assert client.get("/admin/").status_code == 200
    forged = session_token(other_shop, secret="nope")
    assert client.get(f"/admin/?id_token={forged}").status_code == 401


def test_no_credentials_redirects_pages_and_401s_apis(client, shop):
    page = client.get("/admin/analytics/")
    assert page.status_code == 302 and page["Location"].startswith("/admin/login/")
    assert client.get("/api/admin/analytics").status_code == 401


def test_woo_login_signs_in_to_the_members_shop_only(client, shop, other_shop):
    member(other_shop)
    bad = client.post("/admin/login/", {"username": "ana@example.com", "password": "wrong"})
    assert bad.status_code == 401
    ok = client.post("/admin/login/", {"username": "ana@example.com", "password": "correct horse 42"})
    assert ok.status_code == 302
    home = client.get("/admin/")
    assert other_shop.domain in home.content.decode() and shop.domain not in home.content.decode()
    # The other screens read the same session through dashboard.auth.
    assert client.get("/admin/segments/").status_code == 200
    assert client.get("/admin/widgets/").status_code == 200
    request = home.wsgi_request
    assert current_shop(request) == other_shop


def test_user_without_membership_cannot_sign_in(client, shop):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="eve", password="pw-12345678")
    assert client.post("/admin/login/", {"username": "eve", "password": "pw-12345678"}).status_code == 401
    assert client.get("/admin/").status_code == 302


def test_one_time_login_link_works_once(client, shop):
    token = login_token(shop)
    first = client.get(f"/admin/login/link?token={token}")
    assert first.status_code == 302 and first["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    client.cookies.clear()
    assert client.get(f"/admin/login/link?token={token}").status_code == 403


def test_cookie_session_posts_need_csrf(shop):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    member(shop)
    login_page = strict.get("/admin/login/")
    csrf = login_page.cookies["csrftoken"].value
    assert strict.post("/admin/login/", {"username": "ana@example.com", "password": "correct horse 42",
                                         "csrfmiddlewaretoken": csrf}).status_code == 302
    refused = strict.post("/admin/settings/", {"attribution_window_days": 3, "data_retention_days": 365})
    assert refused.status_code == 403
    # A session token is not ambient: a post carrying one needs no CSRF cookie.
    ok = strict.post("/admin/settings/", {"attribution_window_days": 3, "data_retention_days": 365,
                                          "id_token": session_token(shop)})
    assert ok.status_code == 302


def test_embedded_widget_screen_saves_with_the_session_token_and_keeps_it(shop):
    from django.test import Client

    from backend.dashboard.models import AuditEntry
    from backend.storefront.models import WidgetRule

    strict = Client(enforce_csrf_checks=True)  # no cookie at all: the token is the credential
    token = session_token(shop, sub="99")
    saved = strict.post("/admin/widgets/", {"widget": "bestsellers", "bestsellers-enabled": "on",
                                            "bestsellers-title_en": "Hot", "bestsellers-limit": "4",
                                            "bestsellers-min_stock": "0", "id_token": token})
    assert saved.status_code == 302 and f"id_token={token}" in saved["Location"]
    assert WidgetRule.objects.for_shop(shop).get(widget="bestsellers").title_en == "Hot"
    assert AuditEntry.objects.for_shop(shop).get().actor == "shopify:99"
    page = strict.get(saved["Location"]).content.decode()
    assert 'name="id_token"' in page and "csrfmiddlewaretoken" not in page
    forged = session_token(shop, secret="wrong-secret")
    assert strict.post("/admin/widgets/", {"widget": "bestsellers", "id_token": forged}).status_code in (401, 403)


def test_embedded_page_without_token_bounces_to_the_patch_page(client, shop):
    res = client.get(f"/admin/analytics/?embedded=1&shop={shop.domain}&host=abc")
    assert res.status_code == 302 and res["Location"].startswith("/app/patch-id-token?")
    assert "shopify-reload=" in res["Location"]


def test_merchant_access_command_links_a_user_and_prints_a_working_link(client, shop):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("merchant_access", shop.domain, "bo@example.com", "--password", "s3cret-pass-1", stdout=out)
    link = out.getvalue().split("link (valid 10 minutes): ")[1].strip()
    path = link[link.index("/admin/login/link"):]
    assert client.get(path).status_code == 302
    assert shop.domain in client.get("/admin/").content.decode()
    client.cookies.clear()
    assert client.post("/admin/login/", {"username": "bo@example.com", "password": "s3cret-pass-1"}).status_code == 302


def test_password_guessing_is_paused(client, shop, settings, own_cache_namespace):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed, not what's tested
    member(shop)
    for _ in range(10):
        assert client.post("/admin/login/", {"username": "ana@example.com", "password": "nope"}).status_code == 401
    paused = client.post("/admin/login/", {"username": "ana@example.com", "password": "correct horse 42"})
    assert paused.status_code == 429


def test_embedded_segment_and_popup_screens_save_with_the_session_token_and_keep_it(shop):
    from django.test import Client

    from backend.popups.models import Campaign
    from backend.segments.models import Segment

    strict = Client(enforce_csrf_checks=True)  # no cookie at all: the token is the credential
    token = session_token(shop, sub="7")
    rules = '{"all": [{"field": "orders_count", "op": "gte", "value": 1}]}'
    saved = strict.post("/admin/segments/new/", {"name": "Buyers", "id_token": token, "rules": rules})
    assert saved.status_code == 302 and f"id_token={token}" in saved["Location"]
    assert Segment.objects.for_shop(shop).filter(name="Buyers").exists()
    assert strict.get(saved["Location"]).status_code == 200
    from tests.popups.test_admin import FORM

    form = {**FORM, "id_token": token}
    assert strict.post("/admin/popups/new/", form).status_code == 302
    assert Campaign.objects.for_shop(shop).filter(name=FORM["name"]).exists()

"""A popup experiment's hold-out arm is exposed when the popup would have appeared, not when a page loads:
`GET /popup` answers the trigger and a signed token, `POST /popup/exposure` counts the visitor once; forged, foreign
or malformed reports are refused with a 4xx and a reason, and rate-limited like the event beacons."""
from __future__ import annotations

import json

import pytest
from django.core.cache import cache

from backend.experiments.assignment import Arm, assign
from backend.experiments.models import Experiment, Exposure
from backend.experiments.runtime import forget_local, forget_running
from backend.popups.holdout import sign

from .factories import fill_pool, make_campaign

pytestmark = pytest.mark.django_db

ARMS = [{"key": "popup", "weight": 1, "config": {}}, {"key": "holdout", "weight": 1, "config": {"show": False}}]


@pytest.fixture(autouse=True)
def _clean():
    cache.clear()
    forget_local()
    yield
    cache.clear()
    forget_local()


def visitor_in(exp: Experiment, arm: str, prefix: str = "v") -> str:
    arms = [Arm(a["key"], a["weight"]) for a in exp.arms]
    return next(f"{prefix}-{i}" for i in range(1000) if assign(exp.salt, f"{prefix}-{i}", arms) == arm)


@pytest.fixture
def setup(shop):
    campaign = make_campaign(shop)
    fill_pool(campaign)
    exp = Experiment.objects.create(shop=shop, name="popup or not", target_kind="popup", target_key=str(campaign.pk),
                                    status="running", salt="s1", arms=ARMS)
    forget_running(shop)
    return campaign, exp


def ask(client, shop, visitor: str) -> dict:
    response = client.get("/api/storefront/popup", {"key": shop.public_key, "visitor": visitor})
    assert response.status_code == 200, response.content
    return response.json()


def report(client, key: str, body: dict, ip: str = "198.51.100.9"):
    return client.post("/api/storefront/popup/exposure", json.dumps({"key": key, **body}), content_type="text/plain",
                       REMOTE_ADDR=ip)


def from_answer(held: dict, visitor: str) -> dict:
    return {"campaign": held["campaign"]["id"], "experiment": held["experiment"]["id"],
            "arm": held["experiment"]["arm"], "visitor": visitor, "token": held["token"]}


def test_a_hold_out_visitor_is_counted_only_after_would_have_shown_and_only_once(client, shop, setup):
    campaign, exp = setup
    visitor = visitor_in(exp, "holdout")
    for _page in range(3):  # several pages load: nothing is counted, whatever the pages ask
        answer = ask(client, shop, visitor)
        assert answer["campaign"] is None
        held = answer["holdout"]
        assert held["campaign"]["id"] == campaign.pk and held["trigger"] == {"min_seconds": 2, "mobile": True}
        assert "offer" not in held and "copy" not in held  # nothing to show
    assert not Exposure.objects.for_shop(shop).exists()

    first = report(client, shop.public_key, from_answer(held, visitor))
    assert first.status_code == 201 and first.json() == {"exposure": "recorded"}
    row = Exposure.objects.for_shop(shop).get()
    assert (row.arm, row.visitor_id, row.source) == ("holdout", visitor, Exposure.Source.WOULD_SHOW)

    again = report(client, shop.public_key, from_answer(held, visitor))
    assert again.status_code == 200 and again.json() == {"exposure": "already recorded"}
    assert Exposure.objects.for_shop(shop).get().first_exposed_at == row.first_exposed_at
    # A hold-out never shows, so it never gets a code either.
    claim = client.post("/api/storefront/popup/claim", json.dumps(
        {"key": shop.public_key, "campaign": campaign.pk, "visitor": visitor, "locale": "en"}),
        content_type="text/plain")
    assert claim.status_code == 404


def test_the_shown_arm_gets_its_popup_and_no_hold_out_token(client, shop, setup):
    _campaign, exp = setup
    visitor = visitor_in(exp, "popup")
    answer = ask(client, shop, visitor)
    assert answer["campaign"] is not None and answer["experiment"] == {"id": str(exp.pk), "arm": "popup"}
    assert "holdout" not in answer
    assert not Exposure.objects.for_shop(shop).exists()  # counted when the popup_shown event arrives, not here


def test_a_forged_or_replayed_token_is_refused_and_counts_nothing(client, shop, setup):
    _campaign, exp = setup
    visitor, other = visitor_in(exp, "holdout"), visitor_in(exp, "holdout", prefix="w")
    held = ask(client, shop, visitor)["holdout"]
    expires, _dot, signature = held["token"].partition(".")
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    cases = [
        ({"token": f"{expires}.{flipped}"}, "exposure token rejected"),  # tampered
        ({"token": f"{int(expires) + 999}.{signature}"}, "exposure token rejected"),  # expiry pushed back
        ({"visitor": other}, "exposure token rejected"),  # another visitor's report with this visitor's token
        ({"token": "123"}, "exposure token malformed"),
    ]
    for change, reason in cases:
        response = report(client, shop.public_key, {**from_answer(held, visitor), **change})
        assert response.status_code == 403 and reason in response.json()["error"], (change, response.content)
    stale = sign(shop.pk, held["campaign"]["id"], held["experiment"]["id"], "holdout", visitor, now=0)
    response = report(client, shop.public_key, {**from_answer(held, visitor), "token": stale})
    assert response.status_code == 403 and response.json()["error"] == "exposure token expired"
    assert not Exposure.all_shops.exists()


def test_another_shops_event_is_refused(client, shop, other_shop, setup):
    """A token is keyed to its shop: sent with another shop's key (or another shop's token here) it fails."""
    _campaign, exp = setup
    visitor = visitor_in(exp, "holdout")
    held = ask(client, shop, visitor)["holdout"]
    theirs = report(client, other_shop.public_key, from_answer(held, visitor))
    assert theirs.status_code == 403 and "exposure token rejected" in theirs.json()["error"]
    foreign = sign(other_shop.pk, held["campaign"]["id"], held["experiment"]["id"], "holdout", visitor)
    response = report(client, shop.public_key, {**from_answer(held, visitor), "token": foreign})
    assert response.status_code == 403 and "exposure token rejected" in response.json()["error"]
    unknown = report(client, "pk_nobody", from_answer(held, visitor))
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown key"
    foreign_origin = client.post("/api/storefront/popup/exposure", json.dumps(
        {"key": shop.public_key, **from_answer(held, visitor)}), content_type="text/plain",
        HTTP_ORIGIN="https://evil.example")
    assert foreign_origin.status_code == 403 and foreign_origin.json()["error"] == "origin not allowed for this shop"
    assert not Exposure.all_shops.exists()


def test_a_shown_arm_visitor_cannot_be_counted_as_a_hold_out(client, shop, setup):
    """Even with a valid signature (made here, as no answer would give one), the assignment decides the arm."""
    campaign, exp = setup
    visitor = visitor_in(exp, "popup")
    body = {"campaign": campaign.pk, "experiment": str(exp.pk), "arm": "holdout", "visitor": visitor,
            "token": sign(shop.pk, campaign.pk, str(exp.pk), "holdout", visitor)}
    response = report(client, shop.public_key, body)
    assert response.status_code == 409 and "not in a hold-out arm" in response.json()["error"]
    # Nor through the event beacon: a "popup_shown" naming the hold-out arm exposes nobody.
    held = visitor_in(exp, "holdout")
    beacon = client.post("/api/storefront/events", json.dumps({
        "key": shop.public_key, "visitor": held, "consent": {"analytics": True},
        "events": [{"type": "popup_shown", "widget": campaign.widget, "experiment": str(exp.pk),
                    "variant": "holdout"}]}), content_type="text/plain")
    assert beacon.status_code == 202 and beacon.json()["accepted"] == 1
    assert not Exposure.all_shops.exists()


def test_a_stopped_experiment_counts_no_more(client, shop, setup):
    _campaign, exp = setup
    visitor = visitor_in(exp, "holdout")
    held = ask(client, shop, visitor)["holdout"]
    Experiment.objects.for_shop(shop).filter(pk=exp.pk).update(status="stopped")
    forget_running(shop)
    forget_local()
    response = report(client, shop.public_key, from_answer(held, visitor))
    assert response.status_code == 404 and response.json()["error"] == "no running experiment on that campaign"


@pytest.mark.parametrize("change, reason", [
    ({"campaign": "7"}, "campaign must be the campaign id"),
    ({"experiment": 5}, "experiment must be the experiment id"),
    ({"experiment": "9" * 13}, "experiment must be the experiment id"),
    ({"arm": "x" * 65}, "arm must be the variant"),
    ({"visitor": "a b"}, "visitor must be 1-64 characters"),
    ({"token": "1." + "a" * 200}, "token must be the one the popup answer gave"),
])
def test_malformed_reports_are_a_400_with_a_reason(client, shop, setup, change, reason):
    _campaign, exp = setup
    visitor = visitor_in(exp, "holdout")
    held = ask(client, shop, visitor)["holdout"]
    response = report(client, shop.public_key, {**from_answer(held, visitor), **change})
    assert response.status_code == 400 and reason in response.json()["error"]


def test_a_body_too_large_or_not_json_is_refused(client, shop):
    big = client.post("/api/storefront/popup/exposure", "{" + " " * 5000 + "}", content_type="text/plain")
    assert big.status_code == 413
    bad = client.post("/api/storefront/popup/exposure", "not json", content_type="text/plain")
    assert bad.status_code == 400 and bad.json()["error"]


def test_reports_are_rate_limited_like_the_event_beacons(client, shop, setup, settings):
    settings.STOREFRONT_EVENTS_PER_VISITOR_PER_MINUTE = 2
    _campaign, exp = setup
    visitor = visitor_in(exp, "holdout")
    body = from_answer(ask(client, shop, visitor)["holdout"], visitor)
    answers = [report(client, shop.public_key, body) for _ in range(5)]
    assert [a.status_code for a in answers[:2]] == [201, 200]
    # The budget is per minute: if the reports straddle a minute's edge, the next window allows two more, so
    # five reports reach the limit whatever the clock says.
    limited = next((a for a in answers[2:] if a.status_code == 429), None)
    assert limited is not None, [a.status_code for a in answers]
    assert limited.json()["error"] == "rate limited" and int(limited["Retry-After"]) > 0


def test_a_page_load_row_of_the_old_rule_becomes_the_exposure_when_the_popup_would_show(client, shop, setup):
    _campaign, exp = setup
    visitor = visitor_in(exp, "holdout")
    Exposure.objects.create(shop=shop, experiment=exp, arm="holdout", visitor_id=visitor,
                            source=Exposure.Source.PAGE_LOAD)
    held = ask(client, shop, visitor)["holdout"]
    response = report(client, shop.public_key, from_answer(held, visitor))
    assert response.status_code == 201
    row = Exposure.objects.for_shop(shop).get()
    assert row.source == Exposure.Source.WOULD_SHOW


def test_through_the_app_proxy_the_signed_query_names_the_shop(client, shop, setup, settings):
    from urllib.parse import urlencode

    from .test_api import _proxy_query

    _campaign, exp = setup
    visitor = visitor_in(exp, "holdout")
    answer = client.get("/api/storefront/proxy/popup",
                        _proxy_query(shop.domain, settings.SHOPIFY_API_SECRET, visitor=visitor, locale="en")).json()
    body = json.dumps(from_answer(answer["holdout"], visitor))
    forged = urlencode(_proxy_query(shop.domain, "not-the-secret"))
    refused = client.post(f"/api/storefront/proxy/popup/exposure?{forged}", body, content_type="text/plain")
    assert refused.status_code == 401 and "app proxy signature rejected" in refused.json()["error"]
    assert not Exposure.all_shops.exists()
    signed = urlencode(_proxy_query(shop.domain, settings.SHOPIFY_API_SECRET))
    ok = client.post(f"/api/storefront/proxy/popup/exposure?{signed}", body, content_type="text/plain")
    assert ok.status_code == 201 and Exposure.objects.for_shop(shop).get().visitor_id == visitor

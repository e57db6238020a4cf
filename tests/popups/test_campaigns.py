"""Offer selection by who is leaving, targeting, schedule, caps, suppression and validation."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from backend.events.models import Event
from backend.popups.campaigns import CampaignError, Shopper, choice_for_claim, decide, validate_campaign
from backend.popups.codes import claim
from backend.popups.models import Campaign, DiscountCode
from backend.popups.offers import choose_offer

from .factories import RULES, campaign_data, claim_code, fill_pool, make_campaign, returning_visitor

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def test_rules_pick_an_offer_by_who_is_leaving():
    assert choose_offer(RULES, {}, ["visitors:new", "buyers:none"]).kind == "free_shipping"
    returning = choose_offer(RULES, {}, ["visitors:returning", "buyers:first"])
    assert (returning.kind, float(returning.value)) == ("percent", 10.0)
    vip = choose_offer(RULES, {}, ["visitors:returning", "buyers:repeat", "tier:vip"])
    assert (vip.kind, float(vip.value), vip.rule) == ("percent", 20.0, "tier:vip")  # first matching rule wins
    assert choose_offer(RULES, {}, ["country:ES"]) is None
    assert float(choose_offer(RULES, {"kind": "percent", "value": 5}, ["country:ES"]).value) == 5.0


def test_new_returning_and_vip_visitors_get_different_offers_and_their_own_codes(shop):
    campaign = make_campaign(shop)
    fill_pool(campaign)
    returning_visitor(shop, "visitor-returning")
    returning_visitor(shop, "visitor-vip", tier="vip")

    new = decide(shop.pk, Shopper(visitor_id="visitor-new", locale="es"))
    back = decide(shop.pk, Shopper(visitor_id="visitor-returning"))
    vip = decide(shop.pk, Shopper(visitor_id="visitor-vip"))

    assert new["offer"]["kind"] == "free_shipping" and new["copy"]["body"] == "Llévate envío gratis en este pedido."
    assert (back["offer"]["kind"], back["offer"]["value"]) == ("percent", 10.0)
    assert back["copy"]["body"] == "Take 10 % off on this order."
    assert vip["offer"]["value"] == 20.0
    assert not any("code" in got["offer"] for got in (new, back, vip)), "deciding hands out no code"
    codes = {claim_code(shop, v) for v in ("visitor-new", "visitor-returning", "visitor-vip")}
    assert len(codes) == 3 and all(codes)
    by_kind = dict(DiscountCode.objects.for_shop(shop).filter(code__in=codes).values_list("visitor_id", "value"))
    assert {k: float(v) for k, v in by_kind.items()} == {"visitor-new": 0, "visitor-returning": 10, "visitor-vip": 20}
    # The same visitor gets the same code back on a second claim.
    assert claim_code(shop, "visitor-vip") in codes and len(codes) == 3


def test_excluded_segment_gets_nothing_and_include_limits_the_audience(shop):
    campaign = make_campaign(shop, exclude_segments=["tier:vip"])
    fill_pool(campaign)
    returning_visitor(shop, "visitor-vip", tier="vip")
    assert decide(shop.pk, Shopper(visitor_id="visitor-vip")) is None
    assert decide(shop.pk, Shopper(visitor_id="someone-new"))["campaign"]["id"] == campaign.pk

    campaign.exclude_segments, campaign.include_segments = [], ["visitors:returning"]
    campaign.save()
    cache.clear()
    assert decide(shop.pk, Shopper(visitor_id="someone-new")) is None


def test_session_cap_days_cap_and_conversion_suppression(shop):
    campaign = make_campaign(shop)
    fill_pool(campaign)
    shopper = Shopper(visitor_id="visitor-a", session_id="session-1")
    assert decide(shop.pk, shopper) is not None
    Event.objects.create(shop=shop, type="popup_shown", visitor_id="visitor-a", session_id="session-1",
                         widget=campaign.widget)
    assert decide(shop.pk, Shopper(visitor_id="visitor-a", session_id="session-1")) is None  # once per session
    assert decide(shop.pk, Shopper(visitor_id="visitor-a", session_id="session-2")) is not None

    campaign.cap, campaign.cap_days = "days", 7
    campaign.save()
    cache.clear()
    assert decide(shop.pk, Shopper(visitor_id="visitor-a", session_id="session-2")) is None  # within 7 days
    Event.objects.for_shop(shop).filter(visitor_id="visitor-a").update(created_at=timezone.now() - timedelta(days=8))
    assert decide(shop.pk, Shopper(visitor_id="visitor-a", session_id="session-3")) is not None

    Event.objects.create(shop=shop, type="popup_converted", visitor_id="visitor-a", widget=campaign.widget)
    assert decide(shop.pk, Shopper(visitor_id="visitor-a", session_id="session-4")) is None  # converted recently


def test_cart_required_opted_out_and_schedule(shop):
    campaign = make_campaign(shop, require_cart=True)
    fill_pool(campaign)
    assert decide(shop.pk, Shopper(visitor_id="v-cart", cart=False)) is None
    assert decide(shop.pk, Shopper(visitor_id="v-cart", cart=True)) is not None

    profile = returning_visitor(shop, "v-refused")
    profile.analytics_consent = False
    profile.save()
    assert decide(shop.pk, Shopper(visitor_id="v-refused", cart=True)) is None

    now = timezone.now()
    campaign.starts_at, campaign.ends_at = now + timedelta(hours=1), now + timedelta(days=1)
    campaign.save()
    cache.clear()
    assert decide(shop.pk, Shopper(visitor_id="v-cart", cart=True)) is None
    assert decide(shop.pk, Shopper(visitor_id="v-cart", cart=True), now + timedelta(hours=2)) is not None


def test_an_empty_pool_shows_nothing_rather_than_waiting_and_a_shared_code_needs_no_pool(shop, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    make_campaign(shop, code_mode="shared", shared_code="BYE10", offer_rules=[], default_offer={"kind": "percent",
                                                                                                 "value": 10})
    shared = Campaign.objects.for_shop(shop).get()
    got = decide(shop.pk, Shopper())  # no visitor id (no consent): a shared code still works
    assert got["offer"] == {"kind": "percent", "value": 10.0}
    choice = choice_for_claim(shop.pk, shared.pk, Shopper(), timezone.now())
    assert claim(shared, choice.offer, "", "192.0.2.1").code == "BYE10"
    shared.code_mode = "unique"
    shared.save()
    cache.clear()
    assert decide(shop.pk, Shopper(visitor_id="v-1")) is None, "an empty pool of unique codes offers nothing"


def test_experiment_arm_overrides_the_offer_and_copy(shop):
    from backend.experiments.models import Experiment

    campaign = make_campaign(shop)
    Experiment.objects.create(shop=shop, name="popup offer", target_kind="popup", target_key=str(campaign.pk),
                              status="running", salt="s", arms=[
                                  {"key": "b", "weight": 1, "config": {"offer": {"kind": "percent", "value": 15},
                                                                       "copy": {"en": {"headline": "Stay!"}}}}])
    fill_pool(campaign, prefix="X")  # now with the arm's 15 % pool too
    got = decide(shop.pk, Shopper(visitor_id="exp-visitor"))
    assert got["offer"]["value"] == 15.0 and got["copy"]["headline"] == "Stay!"
    assert got["experiment"]["arm"] == "b"


@pytest.mark.parametrize(("override", "field"), [
    ({"name": ""}, "name"),
    ({"offer_rules": [{"when": "nonsense", "kind": "percent", "value": 10}]}, "offer_rules[0]"),
    ({"offer_rules": [{"when": "tier:vip", "kind": "percent", "value": 95}]}, "offer_rules[0]"),
    ({"offer_rules": [{"when": "tier:vip", "kind": "cash", "value": 5}]}, "offer_rules[0]"),
    ({"offer_rules": [], "default_offer": {}}, "default_offer"),
    ({"include_segments": ["tier:vip"], "exclude_segments": ["tier:vip"]}, "exclude_segments"),
    ({"copy": {"en": {"headline": "x"}}}, "copy.es.headline"),
    ({"email_capture": True, "copy": {"en": {"headline": "a", "body": "b", "cta": "c"},
                                      "es": {"headline": "a", "body": "b", "cta": "c"}}}, "copy.en.consent"),
    ({"min_seconds": 0}, "min_seconds"),
    ({"cap": "forever"}, "cap"),
    ({"starts_at": "2026-02-01T00:00", "ends_at": "2026-01-01T00:00"}, "ends_at"),
    ({"code_mode": "shared", "shared_code": "a b"}, "shared_code"),
])
def test_validation_names_the_bad_field(override, field):
    with pytest.raises(CampaignError) as caught:
        validate_campaign(campaign_data(**override))
    assert field in caught.value.errors, caught.value.errors

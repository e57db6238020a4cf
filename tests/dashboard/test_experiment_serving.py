"""A running experiment reaches shoppers: the widget API applies the visitor's arm and names it; the impression the
script echoes back logs the exposure (and only for the arm the visitor really has)."""
from __future__ import annotations

import json

import pytest
from django.utils import timezone

from backend.experiments.assignment import Arm, assign
from backend.experiments.models import Experiment, Exposure
from backend.experiments.runtime import forget_running
from tests.storefront.factories import make_product

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_cache_namespace")]
UA = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36"}


def _visitor_in(exp, arm_key):
    arms = [Arm(a["key"], a["weight"]) for a in exp.arms]
    return next(f"v-{i}" for i in range(1000) if assign(exp.salt, f"v-{i}", arms) == arm_key)


def test_widget_api_serves_the_arm_and_impressions_log_exposures(client, shop):
    make_product(shop, title="Mug")
    exp = Experiment.objects.create(
        shop=shop, name="Title test", target_key="bestsellers", status="running", started_at=timezone.now(),
        arms=[{"key": "control", "weight": 1}, {"key": "copy", "weight": 1, "config": {"title_en": "Hot right now"}},
              {"key": "off", "weight": 1, "config": {"enabled": False}}])
    forget_running(shop)
    seen = {}
    for arm in ("control", "copy", "off"):
        visitor = _visitor_in(exp, arm)
        body = client.get("/api/storefront/widgets/bestsellers",
                          {"key": shop.public_key, "visitor": visitor, "locale": "en"}, **UA).json()
        assert (body["experiment"], body["variant"]) == (exp.pk, arm)
        seen[arm] = (visitor, body)
    assert seen["control"][1]["title"] == "Bestsellers"
    assert seen["copy"][1]["title"] == "Hot right now"
    assert seen["off"][1]["enabled"] is False and seen["off"][1]["items"] == []
    anonymous = client.get("/api/storefront/widgets/bestsellers", {"key": shop.public_key}, **UA).json()
    assert "experiment" not in anonymous and anonymous["title"] == "Bestsellers"

    copy_visitor = seen["copy"][0]
    for visitor, variant in ((copy_visitor, "copy"), (seen["control"][0], "off")):  # the second one lies
        batch = {"key": shop.public_key, "visitor": visitor, "session": "s1", "consent": {"analytics": True},
                 "events": [{"type": "widget_impression", "widget": "bestsellers", "experiment": str(exp.pk),
                             "variant": variant}]}
        assert client.post("/api/storefront/events", json.dumps(batch), content_type="text/plain", **UA
                           ).status_code == 202
    exposures = list(Exposure.objects.for_shop(shop).values_list("visitor_id", "arm"))
    assert exposures == [(copy_visitor, "copy")]


def test_a_popup_shown_with_an_experiment_arm_logs_the_exposure(client, shop):
    exp = Experiment.objects.create(
        shop=shop, name="Offer test", target_kind="popup", target_key="1", status="running",
        started_at=timezone.now(), arms=[{"key": "control", "weight": 1}, {"key": "bigger", "weight": 1}])
    forget_running(shop)
    visitor = _visitor_in(exp, "bigger")
    batch = {"key": shop.public_key, "visitor": visitor, "session": "s1", "consent": {"analytics": True},
             "events": [{"type": "popup_shown", "widget": "exit_intent", "experiment": str(exp.pk),
                         "variant": "bigger"}]}
    answer = client.post("/api/storefront/events", json.dumps(batch), content_type="text/plain", **UA)
    assert answer.status_code == 202 and answer.json()["accepted"] == 1
    assert list(Exposure.objects.for_shop(shop).values_list("visitor_id", "arm")) == [(visitor, "bigger")]

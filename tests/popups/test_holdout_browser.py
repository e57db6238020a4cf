"""A popup experiment in headless Chromium against the live app: both arms are counted as exposed at the same
moment, when the popup appears (shown arm) or would have appeared (hold-out), never on page load."""
from __future__ import annotations

import pytest

from backend.events.models import Event, EventType
from backend.experiments.assignment import Arm, assign
from backend.experiments.models import Experiment, Exposure
from backend.experiments.runtime import forget_local, forget_running
from backend.popups.models import Claim

from .factories import fill_pool, make_campaign
from .test_popup_browser import DIALOG, after_min_time, leave_sideways, leave_through_top, no_dialog_for, rows

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("popups-browser")]

ARMS = [{"key": "popup", "weight": 1, "config": {}}, {"key": "holdout", "weight": 1, "config": {"show": False}}]


@pytest.fixture
def experiment(popup_shop):
    campaign = make_campaign(popup_shop, min_seconds=2, default_offer={"kind": "free_shipping"})
    fill_pool(campaign, per_offer=10)  # a full pool: no refill call to the platform
    exp = Experiment.objects.create(shop=popup_shop, name="Exit popup or none", target_kind="popup",
                                    target_key=str(campaign.pk), status="running", salt="browser", arms=ARMS)
    forget_running(popup_shop)
    forget_local()
    yield exp
    forget_local()


def visitor_in(exp: Experiment, arm: str) -> str:
    arms = [Arm(a["key"], a["weight"]) for a in exp.arms]
    return next(f"shopper-{i}" for i in range(1000) if assign(exp.salt, f"shopper-{i}", arms) == arm)


def exposure_posts(page) -> list:
    return [s for s in page.sent if s[0] == "POST" and s[1].endswith("/popup/exposure")]


def test_a_hold_out_visitor_is_exposed_on_exit_intent_and_sees_nothing(open_page, popup_shop, experiment):
    visitor = visitor_in(experiment, "holdout")
    page = open_page(visitor=visitor)
    assert page.popup_answer["campaign"] is None and page.popup_answer["holdout"]["token"]
    page.wait_for_timeout(400)
    leave_sideways(page)  # not exit intent
    page.wait_for_timeout(300)
    assert not exposure_posts(page)
    assert not Exposure.objects.for_shop(popup_shop).exists(), "loading a page exposes nobody"

    after_min_time(page, 2)
    with page.expect_response(lambda r: r.url.endswith("/popup/exposure")) as reported:
        leave_through_top(page)
    assert reported.value.status == 201
    exposure = rows(Exposure.objects.for_shop(popup_shop))[0]
    assert (exposure.arm, exposure.visitor_id, exposure.source) == ("holdout", visitor, "would_show")
    assert no_dialog_for(page), "a hold-out sees no popup"
    assert page.locator(".pz-pop").count() == 0

    leave_through_top(page)  # once a page, and the next pages of the session stay quiet as after a popup
    page.sent.clear()
    page.reload()
    after_min_time(page, 2)
    leave_through_top(page)
    page.wait_for_timeout(400)
    assert not exposure_posts(page) and Exposure.objects.for_shop(popup_shop).count() == 1
    assert not Claim.objects.for_shop(popup_shop).exists()
    assert not Event.objects.for_shop(popup_shop).filter(type=EventType.POPUP_SHOWN).exists()
    assert not page.errors


def test_the_shown_arm_is_exposed_when_its_popup_appears(open_page, popup_shop, experiment):
    visitor = visitor_in(experiment, "popup")
    page = open_page(visitor=visitor)
    assert page.popup_answer["experiment"]["arm"] == "popup" and "holdout" not in page.popup_answer
    page.wait_for_timeout(400)
    assert not Exposure.objects.for_shop(popup_shop).exists()
    after_min_time(page, 2)
    leave_through_top(page)
    page.locator(DIALOG).wait_for()
    exposure = rows(Exposure.objects.for_shop(popup_shop))[0]
    assert (exposure.arm, exposure.visitor_id, exposure.source) == ("popup", visitor, "shown")
    assert not exposure_posts(page)
    assert not page.errors

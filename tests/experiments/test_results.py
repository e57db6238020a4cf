from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.experiments.assignment import Arm, assign
from backend.experiments.models import Experiment, Exposure
from backend.experiments.results import experiment_results
from backend.experiments.runtime import arm_for, forget_running, record_exposures
from backend.orders.evidence import VISITOR_ATTRIBUTE
from backend.orders.models import Order

ARMS = [{"key": "control", "weight": 1}, {"key": "cosine", "weight": 1, "config": {"algorithm": "cosine"}}]


def _experiment(shop, **kw):
    exp = Experiment.objects.create(
        shop=shop,
        name="Also bought: cosine",
        target_key="also_bought",
        arms=ARMS,
        status=Experiment.Status.RUNNING,
        started_at=timezone.now() - timedelta(days=3),
        **kw,
    )
    forget_running(shop)
    return exp


@pytest.mark.django_db
def test_arm_for_is_stable_and_carries_the_arm_config(shop):
    exp = _experiment(shop)
    first = arm_for(shop, "widget", "also_bought", "visitor-1")
    assert first is not None and first.experiment_id == exp.pk
    assert arm_for(shop, "widget", "also_bought", "visitor-1") == first
    if first.arm == "cosine":
        assert first.config == {"algorithm": "cosine"}
    assert arm_for(shop, "widget", "bestsellers", "visitor-1") is None


@pytest.mark.django_db
def test_a_reported_exposure_must_match_the_assignment(shop):
    exp = _experiment(shop)
    arms = [Arm(a["key"], a["weight"]) for a in ARMS]
    true_arm = assign(exp.salt, "v-9", arms)
    wrong_arm = "control" if true_arm == "cosine" else "cosine"
    assert record_exposures(shop, [(str(exp.pk), wrong_arm, "v-9", None)]) == 0
    assert record_exposures(shop, [(str(exp.pk), true_arm, "v-9", None)]) == 1
    # A second impression keeps the first exposure time.
    record_exposures(shop, [(str(exp.pk), true_arm, "v-9", None)])
    assert Exposure.objects.for_shop(shop).count() == 1


@pytest.mark.django_db
def test_orders_after_exposure_count_as_conversions_and_the_verdict_speaks_plainly(shop, other_shop):
    exp = _experiment(shop)
    now = timezone.now()
    arms = [Arm(a["key"], a["weight"]) for a in ARMS]
    visitors = [f"v{i}" for i in range(4000)]
    Exposure.objects.bulk_create(
        [
            Exposure(shop=shop, experiment=exp, arm=assign(exp.salt, v, arms), visitor_id=v,
                     first_exposed_at=now - timedelta(days=2))
            for v in visitors
        ]
    )
    # Treatment converts 30 %, control 10 %: an unmistakable win.
    orders = []
    for i, v in enumerate(visitors):
        arm = assign(exp.salt, v, arms)
        if (arm == "cosine" and i % 10 < 3) or (arm == "control" and i % 10 == 0):
            orders.append(Order(shop=shop, platform_id=f"o{i}", total_price=Decimal("40.00"),
                                processed_at=now - timedelta(days=1), note_attributes=[[VISITOR_ATTRIBUTE, v]]))
    # An order placed before the exposure and one in another shop don't count.
    orders.append(Order(shop=shop, platform_id="early", total_price=Decimal("99"), processed_at=now - timedelta(days=5),
                        note_attributes=[[VISITOR_ATTRIBUTE, visitors[1]]]))
    orders.append(Order(shop=other_shop, platform_id="x", total_price=Decimal("99"), processed_at=now,
                        note_attributes=[[VISITOR_ATTRIBUTE, visitors[1]]]))
    Order.objects.bulk_create(orders)

    result = experiment_results(exp, locale="es")
    control, treatment = result.arms
    assert control.visitors + treatment.visitors == 4000
    assert not result.srm.mismatch
    assert 0.08 < control.conversions / control.visitors < 0.12
    assert 0.27 < treatment.conversions / treatment.visitors < 0.33
    assert treatment.verdict.kind == "win"
    assert treatment.verdict.text.startswith("«cosine» gana")
    assert treatment.comparison.lower > 0


@pytest.mark.django_db
def test_a_broken_split_is_flagged_before_any_verdict(shop):
    exp = _experiment(shop)
    Exposure.objects.bulk_create(
        [Exposure(shop=shop, experiment=exp, arm="control" if i < 700 else "cosine", visitor_id=f"v{i}")
         for i in range(1000)]
    )
    result = experiment_results(exp)
    assert result.srm.mismatch
    assert result.arms[1].verdict.kind == "srm"

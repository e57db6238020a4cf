"""Popup hold-outs recorded the old way (exposed at page load) are never mixed with the new rule's exposures: the
migration marks them and sets a cut-over; the results count every arm from it, and the screen says so."""
from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from backend.experiments.models import Experiment, Exposure
from backend.experiments.results import experiment_results
from backend.experiments.runtime import forget_local, forget_running
from tests.dashboard.factories import member

pytestmark = pytest.mark.django_db

migration = importlib.import_module("backend.experiments.migrations.0003_holdout_counted_when_popup_would_show")
POPUP_ARMS = [{"key": "popup", "weight": 1, "config": {}}, {"key": "holdout", "weight": 1, "config": {"show": False}}]


@pytest.fixture(autouse=True)
def _clean():
    forget_local()
    yield
    forget_local()


def _experiment(shop, arms=POPUP_ARMS, kind="popup", key="7", days=10) -> Experiment:
    exp = Experiment.objects.create(shop=shop, name="Exit popup vs none", target_kind=kind, target_key=key,
                                    arms=arms, status="running", started_at=timezone.now() - timedelta(days=days))
    forget_running(shop)
    return exp


def _expose(exp: Experiment, arm: str, visitors: range, ago: timedelta, **kw) -> None:
    Exposure.objects.bulk_create([Exposure(shop_id=exp.shop_id, experiment=exp, arm=arm, visitor_id=f"{arm}-{i}",
                                           first_exposed_at=timezone.now() - ago, **kw) for i in visitors])


def test_the_migration_marks_old_hold_out_rows_and_cuts_over_only_experiments_that_had_them(shop):
    biased = _experiment(shop)
    _expose(biased, "popup", range(3), timedelta(days=2))
    _expose(biased, "holdout", range(9), timedelta(days=2))
    widget = _experiment(shop, arms=[{"key": "a", "weight": 1}, {"key": "off", "weight": 1,
                                                                "config": {"enabled": False}}],
                         kind="widget", key="also_bought")
    _expose(widget, "off", range(2), timedelta(days=1))
    no_holdout = _experiment(shop, arms=[{"key": "a", "weight": 1}, {"key": "b", "weight": 1}], key="8")
    _expose(no_holdout, "b", range(2), timedelta(days=1))
    fresh = _experiment(shop, key="9")  # started, nobody exposed yet: nothing to leave out

    before = timezone.now()
    migration.mark_page_load_holdouts(apps, None)

    rows = Exposure.objects.for_shop(shop)
    assert set(rows.filter(experiment=biased, arm="holdout").values_list("source", flat=True)) == {"page_load"}
    assert set(rows.filter(experiment=biased, arm="popup").values_list("source", flat=True)) == {"shown"}
    assert not rows.exclude(experiment=biased).filter(source="page_load").exists()
    counts_from = dict(Experiment.objects.for_shop(shop).values_list("pk", "counts_from"))
    assert counts_from[biased.pk] >= before
    assert counts_from[widget.pk] is None and counts_from[no_holdout.pk] is None and counts_from[fresh.pk] is None


def test_results_count_every_arm_only_from_the_cut_over(shop):
    exp = _experiment(shop)
    _expose(exp, "popup", range(40), timedelta(days=3))  # shown before the cut-over
    _expose(exp, "holdout", range(100), timedelta(days=3))  # page loads, the old rule
    migration.mark_page_load_holdouts(apps, None)
    exp.refresh_from_db()
    assert {a.arm: a.visitors for a in experiment_results(exp).arms} == {"popup": 0, "holdout": 0}

    _expose(exp, "popup", range(100, 112), timedelta(0))
    _expose(exp, "holdout", range(100, 110), timedelta(0), source=Exposure.Source.WOULD_SHOW)
    assert {a.arm: a.visitors for a in experiment_results(exp).arms} == {"popup": 12, "holdout": 10}


@pytest.fixture
def merchant(client, shop):
    member(shop)
    client.post("/admin/login/", {"username": "ana@example.com", "password": "correct horse 42"})
    return client


def test_the_results_screen_says_what_it_leaves_out_in_english_and_spanish(merchant, shop):
    exp = _experiment(shop)
    _expose(exp, "popup", range(4), timedelta(days=3))
    _expose(exp, "holdout", range(6), timedelta(days=3))
    migration.mark_page_load_holdouts(apps, None)
    exp.refresh_from_db()

    page = merchant.get(f"/admin/experiments/{exp.pk}/?lang=en").content.decode()
    assert "Results count visitors from " in page
    assert "hold-out visitors were counted as soon as a page loaded" in page
    assert "10 visitors recorded earlier are left out" in page
    page = merchant.get(f"/admin/experiments/{exp.pk}/?lang=es").content.decode()
    assert "Los resultados cuentan los visitantes desde el" in page and "se dejan fuera 10 visitantes" in page
    api = merchant.get(f"/api/admin/experiments/{exp.pk}").json()
    assert api["left_out"] == 10 and api["counts_from"] and sum(a["visitors"] for a in api["arms"]) == 0


def test_a_new_popup_experiment_explains_when_its_hold_out_counts(merchant, shop):
    exp = _experiment(shop)
    page = merchant.get(f"/admin/experiments/{exp.pk}/?lang=en").content.decode()
    assert "Hold-out visitors are counted when the popup would have appeared for them" in page
    assert "left out" not in page
    page = merchant.get(f"/admin/experiments/{exp.pk}/?lang=es").content.decode()
    assert "se cuentan cuando el popup les habría aparecido" in page

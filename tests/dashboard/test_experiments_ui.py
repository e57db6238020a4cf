"""Experiments from the admin: create, start, stop, results with verdict in the shop's language, promote (audited)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.dashboard.models import AuditEntry
from backend.experiments.assignment import Arm, assign
from backend.experiments.models import Experiment, Exposure
from backend.experiments.runtime import arm_for
from backend.storefront.models import WidgetRule
from tests.dashboard.factories import member, session_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant(client, shop):
    member(shop)
    client.post("/admin/login/", {"username": "ana@example.com", "password": "correct horse 42"})
    return client


def _form(**kw):
    data = {"name": "Cosine vs default", "target": "widget:also_bought", "primary_metric": "conversion",
            "arm-0-key": "control", "arm-0-weight": "1", "arm-1-key": "cosine", "arm-1-weight": "1",
            "arm-1-algorithm": "cosine", "arm-1-title_es": "Te puede gustar", "arm-2-key": "off", "arm-2-weight": "1",
            "arm-2-holdout": "on"}
    data.update(kw)
    return data


def test_create_start_stop_from_the_admin_is_audited(merchant, shop):
    created = merchant.post("/admin/experiments/", _form())
    assert created.status_code == 302
    exp = Experiment.objects.for_shop(shop).get()
    assert [a["key"] for a in exp.arms] == ["control", "cosine", "off"]
    assert exp.arms[1]["config"] == {"algorithm": "cosine", "title_es": "Te puede gustar"}
    assert exp.arms[2]["config"] == {"enabled": False}
    assert arm_for(shop, "widget", "also_bought", "v1") is None  # a draft serves nobody

    assert merchant.post(f"/admin/experiments/{exp.pk}/start/").status_code == 302
    exp.refresh_from_db()
    assert exp.status == "running" and exp.started_at
    assert arm_for(shop, "widget", "also_bought", "v1") is not None
    page = merchant.get(f"/admin/experiments/{exp.pk}/?lang=es").content.decode()
    assert "En curso" in page and 'id="stop"' in page

    asked = merchant.post(f"/admin/experiments/{exp.pk}/stop/")  # the screen asks before stopping
    assert asked.status_code == 302 and "confirm=stop" in asked["Location"]
    exp.refresh_from_db()
    assert exp.status == "running"
    assert merchant.post(f"/admin/experiments/{exp.pk}/stop/", {"confirm": "1"}).status_code == 302
    exp.refresh_from_db()
    assert exp.status == "stopped"
    assert arm_for(shop, "widget", "also_bought", "v1") is None
    actions = list(AuditEntry.objects.for_shop(shop).order_by("pk").values_list("action", flat=True))
    assert actions == ["experiment.create", "experiment.start", "experiment.stop"]
    audit_page = merchant.get("/admin/audit/").content.decode()
    assert "Started an experiment" in audit_page and ">ana@example.com<" in audit_page


def test_invalid_experiment_is_refused_with_reasons(merchant, shop):
    bad = merchant.post("/admin/experiments/", _form(**{"arm-1-key": "control", "arm-1-algorithm": "nope"}))
    assert bad.status_code == 400
    assert "Variant 2 · Algorithm: this algorithm belongs to another widget" in bad.content.decode()
    assert "arms.1" not in bad.content.decode()
    assert not Experiment.objects.for_shop(shop).exists()
    api = merchant.post("/api/admin/experiments", {"name": "x", "target_key": "nope", "arms": []},
                        content_type="application/json")
    assert api.status_code == 400 and "target_key" in api.json()["errors"]


def test_results_page_shows_numbers_srm_and_verdict_in_shop_language(client, shop):
    shop.locale = "es"
    shop.save()
    exp = Experiment.objects.create(shop=shop, name="SRM", target_key="also_bought", status="running",
                                    started_at=timezone.now() - timedelta(days=2),
                                    arms=[{"key": "control", "weight": 1}, {"key": "b", "weight": 1}])
    arms = [Arm("control", 1), Arm("b", 1)]
    rows, counts = [], {"control": 0, "b": 0}
    for i in range(3000):  # keep only a few of arm b's visitors: a broken split
        visitor = f"v{i}"
        arm = assign(exp.salt, visitor, arms)
        if arm == "b" and counts["b"] >= 300:
            continue
        counts[arm] += 1
        rows.append(Exposure(shop=shop, experiment=exp, arm=arm, visitor_id=visitor))
    Exposure.objects.bulk_create(rows)
    token = session_token(shop)
    html = client.get(f"/admin/experiments/{exp.pk}/?id_token={token}").content.decode()
    assert "Desajuste en el reparto" in html  # SRM warning, Spanish because the shop is
    assert f">{counts['control']}<" in html and f">{counts['b']}<" in html
    data = client.get(f"/api/admin/experiments/{exp.pk}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert data["srm"]["mismatch"] is True
    assert data["arms"][1]["verdict"]


def test_promote_writes_the_arm_into_the_widget_rule(client, shop):
    exp = Experiment.objects.create(
        shop=shop, name="Title", target_key="also_bought", status="running", started_at=timezone.now(),
        arms=[{"key": "control", "weight": 1, "config": {}},
              {"key": "b", "weight": 1, "config": {"algorithm": "cosine", "title_en": "You may also like"}}])
    token = session_token(shop)
    done = client.post(f"/api/admin/experiments/{exp.pk}/promote", {"arm": "b"}, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")
    assert done.status_code == 200
    rule = WidgetRule.objects.for_shop(shop).get(widget="also_bought")
    assert (rule.algorithm, rule.title_en) == ("cosine", "You may also like")
    exp.refresh_from_db()
    assert exp.winner == "b" and exp.status == "stopped"
    entry = AuditEntry.objects.for_shop(shop).get(action="widget_rule.update")
    assert entry.before["algorithm"] == "" and entry.after["algorithm"] == "cosine"
    assert entry.actor == "shopify:7"
    # The storefront's rule follows at once.
    from backend.storefront.rules import rule_for

    assert rule_for(shop, "also_bought").title("en") == "You may also like"


def test_two_running_experiments_on_one_widget_are_refused(merchant, shop):
    for _ in range(2):
        merchant.post("/admin/experiments/", _form())
    first, second = Experiment.objects.for_shop(shop).order_by("pk")
    merchant.post(f"/admin/experiments/{first.pk}/start/")
    refused = merchant.post(f"/admin/experiments/{second.pk}/start/")
    assert "error=busy" in refused["Location"]
    second.refresh_from_db()
    assert second.status == "draft"


def test_popup_experiment_arms_speak_the_popups_terms(merchant, shop):
    from tests.popups.factories import make_campaign

    campaign = make_campaign(shop)
    created = merchant.post("/admin/experiments/", {
        "name": "Offer test", "target": f"popup:{campaign.pk}", "primary_metric": "revenue_per_visitor",
        "arm-0-key": "control", "arm-0-weight": "1", "arm-1-key": "bigger", "arm-1-weight": "1",
        "arm-1-offer": "15%", "arm-1-title_en": "Last chance", "arm-2-key": "none", "arm-2-weight": "1",
        "arm-2-holdout": "on"})
    assert created.status_code == 302
    exp = Experiment.objects.for_shop(shop).get()
    assert exp.target_kind == "popup" and exp.target_key == str(campaign.pk)
    assert exp.arms[1]["config"] == {"offer": {"kind": "percent", "value": 15},
                                     "copy": {"en": {"headline": "Last chance"}}}
    assert exp.arms[2]["config"] == {"show": False}
    bad = merchant.post("/admin/experiments/", {
        "name": "x", "target": f"popup:{campaign.pk}", "arm-0-key": "a", "arm-1-key": "b", "arm-1-offer": "95%"})
    assert bad.status_code == 400


def _exposed(shop, exp, per_arm: dict[str, int]) -> None:
    Exposure.objects.bulk_create([Exposure(shop=shop, experiment=exp, arm=arm, visitor_id=f"{arm}-{i}")
                                  for arm, n in per_arm.items() for i in range(n)])


def _running(shop, days: int = 3, **kw) -> Experiment:
    return Experiment.objects.create(
        shop=shop, name="Títulos", target_key="also_bought", status="running",
        started_at=timezone.now() - timedelta(days=days, hours=1),
        arms=[{"key": "control", "weight": 1, "config": {}},
              {"key": "b", "weight": 1, "config": {"algorithm": "cosine", "title_en": "You may also like"}}], **kw)


def test_thin_results_say_not_enough_data_and_how_far_the_sample_is(merchant, shop):
    exp = _running(shop)
    _exposed(shop, exp, {"control": 1, "b": 1})  # one visitor each: the interval is unbounded
    html = merchant.get(f"/admin/experiments/{exp.pk}/?lang=en").content.decode()
    assert "inf" not in html.replace("info", "")
    assert "not enough data yet" in html
    assert "Sample: 1 of 5000 visitors per variant a decision needs (0%)." in html
    es = merchant.get(f"/admin/experiments/{exp.pk}/?lang=es").content.decode()
    assert "aún no hay datos suficientes" in es and "Muestra: 1 de los 5000" in es
    api = merchant.get(f"/api/admin/experiments/{exp.pk}")
    assert b"Infinity" not in api.content and api.json()["arms"][1]["lower"] is None


def test_experiments_name_their_target_and_show_start_and_duration(merchant, shop):
    from backend.popups.models import Campaign

    campaign = Campaign.objects.create(shop=shop, name="Rebajas de invierno")
    _running(shop, days=3)
    Experiment.objects.create(shop=shop, name="Oferta", target_kind="popup", target_key=str(campaign.pk),
                              arms=[{"key": "control", "weight": 1}, {"key": "b", "weight": 1}])
    page = merchant.get("/admin/experiments/?lang=en").content.decode()
    assert "also_bought" not in page.replace('value="widget:also_bought"', "").replace('data-widget="also_bought"', "")
    assert '<td class="target">Customers also bought</td>' in page
    assert '<td class="target">Rebajas de invierno</td>' in page
    assert "Popup: Rebajas de invierno" in page and "#1" not in page  # the form's menu names the campaign too
    started = (timezone.now() - timedelta(days=3, hours=1)).date().isoformat()
    assert f"{started} · 3 days" in page
    titles = Experiment.objects.for_shop(shop).get(name="Títulos")
    detail = merchant.get(f"/admin/experiments/{titles.pk}/?lang=es").content.decode()
    assert f"Iniciado el {started} · 3 días" in detail and "Los clientes también compraron" in detail
    assert "Algoritmo: Cestas parecidas" in detail and "{&#x27;algorithm" not in detail  # the variant in words


def test_promoting_on_thin_data_asks_first_and_works_without_javascript(merchant, shop):
    exp = _running(shop)
    _exposed(shop, exp, {"control": 40, "b": 40})
    asked = merchant.post(f"/admin/experiments/{exp.pk}/promote/", {"arm": "b"})
    assert asked.status_code == 302 and "confirm=promote" in asked["Location"]
    assert not WidgetRule.objects.for_shop(shop).filter(widget="also_bought").exists()  # nothing changed yet
    page = merchant.get(asked["Location"]).content.decode()
    assert 'id="thin-warning"' in page and "40 of the 5000 visitors a decision needs" in page
    # The confirmation is a plain form: a browser without JavaScript posts it as is.
    assert '<input type="hidden" name="confirm" value="1"><input type="hidden" name="arm" value="b">' in page
    done = merchant.post(f"/admin/experiments/{exp.pk}/promote/", {"arm": "b", "confirm": "1"})
    assert done.status_code == 302 and "promoted=1" in done["Location"]
    assert WidgetRule.objects.for_shop(shop).get(widget="also_bought").algorithm == "cosine"


def test_stop_asks_for_confirmation_on_its_own_page(merchant, shop):
    exp = _running(shop)
    page = merchant.get(f"/admin/experiments/{exp.pk}/?confirm=stop&lang=en").content.decode()
    assert "Stop this experiment?" in page and 'id="confirm-stop-yes"' in page
    assert f'action="/admin/experiments/{exp.pk}/stop/"' in page and 'name="confirm" value="1"' in page
    exp.refresh_from_db()
    assert exp.status == "running"


def test_each_variant_picks_only_its_widgets_algorithms(merchant, shop):
    page = merchant.get("/admin/experiments/?lang=en").content.decode()
    also = page.split('data-widget="also_bought">')[1].split("</optgroup>")[0]
    best = page.split('data-widget="bestsellers">')[1].split("</optgroup>")[0]
    assert 'value="cosine"' in also and 'value="units_7d"' not in also
    assert 'value="units_7d"' in best and 'value="cosine"' not in best
    assert ">Similar baskets<" in also  # in words, not "cosine"
    refused = merchant.post("/admin/experiments/", _form(**{"arm-1-algorithm": "units_7d"}))
    assert refused.status_code == 400
    assert "Variant 2 · Algorithm: this algorithm belongs to another widget" in refused.content.decode()
    assert not Experiment.objects.for_shop(shop).exists()

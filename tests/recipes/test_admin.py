"""The merchant's automations screens (es/en): presets in one click, timing edits validated and audited, a step's
email previewed as a chosen customer gets it, and a test sent through the real SMTP server."""
from __future__ import annotations

import json
import re

import pytest

from backend.customers.identities import resolve_customer
from backend.dashboard.models import AuditEntry
from backend.events.models import Event, EventType
from backend.recipes.models import Recipe
from tests.recipes.conftest import html_part
from tests.recipes.factories import customer, product

pytestmark = pytest.mark.django_db


def test_closed_without_a_merchant_session(client, shop):
    assert client.get("/admin/recipes/").status_code == 401


def test_presets_turn_on_in_one_click_and_show_in_both_languages(merchant, shop):
    page = merchant.get("/admin/recipes/", {"lang": "es"}).content.decode()
    assert "Automatizaciones" in page and "Carrito abandonado" in page and "Listas para usar" in page
    assert merchant.post("/admin/recipes/", {"action": "enable_preset", "preset": "abandoned-cart"}).status_code == 302
    recipe = Recipe.objects.for_shop(shop).get()
    assert recipe.enabled and [s["after_minutes"] for s in recipe.steps] == [60, 24 * 60, 72 * 60]
    english = merchant.get("/admin/recipes/", {"lang": "en"}).content.decode()
    card = english.split('data-recipe="abandoned-cart"')[1].split("</form>")[0]
    assert "1 h, 1 d, 3 d" in card and "Turn off" in card and 'data-col="sent">0<' in card
    assert 'data-preset="abandoned-cart"' not in english  # no longer offered
    merchant.post("/admin/recipes/", {"action": "toggle", "recipe": recipe.pk})
    recipe.refresh_from_db()
    assert not recipe.enabled
    assert list(AuditEntry.objects.for_shop(shop).order_by("pk").values_list("action", flat=True)) == [
        "recipe.enabled", "recipe.disabled"]


def _form(recipe, **changes) -> dict:
    """The builder's form as the page posts it: the recipe's own values, one entry per step in each list."""
    form = {"conditions": json.dumps(recipe.conditions or {"all": []}), "exit_when": recipe.exit_when,
            "cooldown_hours": str(recipe.cooldown_hours), "step_wait": [], "step_unit": [], "step_action": [],
            "step_template": [], "step_url": [], "step_campaign": [], "step_tiers": []}
    for step in recipe.steps:
        code = step.get("code") or {}
        form["step_wait"].append(f"{step['after_minutes'] / 60:g}")
        form["step_unit"].append("hours")
        form["step_action"].append(step.get("action", "email"))
        form["step_template"].append(step.get("template", ""))
        form["step_url"].append(step.get("url", ""))
        form["step_campaign"].append(str(code["campaign"]) if code.get("campaign") else "")
        form["step_tiers"].append(json.dumps(code["tiers"]) if code.get("tiers") else "")
    return {**form, **changes}


def test_timing_edits_are_validated_in_the_page_language_and_audited(merchant, shop):
    merchant.post("/admin/recipes/", {"action": "enable_preset", "preset": "abandoned-cart"})
    recipe = Recipe.objects.for_shop(shop).get()
    bad = merchant.post(f"/admin/recipes/{recipe.pk}/?lang=es", _form(recipe, step_wait=["2", "1", "72"]))
    assert bad.status_code == 400 and "Paso 2 debe ir después del paso anterior." in bad.content.decode()
    ok = merchant.post(f"/admin/recipes/{recipe.pk}/", _form(recipe, step_wait=["2", "30", "4"],
                                                             step_unit=["hours", "hours", "days"],
                                                             cooldown_hours="48"))
    assert ok.status_code == 302
    recipe.refresh_from_db()
    assert [s["after_minutes"] for s in recipe.steps] == [120, 1800, 5760] and recipe.cooldown_hours == 48
    entry = AuditEntry.objects.for_shop(shop).filter(action="recipe.saved").get()
    assert entry.before["steps"][0]["after_minutes"] == 60 and entry.after["steps"][0]["after_minutes"] == 120


def test_the_builder_saves_conditions_and_reordered_steps(merchant, shop):
    from tests.popups.factories import make_campaign

    campaign = make_campaign(shop, name="Despedida")
    merchant.post("/admin/recipes/", {"action": "enable_preset", "preset": "abandoned-cart"})
    recipe = Recipe.objects.for_shop(shop).get()
    page = merchant.get(f"/admin/recipes/{recipe.pk}/", {"lang": "es"}).content.decode()
    assert 'id="builder"' in page and "Añadir condición" in page and "Añadir paso" in page
    rule = {"all": [{"field": "orders_count", "op": "gte", "value": 1}, {"field": "country", "op": "eq",
                                                                        "value": "ES"}]}
    form = _form(recipe, conditions=json.dumps(rule), exit_when=["ordered", "carted"], step_wait=["1", "2", "3"],
                 step_unit=["hours", "days", "days"], step_action=["webhook", "email", "flow"],
                 step_template=["", "winback", ""], step_url=["https://hooks.shop.test/a", "", ""],
                 step_campaign=["", str(campaign.pk), ""], step_tiers=["", "", ""])
    assert merchant.post(f"/admin/recipes/{recipe.pk}/", form).status_code == 302
    recipe.refresh_from_db()
    assert recipe.conditions == rule and recipe.exit_when == ["ordered", "carted"]
    assert recipe.steps == [
        {"after_minutes": 60, "action": "webhook", "url": "https://hooks.shop.test/a"},
        {"after_minutes": 2 * 24 * 60, "action": "email", "template": "winback",
         "code": {"campaign": campaign.pk, "tiers": [{"min_value": 0.0, "percent": 10.0},
                                                     {"min_value": 500.0, "percent": 20.0}]}},
        {"after_minutes": 3 * 24 * 60, "action": "flow"}]
    entry = AuditEntry.objects.for_shop(shop).filter(action="recipe.saved").get()
    assert entry.before["conditions"] == {} and entry.after["conditions"] == rule
    # Only an email step has an email to preview or test: the others are a 400 and a reason, never a 500.
    assert merchant.get(f"/admin/recipes/{recipe.pk}/preview/", {"step": 0}).status_code == 400
    test = merchant.post(f"/admin/recipes/{recipe.pk}/", {"action": "test", "step": "2", "to": "a@shop.test"})
    assert "Choose a step." in test.content.decode()
    # No rows in the builder: everyone again.
    assert merchant.post(f"/admin/recipes/{recipe.pk}/", _form(recipe, conditions='{"all": []}')).status_code == 302
    recipe.refresh_from_db()
    assert recipe.conditions == {}


@pytest.mark.parametrize(("lang", "sentences"), [
    ("es", ["Condiciones: Condición 2, valor: debe ser un número",
            "Paso 3: la dirección a la que llamar debe empezar por",
            "Paso 1: la espera debe ser un número entero."]),
    ("en", ["Conditions: Condition 2, value: must be a number", "Step 3: the address to call must start with",
            "Step 1: the wait must be a whole number."]),
])
def test_the_builder_refuses_with_sentences_and_keeps_what_was_typed(merchant, shop, lang, sentences):
    merchant.post("/admin/recipes/", {"action": "enable_preset", "preset": "abandoned-cart"})
    recipe = Recipe.objects.for_shop(shop).get()
    rule = '{"all": [{"field": "orders_count", "op": "gte", "value": 1}, ' \
           '{"field": "orders_count", "op": "gte", "value": "x"}]}'
    refused = merchant.post(f"/admin/recipes/{recipe.pk}/?lang={lang}", _form(
        recipe, conditions=rule, step_wait=["abc", "24", "72"], step_action=["email", "email", "webhook"],
        step_url=["", "", "http://plain.test/"]))
    html = refused.content.decode()
    assert refused.status_code == 400
    for sentence in sentences:
        assert sentence in html
    assert "all[1]" not in html and "orders_count" not in html.split('id="errors"')[1].split("</ul>")[0]
    assert 'value="abc"' in html and "http://plain.test/" in html  # what was typed is still there
    recipe.refresh_from_db()
    assert [s["after_minutes"] for s in recipe.steps] == [60, 24 * 60, 72 * 60]  # nothing saved


def test_hostile_builder_forms_get_a_4xx_with_a_reason(merchant, shop):
    merchant.post("/admin/recipes/", {"action": "enable_preset", "preset": "abandoned-cart"})
    recipe = Recipe.objects.for_shop(shop).get()
    uneven = merchant.post(f"/admin/recipes/{recipe.pk}/", _form(recipe, step_unit=["hours"]))
    assert uneven.status_code == 400 and "The steps sent are incomplete" in uneven.content.decode()
    for conditions in ("{not json", "[" * 500 + "]" * 500, json.dumps({"all": [{"field": "x" * 10_000}]} )):
        answer = merchant.post(f"/admin/recipes/{recipe.pk}/", _form(recipe, conditions=conditions))
        assert answer.status_code == 400 and "Conditions:" in answer.content.decode()
    too_many = merchant.post(f"/admin/recipes/{recipe.pk}/", _form(
        recipe, step_wait=[str(n) for n in range(1, 9)], step_unit=["hours"] * 8, step_action=["flow"] * 8,
        step_template=[""] * 8, step_url=[""] * 8, step_campaign=[""] * 8, step_tiers=["[{"] * 8))
    assert too_many.status_code == 400 and "A recipe has one to 6 steps." in too_many.content.decode()


def test_preview_as_a_customer_and_a_test_through_smtp(merchant, shop, smtp):
    merchant.post("/admin/recipes/", {"action": "enable_preset", "preset": "abandoned-cart"})
    recipe = Recipe.objects.for_shop(shop).get()
    lamp = product(shop, "Lámpara de mesa", "45.00")
    eva = customer(shop, "eva@example.com", country="MX")
    resolve_customer(eva)
    Event.objects.create(shop=shop, type=EventType.ADDED_TO_CART, customer=eva, product=lamp)
    preview = merchant.get(f"/admin/recipes/{recipe.pk}/preview/", {"step": 1, "customer": "eva@example.com"})
    html = preview.content.decode()
    assert preview.status_code == 200 and "Lámpara de mesa" in html and "PREVIEW-CODE" in html
    assert "¿Todavía lo estás pensando?" in html  # Mexico: Spanish
    assert merchant.get(f"/admin/recipes/{recipe.pk}/preview/", {"step": 9}).status_code == 400

    sent = merchant.post(f"/admin/recipes/{recipe.pk}/", {"action": "test", "step": "0",
                                                         "customer": "eva@example.com", "to": "owner@shop.test"})
    assert "Test sent to owner@shop.test." in sent.content.decode()
    [mail] = smtp.to("owner@shop.test")
    assert "Lámpara de mesa" in html_part(mail)
    assert AuditEntry.objects.for_shop(shop).filter(action="recipe.test_sent").exists()


def test_another_shops_recipe_is_not_found(merchant, shop, other_shop):
    from backend.recipes.presets import enable_preset

    theirs, _ = enable_preset(other_shop, "win-back")
    assert merchant.get(f"/admin/recipes/{theirs.pk}/").status_code == 404
    assert merchant.post("/admin/recipes/", {"action": "toggle", "recipe": theirs.pk}).status_code == 404
    assert merchant.post(f"/admin/recipes/{theirs.pk}/", _form(theirs, cooldown_hours="1")).status_code == 404
    assert merchant.get(f"/admin/recipes/{theirs.pk}/preview/", {"step": 0}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.cooldown_hours == 24 * 90
    assert re.search("Win-back", merchant.get("/admin/recipes/").content.decode())  # offered, not theirs


def test_the_builder_offers_and_accepts_only_this_shops_segments_and_campaigns(merchant, shop, other_shop):
    from backend.segments.models import Segment
    from tests.popups.factories import make_campaign

    Segment.objects.create(shop=other_shop, slug="their-secret", name="Their secret", rules={})
    their_campaign = make_campaign(other_shop, name="Their campaign")
    merchant.post("/admin/recipes/", {"action": "enable_preset", "preset": "vip-welcome"})
    recipe = Recipe.objects.for_shop(shop).get()
    page = merchant.get(f"/admin/recipes/{recipe.pk}/").content.decode()
    assert 'value="vip"' in page and "their-secret" not in page and "Their campaign" not in page
    refused = merchant.post(f"/admin/recipes/{recipe.pk}/", _form(recipe, segment="their-secret"))
    assert refused.status_code == 400 and "Choose one of your segments." in refused.content.decode()
    refused = merchant.post(f"/admin/recipes/{recipe.pk}/", _form(recipe, segment="vip",
                                                                  step_campaign=[str(their_campaign.pk)]))
    assert refused.status_code == 400 and "Choose one of your popup campaigns" in refused.content.decode()
    recipe.refresh_from_db()
    assert recipe.steps[0].get("code") is None
    assert merchant.post(f"/admin/recipes/{recipe.pk}/", _form(recipe, segment="vip")).status_code == 302


def test_shop_rules_are_validated_with_their_labels_and_audited(merchant, shop):
    form = {"action": "settings", "quiet_start_hour": "22", "quiet_end_hour": "7", "cap_emails": "3",
            "cap_hours": "48", "attribution_days": "7", "from_email": "hola@tienda.test", "test_email": ""}
    refused = merchant.post("/admin/recipes/?lang=es", {**form, "cap_emails": "0"}).content.decode()
    assert "Como máximo estos correos a una persona debe ser un número entero entre 1 y 20." in refused
    assert merchant.post("/admin/recipes/", form).status_code == 302
    from backend.recipes.engine import settings_for

    row = settings_for(shop)
    assert (row.quiet_start_hour, row.quiet_end_hour, row.cap_emails, row.from_email) == (22, 7, 3, "hola@tienda.test")
    assert AuditEntry.objects.for_shop(shop).get(action="recipes.settings_saved").after["cap_hours"] == 48

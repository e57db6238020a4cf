"""The builder's code tiers edited on screen (each tier a value and a percent the step's campaign has codes for),
and a recipe started from scratch: trigger, name, then the builder, switched off until it has a step. Refusals are
sentences in es/en with what was typed kept; every change is in the audit log; a shop sees only its own."""
from __future__ import annotations

import json

import pytest

from backend.dashboard.models import AuditEntry
from backend.recipes.models import Recipe
from tests.dashboard.factories import session_token
from tests.popups.factories import make_campaign

pytestmark = pytest.mark.django_db
SLOTS = 5
# make_campaign's pools: 20 % (VIP), 10 % (returning), free shipping (new).
TIERED = [{"min_value": 0, "percent": 10}, {"min_value": 150, "percent": 20}]


@pytest.fixture
def cart(merchant, shop):
    merchant.post("/admin/recipes/", {"action": "enable_preset", "preset": "abandoned-cart"})
    return Recipe.objects.for_shop(shop).get()


def _rows(tiers: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    padded = list(tiers) + [("", "")] * (SLOTS - len(tiers))
    return [m for m, _p in padded], [p for _m, p in padded]


def _form(recipe, tiers: dict[int, list[tuple[str, str]]] | None = None, **changes) -> dict:
    """The builder's form as the page posts it, with each step's five tier rows (typed values per step index)."""
    form = {"conditions": json.dumps(recipe.conditions or {"all": []}), "exit_when": recipe.exit_when,
            "cooldown_hours": str(recipe.cooldown_hours), "step_wait": [], "step_unit": [], "step_action": [],
            "step_template": [], "step_url": [], "step_campaign": [], "step_tiers": [], "tier_min": [],
            "tier_percent": []}
    for n, step in enumerate(recipe.steps):
        code = step.get("code") or {}
        form["step_wait"].append(f"{step['after_minutes'] / 60:g}")
        form["step_unit"].append("hours")
        form["step_action"].append(step.get("action", "email"))
        form["step_template"].append(step.get("template", ""))
        form["step_url"].append(step.get("url", ""))
        form["step_campaign"].append(str(code["campaign"]) if code.get("campaign") else "")
        form["step_tiers"].append("")
        typed = (tiers or {}).get(n, [(f"{t['min_value']:g}", f"{t['percent']:g}") for t in code.get("tiers", [])])
        mins, pcts = _rows(typed)
        form["tier_min"] += mins
        form["tier_percent"] += pcts
    return {**form, **changes}


def _step_html(html: str, n: int) -> str:
    return html.split('<li class="step"')[n + 1].split("</li>")[0]


def test_tiers_are_shown_edited_saved_and_audited(merchant, shop, cart):
    campaign = make_campaign(shop, name="Despedida")
    page = merchant.get(f"/admin/recipes/{cart.pk}/", {"lang": "es"}).content.decode()
    second = _step_html(page, 1)
    assert "Porcentaje de descuento según el valor" in second and f"Desde ({shop.currency})" in second
    assert second.count('name="tier_min"') == SLOTS and 'value="100"' in second and 'value="15"' in second
    assert "Despedida (10 %, 20 %)" in page  # the percents the campaign has codes for

    # Typed out of order, with a blank row between: saved ascending, the blank row not used.
    typed = [("400", "20"), ("", ""), ("0", "10"), ("150,5", "20")]
    answer = merchant.post(f"/admin/recipes/{cart.pk}/", _form(
        cart, {1: typed}, step_campaign=["", str(campaign.pk), ""]))
    assert answer.status_code == 302
    cart.refresh_from_db()
    assert cart.steps[1]["code"] == {"campaign": campaign.pk, "tiers": [
        {"min_value": 0.0, "percent": 10.0}, {"min_value": 150.5, "percent": 20.0},
        {"min_value": 400.0, "percent": 20.0}]}
    entry = AuditEntry.objects.for_shop(shop).get(action="recipe.saved")
    assert entry.before["steps"][1]["code"]["tiers"][1] == {"min_value": 100, "percent": 10}
    assert entry.after["steps"][1]["code"]["tiers"][1] == {"min_value": 150.5, "percent": 20.0}

    again = _step_html(merchant.get(f"/admin/recipes/{cart.pk}/", {"lang": "en"}).content.decode(), 1)
    assert 'value="150.5"' in again and 'value="400"' in again and "Percent off by value" in again
    assert f'<option value="{campaign.pk}" selected>' in again

    # Without a campaign the step gives no code and its tiers are not kept.
    assert merchant.post(f"/admin/recipes/{cart.pk}/", _form(cart, step_campaign=["", "", ""])).status_code == 302
    cart.refresh_from_db()
    assert "code" not in cart.steps[1]


@pytest.mark.parametrize(("lang", "typed", "sentence"), [
    ("es", [("0", "10"), ("100", "10"), ("100", "20")], "Paso 2: dos tramos empiezan en el mismo valor (100)."),
    ("en", [("0", "10"), ("100", "10"), ("100", "20")], "Step 2: two tiers start at the same value (100)."),
    ("es", [("0", "20"), ("300", "10")], "Paso 2: el tramo desde 300 da menos que el tramo anterior"),
    ("en", [("0", "20"), ("300", "10")], "Step 2: the tier from 300 gives less than the tier below it"),
    ("es", [("50", "10"), ("300", "20")], "Paso 2: el tramo más bajo debe empezar en 0"),
    ("en", [("50", "10"), ("300", "20")], "Step 2: the lowest tier must start at 0"),
    ("es", [("0", "10"), ("300", "")], "Paso 2: cada tramo necesita un valor mínimo del carrito y un porcentaje."),
    ("en", [("0", "10"), ("300", "95")], "Step 2: a percent between 1 and 90, and a minimum value of 0 or more."),
    ("en", [("", ""), ("", "")], "Step 2: a code needs one to five tiers."),
    ("es", [("0", "10"), ("300", "15")], "Paso 2: «Despedida» no tiene códigos del 15 %; sus códigos son del "
                                         "10 %, 20 %."),
    ("en", [("0", "10"), ("300", "15")], "Step 2: “Despedida” has no codes for 15 %; its codes are for 10 %, 20 %."),
])
def test_tiers_are_refused_with_a_sentence_and_what_was_typed_stays(merchant, shop, cart, lang, typed, sentence):
    campaign = make_campaign(shop, name="Despedida")
    refused = merchant.post(f"/admin/recipes/{cart.pk}/?lang={lang}", _form(
        cart, {1: typed}, step_campaign=["", str(campaign.pk), ""]))
    html = refused.content.decode()
    assert refused.status_code == 400
    assert sentence in html.split('id="errors"')[1].split("</ul>")[0]
    second = _step_html(html, 1)
    for low, pct in typed:
        if low:
            assert f'name="tier_min" min="0" max="1000000" step="any" inputmode="decimal" value="{low}"' in second
        if pct:
            assert f'value="{pct}"' in second
    cart.refresh_from_db()
    assert cart.steps[1]["code"] == {"campaign": None, "tiers": [{"min_value": 0, "percent": 5},
                                                                 {"min_value": 100, "percent": 10},
                                                                 {"min_value": 250, "percent": 15}]}


def test_only_this_shops_campaigns_give_codes(merchant, shop, other_shop, cart):
    theirs = make_campaign(other_shop, name="Su campaña")
    assert "Su campaña" not in merchant.get(f"/admin/recipes/{cart.pk}/").content.decode()
    refused = merchant.post(f"/admin/recipes/{cart.pk}/", _form(
        cart, {1: [("0", "10")]}, step_campaign=["", str(theirs.pk), ""]))
    assert refused.status_code == 400 and "Choose one of your popup campaigns" in refused.content.decode()
    shipping = make_campaign(shop, name="Envío", offer_rules=[], default_offer={"kind": "free_shipping"})
    refused = merchant.post(f"/admin/recipes/{cart.pk}/", _form(
        cart, {1: [("0", "10")]}, step_campaign=["", str(shipping.pk), ""]))
    assert refused.status_code == 400 and "“Envío” has no percent-off codes" in refused.content.decode()
    assert not AuditEntry.objects.for_shop(shop).filter(action="recipe.saved").exists()


@pytest.mark.parametrize("rows", [
    [("nan", "10")], [("0", "inf")], [("1e999999", "10")], [("0", "10"), ("-5", "20")], [("0", "1e-999")],
    [("0" * 5000, "10" * 5000)], [("0", "10"), ("2000000", "20")], [("0x10", "10")], [("0", "<script>")],
])
def test_hostile_tier_values_are_refused_with_a_reason(merchant, shop, cart, rows):
    campaign = make_campaign(shop, name="Despedida")
    answer = merchant.post(f"/admin/recipes/{cart.pk}/", _form(cart, {1: rows},
                                                              step_campaign=["", str(campaign.pk), ""]))
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "Step 2:" in html.split('id="errors"')[1] and 'value="<script>"' not in html


def test_tier_rows_that_do_not_line_up_are_a_400(merchant, shop, cart):
    campaign = make_campaign(shop, name="Despedida")
    form = _form(cart, step_campaign=["", str(campaign.pk), ""])
    for changed in ({"tier_min": form["tier_min"][:-1]}, {"tier_percent": ["10"] * 300},
                    {"tier_min": ["0"] * 15, "tier_percent": []}):
        answer = merchant.post(f"/admin/recipes/{cart.pk}/", {**form, **changed})
        assert answer.status_code == 400 and "The steps sent are incomplete" in answer.content.decode()


# --- A recipe from scratch ---------------------------------------------------------------------------------------

def test_new_recipe_offers_every_trigger_in_both_languages(merchant, shop):
    listing = merchant.get("/admin/recipes/", {"lang": "es"}).content.decode()
    assert 'id="new-recipe"' in listing and "Nueva automatización desde cero" in listing
    page = merchant.get("/admin/recipes/new/", {"lang": "es"})
    html = page.content.decode()
    assert page.status_code == 200 and "Qué la inicia" in html and "Crear y añadir pasos" in html
    assert [v for v in Recipe.Trigger.values if f'value="{v}"' in html] == list(Recipe.Trigger.values)
    assert "Un cliente entra en un segmento" in html
    english = merchant.get("/admin/recipes/new/", {"lang": "en"}).content.decode()
    assert "What starts it" in english and "A customer enters a segment" in english


def test_a_recipe_from_scratch_starts_off_and_turns_on_only_with_a_step(merchant, shop):
    created = merchant.post("/admin/recipes/new/?lang=es", {"trigger": "order_placed",
                                                            "name": "  Gracias\tpor  tu\x00 compra "})
    assert created.status_code == 302
    recipe = Recipe.objects.for_shop(shop).get()
    assert (recipe.name, recipe.key, recipe.trigger, recipe.enabled, recipe.steps) == (
        "Gracias por tu compra", "custom-gracias-por-tu-compra", "order_placed", False, [])
    assert created["Location"].startswith(f"/admin/recipes/{recipe.pk}/") and "created=1" in created["Location"]
    builder = merchant.get(created["Location"])
    html = builder.content.decode()
    assert "Creada y desactivada: añade sus pasos" in html
    assert html.split('id="blank-step"')[0].count('<li class="step"') == 1  # one blank step to fill in
    assert "Gracias por tu compra" in html and "Se hace un pedido" in html
    entry = AuditEntry.objects.for_shop(shop).get(action="recipe.created")
    assert entry.after["name"] == "Gracias por tu compra" and entry.after["enabled"] is False

    for lang, sentence in (("es", "«Gracias por tu compra» todavía no tiene pasos: añade al menos uno"),
                           ("en", "“Gracias por tu compra” has no steps yet: add at least one")):
        refused = merchant.post(f"/admin/recipes/?lang={lang}", {"action": "toggle", "recipe": recipe.pk})
        assert refused.status_code == 400 and sentence in refused.content.decode()
        refused = merchant.post(f"/admin/recipes/{recipe.pk}/?lang={lang}", {"action": "toggle"})
        assert refused.status_code == 400 and sentence in refused.content.decode()
    recipe.refresh_from_db()
    assert not recipe.enabled

    # No steps sent: still refused by the builder.
    empty = _form(recipe)
    assert merchant.post(f"/admin/recipes/{recipe.pk}/", empty).status_code == 400
    campaign = make_campaign(shop, name="Gracias")
    form = {**empty, "step_wait": ["3"], "step_unit": ["days"], "step_action": ["email"],
            "step_template": ["order"], "step_url": [""], "step_campaign": [str(campaign.pk)], "step_tiers": [""]}
    form["tier_min"], form["tier_percent"] = _rows([("0", "10"), ("200", "20")])
    assert merchant.post(f"/admin/recipes/{recipe.pk}/", form).status_code == 302
    assert merchant.post(f"/admin/recipes/{recipe.pk}/", {"action": "toggle"}).status_code == 302
    recipe.refresh_from_db()
    assert recipe.enabled and recipe.enabled_at and recipe.scan_cursor
    assert recipe.steps == [{"after_minutes": 3 * 24 * 60, "action": "email", "template": "order",
                             "code": {"campaign": campaign.pk, "tiers": [{"min_value": 0.0, "percent": 10.0},
                                                                         {"min_value": 200.0, "percent": 20.0}]}}]
    assert list(AuditEntry.objects.for_shop(shop).order_by("pk").values_list("action", flat=True)) == [
        "recipe.created", "recipe.saved", "recipe.enabled"]
    listing = merchant.get("/admin/recipes/").content.decode()
    assert 'data-recipe="custom-gracias-por-tu-compra"' in listing and "Gracias por tu compra" in listing


@pytest.mark.parametrize(("lang", "form", "sentence"), [
    ("es", {"trigger": "cart_abandoned", "name": "   "}, "Ponle un nombre a la automatización."),
    ("en", {"trigger": "cart_abandoned", "name": ""}, "Give the automation a name."),
    ("es", {"trigger": "value_tier_changed", "name": "X"}, "Elige qué inicia la automatización."),
    ("en", {"name": "X"}, "Choose what starts the automation."),
    ("en", {"trigger": "order_placed", "name": "a" * 121}, "The name can be at most 120 characters."),
    ("es", {"trigger": "order_placed", "name": "carrito ABANDONADO"},
     "Ya tienes una automatización llamada «carrito ABANDONADO»."),
])
def test_a_new_recipe_is_refused_with_a_sentence_and_keeps_what_was_typed(merchant, shop, lang, form, sentence):
    merchant.post("/admin/recipes/?lang=es", {"action": "enable_preset", "preset": "abandoned-cart"})
    refused = merchant.post(f"/admin/recipes/new/?lang={lang}", form)
    html = refused.content.decode()
    assert refused.status_code == 400 and sentence in html
    if form.get("name", "").strip():
        assert f'value="{form["name"]}"' in html
    if form.get("trigger") in Recipe.Trigger.values:
        assert f'value="{form["trigger"]}" checked' in html
    assert Recipe.objects.for_shop(shop).count() == 1
    assert not AuditEntry.objects.for_shop(shop).filter(action="recipe.created").exists()


def test_hostile_new_recipe_forms_never_fail(merchant, shop):
    for form in ({"trigger": ["order_placed", "x"] * 50, "name": "<script>alert(1)</script>"},
                 {"trigger": "order_placed" * 1000, "name": "\u202e" * 10_000}, {"trigger": "", "name": "\x00"}):
        answer = merchant.post("/admin/recipes/new/", form)
        assert answer.status_code in (302, 400)
        assert "<script>alert" not in answer.content.decode()
    for _n in range(2):  # the same name twice: the second is refused, never a key clash
        merchant.post("/admin/recipes/new/", {"trigger": "order_placed", "name": "Ñandú!!"})
    assert list(Recipe.objects.for_shop(shop).filter(name="Ñandú!!").values_list("key", flat=True)) == [
        "custom-nandu"]


def test_each_trigger_gets_a_builder_that_saves(merchant, shop):
    from backend.segments.presets import ensure_presets

    ensure_presets(shop)
    for trigger in Recipe.Trigger.values:
        assert merchant.post("/admin/recipes/new/", {"trigger": trigger, "name": f"Mía {trigger}"}).status_code == 302
        recipe = Recipe.objects.for_shop(shop).get(trigger=trigger)
        assert merchant.get(f"/admin/recipes/{recipe.pk}/").status_code == 200
        form = {**_form(recipe), "step_wait": ["1"], "step_unit": ["hours"], "step_action": ["flow"],
                "step_template": [""], "step_url": [""], "step_campaign": [""], "step_tiers": [""],
                "tier_min": [""] * SLOTS, "tier_percent": [""] * SLOTS, "segment": "vip", "days": "30",
                "date_property": "first_seen_at", "offset_days": "-3"}
        assert merchant.post(f"/admin/recipes/{recipe.pk}/", form).status_code == 302, trigger
        assert merchant.post("/admin/recipes/", {"action": "toggle", "recipe": recipe.pk}).status_code == 302
    assert Recipe.objects.for_shop(shop).filter(enabled=True).count() == len(Recipe.Trigger.values)


def test_new_recipes_belong_to_the_shop_that_made_them(client, merchant, shop, other_shop):
    from backend.recipes.presets import enable_preset

    theirs, _ = enable_preset(other_shop, "win-back")
    Recipe.objects.for_shop(other_shop).filter(pk=theirs.pk).update(name="Mi receta")
    # Another shop's name is no clash here; its recipe is a 404 for the new recipe's toggle too.
    assert merchant.post("/admin/recipes/new/", {"trigger": "order_placed", "name": "Mi receta"}).status_code == 302
    mine = Recipe.objects.for_shop(shop).get()
    assert mine.key == "custom-mi-receta" and Recipe.objects.for_shop(other_shop).count() == 1
    assert merchant.post(f"/admin/recipes/{theirs.pk}/", {"action": "toggle"}).status_code == 404
    assert "Mi receta" not in merchant.get("/admin/recipes/new/").content.decode()


def test_embedded_new_recipe_keeps_the_session_token(client, shop):
    token = session_token(shop)
    page = client.get("/admin/recipes/new/", {"id_token": token, "lang": "es"}).content.decode()
    assert f'name="id_token" value="{token}"' in page and "id_token=" in page.split('id="back"')[0].rsplit(
        "<a", 1)[1]
    created = client.post("/admin/recipes/new/", {"id_token": token, "lang": "es", "trigger": "segment_entered",
                                                  "name": "Bienvenida VIP propia"})
    assert created.status_code == 302 and "id_token=" in created["Location"] and "lang=es" in created["Location"]
    builder = client.get(created["Location"]).content.decode()
    assert "Segmento" in builder and 'name="segment"' in builder


@pytest.mark.parametrize(("lang", "sentences"), [
    ("es", ["Cambió una automatización", "Automatización «Mis tramos»", "Creó una automatización",
            "Activó una automatización", "código 10 % desde 0, 20 % desde 150", "Pasos: — → 1 d: Enviar un correo"]),
    ("en", ["Changed an automation", "Automation “Mis tramos”", "Created an automation", "Turned on an automation",
            "code 10 % from 0, 20 % from 150", "Steps: — → 1 d: Send an email"]),
])
def test_the_activity_screen_reads_recipe_changes_in_words(merchant, shop, lang, sentences):
    from tests.dashboard.test_translations import visible_text

    campaign = make_campaign(shop, name="Despedida")
    merchant.post("/admin/recipes/new/", {"trigger": "cart_abandoned", "name": "Mis tramos"})
    recipe = Recipe.objects.for_shop(shop).get()
    form = {**_form(recipe), "step_wait": ["24"], "step_unit": ["hours"], "step_action": ["email"],
            "step_template": ["cart"], "step_url": [""], "step_campaign": [str(campaign.pk)], "step_tiers": [""]}
    form["tier_min"], form["tier_percent"] = _rows([("0", "10"), ("150", "20")])
    assert merchant.post(f"/admin/recipes/{recipe.pk}/", form).status_code == 302
    assert merchant.post(f"/admin/recipes/{recipe.pk}/", {"action": "toggle"}).status_code == 302
    text = visible_text(merchant.get("/admin/audit/", {"lang": lang}).content.decode()).replace(" :", ":")
    for sentence in sentences:
        assert sentence in text, sentence
    for raw in ("recipe.saved", "recipe:custom", "after_minutes", "{", "True"):
        assert raw not in text, raw


def test_turning_on_rechecks_the_tiers_against_the_campaigns_codes(merchant, shop, cart):
    from backend.popups.models import Campaign

    campaign = make_campaign(shop, name="Despedida")
    assert merchant.post(f"/admin/recipes/{cart.pk}/", _form(
        cart, {1: [("0", "10"), ("150", "20")]}, step_campaign=["", str(campaign.pk), ""])).status_code == 302
    assert merchant.post("/admin/recipes/", {"action": "toggle", "recipe": cart.pk}).status_code == 302  # off
    # The campaign no longer offers 10 %: its tier would never get a code, so the recipe stays off until fixed.
    Campaign.objects.for_shop(shop).filter(pk=campaign.pk).update(
        offer_rules=[{"when": "tier:vip", "kind": "percent", "value": 20}], default_offer={})
    refused = merchant.post("/admin/recipes/?lang=es", {"action": "toggle", "recipe": cart.pk})
    assert refused.status_code == 400
    assert "«Carrito abandonado» todavía no se puede activar: Paso 2: «Despedida» no tiene códigos del 10 %" in \
        refused.content.decode()
    cart.refresh_from_db()
    assert not cart.enabled

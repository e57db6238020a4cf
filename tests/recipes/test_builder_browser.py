"""The recipe builder in a real browser, as a Spanish-speaking merchant on a 390 px phone: she adds a condition
(the segment builder's own rows) and a step, moves it, saves, and finds both there after a reload."""
from __future__ import annotations

import pytest

from backend.recipes.models import Recipe
from backend.recipes.presets import enable_preset
from tests.widgets.browser import chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def _open(browser, url, shop):
    from django.contrib.sessions.backends.db import SessionStore

    from backend.dashboard.auth import SESSION_KEY

    session = SessionStore()
    session[SESSION_KEY] = shop.pk
    session.create()
    context = browser.new_context(viewport=PHONE)
    context.add_cookies([{"name": "sessionid", "value": session.session_key, "url": url}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors


def test_a_merchant_in_spanish_adds_a_condition_and_a_step_and_saves(browser, live_server, shop):
    recipe, _ = enable_preset(shop, "browse-abandonment")
    context, page, errors = _open(browser, live_server.url, shop)
    page.goto(f"{live_server.url}/admin/recipes/{recipe.pk}/?lang=es")
    assert page.locator("#builder legend").text_content() == "Condiciones"
    assert page.locator("#steps > li").count() == 1
    assert page.locator(".step-remove").is_disabled()  # a recipe keeps at least one step

    # A condition, with the segments screen's own rows: orders at least 2.
    page.click("#add-row")
    row = page.locator("#rows > li").first
    row.locator("select.field").select_option("orders_count")
    row.locator("select.op").select_option("gte")
    row.locator("input.value").fill("2")

    # A step: call my URL 2 days after, then put it first and back again (the order saved is the order shown).
    page.click("#add-step")
    step = page.locator("#steps > li").nth(1)
    assert step.locator(".step-number").text_content() == "2"
    step.locator("input[name=step_wait]").fill("2")
    step.locator("select[name=step_unit]").select_option("days")
    step.locator("select[name=step_action]").select_option("webhook")
    assert not step.locator("select[name=step_template]").is_visible()  # only the action's own settings show
    step.locator("input[name=step_url]").fill("https://hooks.tienda.test/recuperar")
    step.locator(".step-up").click()
    assert page.locator("#steps > li").first.locator(".step-number").text_content() == "1"
    assert page.locator("#steps > li").first.locator("input[name=step_url]").input_value().startswith("https://")
    page.locator("#steps > li").first.locator(".step-down").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.click("#save-recipe")
    page.wait_for_selector("text=Guardado.")
    recipe.refresh_from_db()
    assert recipe.conditions == {"all": [{"field": "orders_count", "op": "gte", "value": 2}]}
    assert recipe.steps == [{"after_minutes": 240, "action": "email", "template": "browse"},
                            {"after_minutes": 2 * 24 * 60, "action": "webhook",
                             "url": "https://hooks.tienda.test/recuperar"}]

    page.reload()
    assert page.locator("#rows > li").count() == 1
    assert page.locator("#rows > li select.field").input_value() == "orders_count"
    assert page.locator("#rows > li input.value").input_value() == "2"
    second = page.locator("#steps > li").nth(1)
    assert second.locator("select[name=step_action]").input_value() == "webhook"
    assert second.locator("input[name=step_wait]").input_value() == "2"
    assert second.locator("select[name=step_unit]").input_value() == "days"

    # A refusal comes back in Spanish, with what she typed still there.
    second.locator("input[name=step_url]").fill("http://sin-cifrar.test/")
    page.click("#save-recipe")
    page.wait_for_selector("#errors")
    assert "Paso 2: la dirección a la que llamar debe empezar por https://" in page.locator("#errors").text_content()
    assert page.locator("#steps > li").nth(1).locator("input[name=step_url]").input_value() == \
        "http://sin-cifrar.test/"
    assert Recipe.objects.for_shop(shop).get().steps[1]["url"] == "https://hooks.tienda.test/recuperar"
    assert errors == []
    context.close()


def test_a_merchant_in_spanish_starts_a_recipe_from_scratch_with_a_tiered_code(browser, live_server, shop):
    """From the list: a new automation (trigger, name), its first step an email with codes tiered by value; she
    edits a tier and adds one, saves, reloads and finds them; then turns it on. All on a 390 px phone."""
    from tests.popups.factories import make_campaign

    campaign = make_campaign(shop, name="Despedida")  # pools for 10 % and 20 %
    context, page, errors = _open(browser, live_server.url, shop)
    page.goto(f"{live_server.url}/admin/recipes/?lang=es")
    page.click("#new-recipe")
    page.wait_for_selector("text=Qué la inicia")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator("input[name=trigger]").count() == len(Recipe.Trigger.values)
    page.check("input[name=trigger][value=cart_abandoned]")
    page.fill("#recipe-name", "Carrito con código")
    page.click("#create-recipe")
    page.wait_for_selector("text=Creada y desactivada")
    recipe = Recipe.objects.for_shop(shop).get()
    assert not recipe.enabled and recipe.steps == []

    step = page.locator("#steps > li").first
    step.locator("input[name=step_wait]").fill("24")
    assert not step.locator(".tiers").is_visible()  # tiers show once a campaign gives the codes
    step.locator("select[name=step_campaign]").select_option(str(campaign.pk))
    assert step.locator(".tiers legend").text_content() == "Porcentaje de descuento según el valor"
    assert step.locator("input[name=tier_min]").nth(1).input_value() == "100"
    # The template's 5 / 10 / 15 % are not all in the campaign's pools: she makes them 10 and 20, from 150.
    step.locator("input[name=tier_percent]").nth(0).fill("10")
    step.locator("input[name=tier_min]").nth(1).fill("150")
    step.locator("input[name=tier_percent]").nth(1).fill("20")
    step.locator("input[name=tier_min]").nth(2).fill("")
    step.locator("input[name=tier_percent]").nth(2).fill("")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.click("#save-recipe")
    page.wait_for_selector("text=Guardado.")
    recipe.refresh_from_db()
    assert recipe.steps == [{"after_minutes": 24 * 60, "action": "email", "template": "cart",
                             "code": {"campaign": campaign.pk, "tiers": [{"min_value": 0.0, "percent": 10.0},
                                                                         {"min_value": 150.0, "percent": 20.0}]}}]

    page.reload()
    step = page.locator("#steps > li").first
    assert step.locator("select[name=step_campaign]").input_value() == str(campaign.pk)
    assert [step.locator("input[name=tier_min]").nth(n).input_value() for n in range(3)] == ["0", "150", ""]
    assert [step.locator("input[name=tier_percent]").nth(n).input_value() for n in range(3)] == ["10", "20", ""]

    # A percent the campaign has no codes for is refused in Spanish, with what she typed kept.
    step.locator("input[name=tier_percent]").nth(1).fill("25")
    page.click("#save-recipe")
    page.wait_for_selector("#errors")
    assert "Paso 1: «Despedida» no tiene códigos del 25 %" in page.locator("#errors").text_content()
    assert page.locator("#steps > li").first.locator("input[name=tier_percent]").nth(1).input_value() == "25"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.click("#toggle-form button")
    page.wait_for_selector("#toggle-form .on")
    recipe.refresh_from_db()
    assert recipe.enabled and recipe.steps[0]["code"]["tiers"][1]["percent"] == 20.0
    assert errors == []
    context.close()

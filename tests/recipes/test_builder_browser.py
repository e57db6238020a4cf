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

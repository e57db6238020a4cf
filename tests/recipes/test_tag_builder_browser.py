"""The builder's tag step in a real browser (Spanish, phone width): choosing "tag the customer" shows only the tag's
settings; saving a recipe that is off keeps the step and shows the permission request with Shopify's grant link."""
from __future__ import annotations

import pytest

from backend.recipes.models import Recipe
from backend.recipes.presets import enable_preset
from tests.recipes.test_builder_browser import PHONE, _open, browser  # noqa: F401 - the module's browser fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_merchant_adds_a_tag_step_and_is_asked_for_the_permission(browser, live_server, shop):  # noqa: F811
    recipe, _ = enable_preset(shop, "browse-abandonment")
    Recipe.objects.for_shop(shop).filter(pk=recipe.pk).update(enabled=False)
    context, page, errors = _open(browser, live_server.url, shop)
    page.goto(f"{live_server.url}/admin/recipes/{recipe.pk}/?lang=es")
    assert page.locator("#tag-grant").count() == 0  # no tag step, nothing asked

    page.click("#add-step")
    step = page.locator("#steps > li").nth(1)
    step.locator("input[name=step_wait]").fill("1")
    step.locator("select[name=step_unit]").select_option("days")
    step.locator("select[name=step_action]").select_option("tag")
    assert step.locator("input[name=step_tag]").is_visible()
    assert not step.locator("select[name=step_template]").is_visible()
    assert not step.locator("select[name=step_audience]").is_visible()
    step.locator("input[name=step_tag]").fill("miró sin comprar")
    step.locator("select[name=step_tag_mode]").select_option("add")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.click("#save-recipe")
    page.wait_for_selector("text=Guardado.")
    recipe.refresh_from_db()
    assert recipe.steps[-1] == {"after_minutes": 24 * 60, "action": "tag", "tag": "miró sin comprar", "mode": "add"}
    grant = page.locator("#tag-grant")
    assert "hace falta tu permiso para editar clientes en tu tienda Shopify" in grant.text_content()
    link = page.locator("#tag-grant-link")
    assert link.get_attribute("target") == "_top"
    assert link.get_attribute("href").startswith("/shopify/grant?scope=write_customers")
    assert errors == []
    context.close()

"""The merchant's automations screens (es/en): presets in one click, timing edits validated and audited, a step's
email previewed as a chosen customer gets it, and a test sent through the real SMTP server."""
from __future__ import annotations

import re

import pytest

from backend.customers.identities import resolve_customer
from backend.dashboard.auth import login_token
from backend.dashboard.models import AuditEntry
from backend.events.models import Event, EventType
from backend.recipes.models import Recipe
from tests.recipes.conftest import html_part
from tests.recipes.factories import customer, product

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant(client, shop):
    assert client.get("/admin/recipes/", {"token": login_token(shop)}).status_code == 302
    return client


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


def test_timing_edits_are_validated_in_the_page_language_and_audited(merchant, shop):
    merchant.post("/admin/recipes/", {"action": "enable_preset", "preset": "abandoned-cart"})
    recipe = Recipe.objects.for_shop(shop).get()
    bad = merchant.post(f"/admin/recipes/{recipe.pk}/?lang=es", {
        "step_0_hours": "2", "step_1_hours": "1", "step_2_hours": "72", "cooldown_hours": "168"})
    assert bad.status_code == 200 and "Paso 2 debe ir después del paso anterior." in bad.content.decode()
    ok = merchant.post(f"/admin/recipes/{recipe.pk}/", {
        "step_0_hours": "2", "step_1_hours": "30", "step_2_hours": "96", "cooldown_hours": "48"})
    assert ok.status_code == 302
    recipe.refresh_from_db()
    assert [s["after_minutes"] for s in recipe.steps] == [120, 1800, 5760] and recipe.cooldown_hours == 48
    entry = AuditEntry.objects.for_shop(shop).filter(action="recipe.saved").get()
    assert entry.before["steps"][0]["after_minutes"] == 60 and entry.after["steps"][0]["after_minutes"] == 120


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
    assert re.search("Win-back", merchant.get("/admin/recipes/").content.decode())  # offered, not theirs


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

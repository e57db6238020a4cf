"""The builder's "tag the customer" step (es/en): what the form sends is validated with reasons in the page's
language, a valid step is saved and audited, and a recipe that is on is not saved with a tag step while the shop
lacks the platform's write permission (a recipe that is off is: a draft loses nothing)."""
from __future__ import annotations

import pytest

from backend.dashboard.models import AuditEntry
from backend.recipes.models import Recipe
from tests.recipes.test_admin import _form

pytestmark = pytest.mark.django_db


@pytest.fixture
def recipe(merchant, shop):
    merchant.post("/admin/recipes/", {"action": "enable_preset", "preset": "abandoned-cart"})
    found = Recipe.objects.for_shop(shop).get()
    Recipe.objects.for_shop(shop).filter(pk=found.pk).update(enabled=False)
    found.refresh_from_db()
    return found


def tag_form(recipe, tag: str, mode: str = "add", **changes) -> dict:
    """The preset's three email steps, then a tag step at 4 days."""
    form = _form(recipe)
    form.update(step_wait=[*form["step_wait"], "4"], step_unit=["hours"] * 3 + ["days"],
                step_action=[*form["step_action"], "tag"], step_template=[*form["step_template"], ""],
                step_url=[*form["step_url"], ""], step_campaign=[*form["step_campaign"], ""],
                step_tiers=[*form["step_tiers"], ""], step_audience=["", "", "", ""], step_mode=["", "", "", ""],
                step_tag=["", "", "", tag], step_tag_mode=["add", "add", "add", mode])
    return {**form, **changes}


@pytest.mark.parametrize("tag, mode, spanish, english", [
    ("", "add", "Paso 4: escribe la etiqueta.", "Step 4: write the tag."),
    ("vip, cart", "add", "Paso 4: una sola etiqueta, sin comas (una coma la convertiría en dos).",
     "Step 4: one tag only, without commas (a comma would make two tags)."),
    ("x" * 256, "add", "Paso 4: una etiqueta tiene como máximo 255 caracteres.",
     "Step 4: a tag has at most 255 characters."),
    ("bell\x07", "add", "Paso 4: la etiqueta tiene caracteres que no se pueden guardar.",
     "Step 4: the tag has characters that cannot be stored."),
    ("vip", "replace", "Paso 4: elige si añadir o quitar la etiqueta.",
     "Step 4: choose whether to add or remove the tag."),
])
def test_a_bad_tag_step_is_refused_with_the_reason_in_the_page_language(merchant, recipe, tag, mode, spanish,
                                                                       english):
    for lang, text in (("es", spanish), ("en", english)):
        answer = merchant.post(f"/admin/recipes/{recipe.pk}/?lang={lang}", tag_form(recipe, tag, mode))
        body = answer.content.decode()
        assert answer.status_code == 400 and text in body
        # The refused form comes back as the merchant left it, tag step included.
        assert 'value="tag" selected' in body
    recipe.refresh_from_db()
    assert [s["action"] for s in recipe.steps] == ["email", "email", "email"]


def test_a_valid_tag_step_is_saved_trimmed_and_audited_and_shown_back(merchant, shop, recipe):
    assert merchant.post(f"/admin/recipes/{recipe.pk}/", tag_form(recipe, "  carrito olvidado ", "remove")
                         ).status_code == 302
    recipe.refresh_from_db()
    assert recipe.steps[-1] == {"after_minutes": 4 * 24 * 60, "action": "tag", "tag": "carrito olvidado",
                                "mode": "remove"}
    entry = AuditEntry.objects.for_shop(shop).filter(action="recipe.saved").get()
    assert entry.after["steps"][-1]["tag"] == "carrito olvidado"
    page = merchant.get(f"/admin/recipes/{recipe.pk}/", {"lang": "es"}).content.decode()
    assert 'name="step_tag" value="carrito olvidado"' in page and 'value="remove" selected>Quitar la etiqueta' in page
    assert "Etiquetar al cliente en mi tienda" in page
    # The shop (installed with the usual scopes) has not granted write_customers: the page asks, and until then
    # the recipe cannot be switched on.
    assert 'id="tag-grant"' in page and "/shopify/grant?scope=write_customers" in page
    refused = merchant.post("/admin/recipes/?lang=es", {"action": "toggle", "recipe": recipe.pk})
    assert refused.status_code == 400
    assert "«Carrito abandonado» etiqueta clientes en tu tienda, y para eso necesita tu permiso para editar " \
           "clientes." in refused.content.decode()
    recipe.refresh_from_db()
    assert not recipe.enabled


def test_a_recipe_that_is_on_is_not_saved_with_a_tag_step_until_the_permission_is_granted(merchant, shop, recipe):
    Recipe.objects.for_shop(shop).filter(pk=recipe.pk).update(enabled=True)
    recipe.refresh_from_db()
    for lang, text in (("en", "This recipe is on and a step tags customers"),
                       ("es", "Esta automatización está activa y un paso etiqueta clientes")):
        answer = merchant.post(f"/admin/recipes/{recipe.pk}/?lang={lang}", tag_form(recipe, "vip"))
        assert answer.status_code == 400 and text in answer.content.decode()
        assert 'id="tag-grant"' in answer.content.decode()
    recipe.refresh_from_db()
    assert all(s["action"] == "email" for s in recipe.steps)
    shop.scopes += ",write_customers"  # as recorded from Shopify's token after the grant
    shop.save()
    assert merchant.post(f"/admin/recipes/{recipe.pk}/", tag_form(recipe, "vip")).status_code == 302
    page = merchant.get(f"/admin/recipes/{recipe.pk}/", {"lang": "en"}).content.decode()
    assert 'id="tag-grant"' not in page
    assert "Tag steps: 0 done, 0 waiting for permission, 0 being retried, 0 failed." in page


def test_a_form_from_before_tag_steps_still_saves(merchant, recipe):
    form = _form(recipe)  # no step_tag / step_tag_mode fields at all
    answer = merchant.post(f"/admin/recipes/{recipe.pk}/", form)
    assert answer.status_code == 302, answer.content.decode()[answer.content.decode().find("errors"):][:400]


def test_the_grant_view_is_for_the_signed_in_shopify_shop_and_known_scopes_only(client, merchant, shop):
    asked = merchant.get("/shopify/grant", {"scope": "write_orders"})
    assert asked.status_code == 400 and b"unknown scope" in asked.content
    merchant.logout()
    assert client.get("/shopify/grant", {"scope": "write_customers"}).status_code == 401

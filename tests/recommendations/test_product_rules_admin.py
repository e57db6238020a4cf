"""The product rules screen: complementary rules and re-buyable products, listed, added and removed by a merchant,
in Spanish and English, only ever on the merchant's own shop."""
from __future__ import annotations

import pytest

from backend.dashboard.models import AuditEntry
from backend.recommendations.complementary import complementary_for
from backend.recommendations.eligibility import not_to_rebuy
from backend.recommendations.models import ComplementaryRule, ProductPreference
from tests.recommendations.factories import collection, customer, order, product

pytestmark = pytest.mark.django_db


def test_screen_needs_a_signed_in_shop(client, shop):
    assert client.get("/admin/product-rules/").status_code in (302, 401, 403)


@pytest.mark.parametrize(("lang", "words"), [
    ("es", ["Reglas de productos", "Se muestran juntos", "Se vuelven a comprar", "Añadir regla", "Aún no hay reglas."]),
    ("en", ["Product rules", "Shown together", "Bought again", "Add rule", "No rules yet."]),
])
def test_screen_reads_in_the_page_language(admin, shop, lang, words):
    product(shop, "Chaqueta")
    html = admin.get(f"/admin/product-rules/?lang={lang}").content.decode()
    for word in words:
        assert word in html
    # Pickers by title (the catalogue is searched as the merchant types), not lists of the whole catalogue.
    assert "<select" not in html and "Chaqueta" not in html
    for name, kind in (("source_product", "product"), ("source_collection", "collection"),
                       ("target_products", "product"), ("target_collections", "collection"),
                       ("rebuy_product", "product")):
        assert f'data-kind="{kind}" data-name="{name}"' in html and f'id="{name}" role="combobox"' in html
    assert "/api/admin/catalog/search" in html


def test_merchant_adds_and_removes_a_complementary_rule(admin, shop):
    jacket, hat, gloves = product(shop, "Jacket"), product(shop, "Hat"), product(shop, "Gloves")
    winter = collection(shop, [gloves], title="Winter")
    res = admin.post("/admin/product-rules/?lang=en", {"action": "add_rule", "source_product": jacket.platform_id,
                                                        "target_products": hat.platform_id,
                                                        "target_collections": winter.platform_id})
    assert res.status_code == 302
    page = admin.get(res["Location"]).content.decode()
    assert "Saved." in page and "Hat, Winter" in page
    assert complementary_for(shop, jacket.pk, 4)[:2] == [hat.pk, gloves.pk]
    rule = ComplementaryRule.objects.for_shop(shop).get()
    assert AuditEntry.objects.for_shop(shop).filter(action="complementary_rule.added").exists()

    assert admin.post("/admin/product-rules/", {"action": "remove_rule", "rule": rule.pk}).status_code == 302
    assert not ComplementaryRule.objects.for_shop(shop).exists()
    assert complementary_for(shop, jacket.pk, 4) == []
    assert "No rules yet." in admin.get("/admin/product-rules/?lang=en").content.decode()
    # The activity trail reads in words: what was done, and the products by title, never picker ids.
    activity = admin.get("/admin/audit/?lang=es").content.decode()
    assert "Añadió una regla de productos" in activity and "Quitó una regla de productos" in activity
    assert "Hat, Winter" in activity and "Jacket" in activity
    assert hat.platform_id not in activity and ">complementary_rule" not in activity


@pytest.mark.parametrize(("form", "sentence"), [
    ({"target_products": ["SELF"]}, "Elige el producto o la colección de la que parte la regla."),
    ({"source_product": "SELF"}, "Elige al menos un producto o colección para mostrar con ella."),
    ({"source_product": "SELF", "target_products": ["SELF"]},
     "Un producto o una colección no puede complementarse a sí mismo."),
    ({"source_product": "SELF", "target_products": ["OTHER"]},
     "Uno de los productos o colecciones elegidos no está en tu catálogo."),
    ({"source_product": "'; drop", "target_products": ["SELF"]},
     "Uno de los productos o colecciones elegidos no está en tu catálogo."),
    ({"source_product": "SELF", "source_collection": "MINE", "target_products": ["SELF"]},
     "Elige el producto o la colección de la que parte la regla."),
])
def test_bad_rules_are_refused_with_a_sentence(admin, shop, other_shop, form, sentence):
    mine, theirs = product(shop, "Mine"), product(other_shop, "Theirs")
    outdoor = collection(shop, [mine], title="Outdoor")
    ids = {"SELF": mine.platform_id, "OTHER": theirs.platform_id, "MINE": outdoor.platform_id}
    data = {k: [ids.get(x, x) for x in v] if isinstance(v, list) else ids.get(v, v) for k, v in form.items()}
    res = admin.post("/admin/product-rules/?lang=es", {"action": "add_rule", **data})
    assert res.status_code == 400
    html = res.content.decode()
    assert sentence in html
    assert not ComplementaryRule.all_shops.exists()
    # What the merchant had picked in their own shop stays picked, as chips; another shop's never shows.
    if "source_product" in data and data["source_product"] == mine.platform_id:
        assert 'data-name="source_product"' in html and f'data-id="{mine.platform_id}" data-title="Mine"' in html
    assert "Theirs" not in html


def test_another_shops_rule_is_not_found(admin, shop, other_shop):
    a, b = product(other_shop, "A"), product(other_shop, "B")
    from backend.recommendations.complementary import save_rule

    theirs = save_rule(other_shop, source_product=a.pk, target_products=[b.pk])
    assert admin.post("/admin/product-rules/", {"action": "remove_rule", "rule": theirs.pk}).status_code == 404
    assert admin.post("/admin/product-rules/", {"action": "remove_rule", "rule": "x"}).status_code == 404
    assert ComplementaryRule.objects.for_shop(other_shop).exists()


def test_merchant_marks_and_unmarks_a_rebuyable_product(admin, shop, other_shop):
    coffee, theirs = product(shop, "Coffee beans"), product(other_shop, "Their coffee")
    buyer = customer(shop)
    order(shop, [coffee], customer=buyer)
    assert coffee.pk in not_to_rebuy(shop, buyer.pk)
    assert admin.post("/admin/product-rules/", {"action": "add_rebuyable", "rebuy_product": coffee.platform_id}
                      ).status_code == 302
    assert ProductPreference.objects.for_shop(shop).get(product=coffee).rebuyable
    assert coffee.pk not in not_to_rebuy(shop, buyer.pk)  # recommended again to the one who bought it
    page = admin.get("/admin/product-rules/?lang=en").content.decode()
    assert "<tr><td>Coffee beans</td>" in page  # listed, beside its Remove button
    res = admin.post("/admin/product-rules/?lang=en", {"action": "add_rebuyable", "rebuy_product": theirs.platform_id})
    assert res.status_code == 400 and "Choose a product from your catalogue." in res.content.decode()
    assert not ProductPreference.all_shops.filter(product=theirs).exists()
    assert admin.post("/admin/product-rules/", {"action": "remove_rebuyable", "product": coffee.pk}).status_code == 302
    assert not ProductPreference.objects.for_shop(shop).get(product=coffee).rebuyable
    assert coffee.pk in not_to_rebuy(shop, buyer.pk)
    assert "No products yet." in admin.get("/admin/product-rules/?lang=en").content.decode()

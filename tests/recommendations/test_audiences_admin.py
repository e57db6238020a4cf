"""The audiences screen (audience attribute mapping): a merchant names an audience and the customer and product tags
that make it up, in Spanish or English; refusals are sentences; only the merchant's own shop is touched."""
from __future__ import annotations

import re

import pytest

from backend.dashboard.models import AuditEntry
from backend.recommendations.bestsellers import segments_for_order
from backend.recommendations.models import AudienceMapping
from tests.dashboard.test_translations import english_words, visible_text
from tests.recommendations.factories import customer, order, product

pytestmark = pytest.mark.django_db


def test_screen_needs_a_signed_in_shop(client, shop):
    assert client.get("/admin/audience-tags/").status_code in (302, 401, 403)
    assert client.post("/admin/audience-tags/", {"action": "save", "value": "women"}).status_code in (302, 401, 403)
    assert not AudienceMapping.all_shops.exists()


@pytest.mark.parametrize(("lang", "words"), [
    ("es", ["Audiencias", "Todavía no hay audiencias.", "Etiqueta de cliente", "Guardar audiencia"]),
    ("en", ["Audiences", "No audiences yet.", "Customer tag", "Save audience"]),
])
def test_screen_reads_in_the_page_language_and_suggests_the_shops_tags(admin, shop, lang, words):
    customer(shop, tags=["Female", "vip"])
    product(shop, "Vestido", tags=["women"])
    html = admin.get(f"/admin/audience-tags/?lang={lang}").content.decode()
    for word in words:
        assert word in html
    assert re.search(r'<datalist id="customer-tags">.*<option value="female">.*</datalist>', html)
    assert re.search(r'<datalist id="product-tags">.*<option value="women">.*</datalist>', html)
    assert 'aria-current="page"' in html and "/admin/audience-tags/" in html  # in the shell's nav


def test_merchant_adds_changes_and_removes_an_audience(admin, shop):
    for _ in range(3):
        customer(shop, tags=["female"])
    product(shop, "Vestido", tags=["women"])
    res = admin.post("/admin/audience-tags/?lang=en", {"action": "save", "value": "Women", "customer_tag": "female",
                                                    "product_tag": "women"})
    assert res.status_code == 302
    page = visible_text(admin.get(res["Location"]).content.decode())
    assert "Saved." in page and "female · 3 customers" in page and "women · 1 product" in page
    mapping = AudienceMapping.objects.for_shop(shop).get()
    assert (mapping.value, mapping.customer_tag, mapping.product_tag) == ("women", "female", "women")
    # The audience is what bestsellers count a tagged customer's order for.
    buyer = customer(shop, tags=["Female"])
    assert "audience:women" in segments_for_order(order(shop, [product(shop)], customer=buyer))

    # The same name changes that audience rather than adding a second one.
    assert admin.post("/admin/audience-tags/", {"action": "save", "value": "women", "customer_tag": "mujer",
                                            "product_tag": ""}).status_code == 302
    mapping.refresh_from_db()
    assert (mapping.customer_tag, mapping.product_tag) == ("mujer", "")
    assert AudienceMapping.objects.for_shop(shop).count() == 1

    assert admin.post("/admin/audience-tags/", {"action": "remove", "audience": mapping.pk}).status_code == 302
    assert not AudienceMapping.objects.for_shop(shop).exists()
    actions = list(AuditEntry.objects.for_shop(shop).order_by("pk").values_list("action", flat=True))
    assert actions == ["audience_mapping.saved", "audience_mapping.saved", "audience_mapping.removed"]
    activity = visible_text(admin.get("/admin/audit/?lang=es").content.decode())
    assert "Guardó una audiencia" in activity and "Quitó una audiencia" in activity
    assert "Audiencia «women»" in activity and "Etiqueta de cliente" in activity


@pytest.mark.parametrize(("fields", "sentence"), [
    ({"value": "", "customer_tag": "female"}, "Ponle nombre a la audiencia, por ejemplo «mujer»."),
    ({"value": "mujer y niña", "customer_tag": "female"}, "El nombre de la audiencia es una palabra de hasta 50"),
    ({"value": "mujer", "customer_tag": "", "product_tag": "  "}, "Indica una etiqueta de cliente, una de producto"),
    ({"value": "mujer", "customer_tag": "x" * 101}, "Una etiqueta tiene como máximo 100 caracteres."),
])
def test_refusals_are_sentences_in_the_merchants_language_and_keep_what_was_typed(admin, shop, fields, sentence):
    res = admin.post("/admin/audience-tags/?lang=es", {"action": "save", "lang": "es", **fields})
    assert res.status_code == 400
    html = res.content.decode()
    assert sentence in visible_text(html)
    assert not AudienceMapping.all_shops.exists()
    # The page answering stays Spanish and shows what the merchant typed.
    text = visible_text(html)
    assert not {w for w in re.findall(r"[A-Za-z]+", text) if w.lower() in english_words()} - {
        "Personalize", "alpha", "myshopify", "com", *fields.get("customer_tag", "").split(), "x"}
    if fields.get("value"):
        assert f'value="{fields["value"]}"' in html


def test_another_shops_audience_cannot_be_removed(admin, shop, other_shop):
    theirs = AudienceMapping.all_shops.create(shop=other_shop, value="men", customer_tag="male")
    assert admin.post("/admin/audience-tags/", {"action": "remove", "audience": theirs.pk}).status_code == 404
    assert admin.post("/admin/audience-tags/", {"action": "remove", "audience": "1; drop"}).status_code == 404
    assert AudienceMapping.all_shops.filter(pk=theirs.pk).exists()

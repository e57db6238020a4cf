"""The merchant screen: shop-scoped list and editor (es/en), validation shown in the form, live preview per persona."""
from __future__ import annotations

import pytest

from backend.dashboard.auth import login_token
from backend.popups.models import Campaign

from .factories import fill_pool, make_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant(client, shop):
    response = client.get("/admin/popups/", {"token": login_token(shop)})
    assert response.status_code == 302
    return client


FORM = {
    "name": "Exit offer", "status": "active", "priority": "0", "include_segments": "",
    "exclude_segments": "tier:low",
    "offer_rules": "tier:vip = 20%\nvisitors:returning = 10%\nvisitors:new = free_shipping",
    "default_offer": "", "copy_en_headline": "Wait!", "copy_en_body": "Take {offer} today.", "copy_en_cta": "Get it",
    "copy_en_consent": "", "copy_es_headline": "¡Espera!", "copy_es_body": "Llévate {offer} hoy.",
    "copy_es_cta": "Lo quiero", "copy_es_consent": "", "min_seconds": "5", "mobile_enabled": "on",
    "starts_at": "", "ends_at": "", "cap": "days", "cap_days": "3", "suppress_converted_days": "30",
    "code_mode": "unique", "shared_code": "", "code_ttl_hours": "72", "pool_size": "10", "codes_per_day": "50",
    "codes_per_ip_per_day": "2",
}


def test_without_a_merchant_session_the_screen_is_closed(client, shop):
    assert client.get("/admin/popups/").status_code == 401
    assert client.get("/admin/popups/", {"token": "forged"}).status_code == 403


def test_create_then_list_in_both_languages(merchant, shop):
    blank = merchant.get("/admin/popups/new/", {"lang": "es"}).content.decode()
    assert "Vista previa como la ve el cliente" in blank and "Cliente VIP" in blank and "csrfmiddlewaretoken" in blank
    response = merchant.post("/admin/popups/new/", FORM)
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.for_shop(shop).get()
    assert campaign.offer_rules[0] == {"when": "tier:vip", "kind": "percent", "value": 20.0}
    assert campaign.exclude_segments == ["tier:low"] and campaign.cap == "days" and campaign.cap_days == 3
    assert (campaign.codes_per_day, campaign.codes_per_ip_per_day) == (50, 2)
    edit = merchant.get(f"/admin/popups/{campaign.pk}/", {"lang": "es"}).content.decode()
    assert "Máximo de códigos al día para una misma dirección de internet" in edit
    assert 'name="codes_per_ip_per_day" value="2"' in edit
    fill_pool(campaign, per_offer=2)
    page = merchant.get("/admin/popups/", {"lang": "es"}).content.decode()
    assert "Popups de salida" in page and "Exit offer" in page and "Activa" in page
    assert cells(page) == {"ready": "6", "claimed": "0", "redeemed": "0", "shown": "0", "converted": "0"}
    assert "Entregados" in page and "Canjeados" in page
    english = merchant.get("/admin/popups/", {"lang": "en"}).content.decode()
    assert "Exit-intent popups" in english and "Claimed" in english and "Orders with the code" in english


def cells(html: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'<td data-col="(\w+)">([^<]*)</td>', html))


def test_the_list_shows_claimed_vs_redeemed_and_counts_orders_not_clicks_as_conversions(merchant, shop):
    from django.utils import timezone

    from backend.events.models import Event
    from backend.orders.models import Order

    from .factories import claim_code

    campaign = make_campaign(shop, offer_rules=[], default_offer={"kind": "percent", "value": 10})
    fill_pool(campaign, per_offer=5)
    codes = [claim_code(shop, f"visitor-{n}") for n in range(3)]
    for n in range(3):  # the shoppers clicked "Get my code": the storefront's own popup_converted events
        Event.objects.create(shop=shop, type="popup_shown", widget=campaign.widget, visitor_id=f"visitor-{n}")
        Event.objects.create(shop=shop, type="popup_converted", widget=campaign.widget, visitor_id=f"visitor-{n}")
    Order.objects.create(shop=shop, platform_id="7001", currency="EUR", processed_at=timezone.now(),
                         discount_codes=[codes[0]])
    page = merchant.get("/admin/popups/", {"lang": "en"}).content.decode()
    assert cells(page) == {"ready": "2", "claimed": "3", "redeemed": "1", "shown": "3", "converted": "1"}


def errors_shown(html: str) -> list[str]:
    """The error list as the merchant reads it."""
    import re

    from tests.dashboard.test_translations import visible_text

    block = re.search(r'<ul class="error" id="errors"[^>]*>(.*?)</ul>', html, re.S)
    return [visible_text(item) for item in re.findall(r"<li[^>]*>(.*?)</li>", block.group(1), re.S)] if block else []


def test_bad_input_is_shown_next_to_the_form_and_nothing_is_saved(merchant, shop):
    response = merchant.post("/admin/popups/new/", {**FORM, "offer_rules": "tier:vip = lots", "copy_es_cta": ""})
    assert response.status_code == 200
    assert errors_shown(response.content.decode()) == [
        "Offer rule 1: write it as a segment key, “=” and the offer, for example “tier:vip = 20%” or "
        "“visitors:new = free_shipping” (you wrote “tier:vip = lots”).",
        "Button (Spanish): this text is required."]  # every problem at once, not one round trip each
    assert not Campaign.objects.for_shop(shop).exists()
    response = merchant.post("/admin/popups/new/", {**FORM, "copy_es_cta": ""})
    assert errors_shown(response.content.decode()) == ["Button (Spanish): this text is required."]


def test_errors_are_sentences_in_the_page_language(merchant, shop):
    """A Spanish page refuses in Spanish, naming the field as the form does: no `offer_rules[0]`, no `copy.es.cta`."""
    html = merchant.post("/admin/popups/new/", {**FORM, "lang": "es", "offer_rules": "tier:vip = 95%",
                                                "copy_es_cta": "", "min_seconds": "0"}).content.decode()
    assert errors_shown(html) == [
        "Segundos mínimos en la página: escribe un número entero del 1 al 600.",
        "Regla de oferta 1: un descuento en porcentaje tiene que estar entre 1 y 90.",
        "Botón (Español): este texto es obligatorio."]
    from tests.dashboard.test_translations import visible_text

    assert "offer_rules" not in visible_text(html) and "copy.es" not in visible_text(html)
    assert not Campaign.objects.for_shop(shop).exists()


def test_live_preview_shows_what_new_returning_and_vip_shoppers_see(merchant, shop):
    html = merchant.post("/admin/popups/preview/", {**FORM, "lang": "en"}).content.decode()
    assert "Take free shipping today." in html and "Take 10 % off today." in html and "Take 20 % off today." in html
    excluded = merchant.post("/admin/popups/preview/", {**FORM, "exclude_segments": "tier:vip"}).content.decode()
    assert "Take 20 % off today." not in excluded and "No popup for this shopper." in excluded
    escaped = merchant.post("/admin/popups/preview/", {**FORM, "copy_en_headline": "<img src=x onerror=alert(1)>"})
    assert "<img src=x" not in escaped.content.decode() and "&lt;img" in escaped.content.decode()


def test_embedded_every_link_and_the_save_keep_the_session_token_and_language(client, shop):
    """Inside the Shopify admin there are no cookies: "New campaign", "Edit", "All campaigns", the nav and the
    redirect after saving must carry the session token, or the merchant lands on "Open this screen from your
    shop's admin"."""
    import re

    from tests.dashboard.factories import session_token

    token = session_token(shop)
    listing = client.get("/admin/popups/", {"id_token": token, "lang": "es"})
    html = listing.content.decode()
    assert listing.status_code == 200 and 'class="side"' in html and "<ui-nav-menu>" in html  # the cockpit frame
    new = re.search(r'<a href="([^"]+)" data-nav id="new-campaign">Nueva campaña</a>', html).group(1).replace(
        "&amp;", "&")
    assert f"id_token={token}" in new and "lang=es" in new
    editor = client.get(new)
    assert editor.status_code == 200 and "Vista previa como la ve el cliente" in editor.content.decode()
    assert f'name="id_token" value="{token}"' in editor.content.decode()
    assert "csrfmiddlewaretoken" not in editor.content.decode()

    saved = client.post("/admin/popups/new/", {**FORM, "id_token": session_token(shop), "lang": "es"})
    assert saved.status_code == 302 and "id_token=" in saved["Location"] and "lang=es" in saved["Location"]
    after = client.get(saved["Location"]).content.decode()
    assert "Guardado." in after
    back = re.search(r'<a href="([^"]+)" data-nav id="back">', after).group(1).replace("&amp;", "&")
    assert "id_token=" in back and "lang=es" in back
    listing = client.get(back).content.decode()
    edit = re.search(r'<a href="([^"]+)" data-nav>Editar</a>', listing).group(1).replace("&amp;", "&")
    assert "id_token=" in edit and client.get(edit).status_code == 200


def test_the_preview_answers_in_the_page_language(merchant, shop):
    """The editor names its page language in the preview's address; the fragment speaks it (personas, copy)."""
    import re

    shop.locale = "en"
    shop.save(update_fields=["locale"])
    editor = merchant.get("/admin/popups/new/", {"lang": "es"}).content.decode()
    url = re.search(r'id="preview" data-url="([^"]+)"', editor).group(1).replace("&amp;", "&")
    html = merchant.post(url, FORM).content.decode()
    assert "Visitante nuevo" in html and "Cliente VIP" in html and "Llévate envío gratis hoy." in html
    assert "New visitor" not in html
    excluded = merchant.post(url, {**FORM, "exclude_segments": "tier:vip"}).content.decode()
    assert "Este cliente no ve ningún popup." in excluded


def test_another_shops_campaign_is_a_404(merchant, shop, other_shop):
    theirs = make_campaign(other_shop)
    assert merchant.get(f"/admin/popups/{theirs.pk}/").status_code == 404
    mine = make_campaign(shop)
    page = merchant.get(f"/admin/popups/{mine.pk}/")
    assert page.status_code == 200 and "Take free shipping on this order." in page.content.decode()

"""A recipe step tags the customer on WooCommerce (a `personalize_tags` customer meta entry, written through the
REST API with the `woocommerce` package over real HTTP against the Woo stand-in): the other meta entries stay as
they were; when the merchant has made the app's key read-only the store refuses the write (401, as WooCommerce
does), the step waits with a clear status and the recipe screen offers to connect again read/write; after the
merchant reconnects through wc-auth, the tag appears on the store's customer."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from backend.customers.identities import resolve_customer
from backend.dashboard.auth import login_token
from backend.recipes import engine, tagging, triggers
from backend.recipes.definition import validate_steps
from backend.recipes.models import Recipe, RecipeRun, RecipeSettings, TagWrite
from backend.shops.models import Shop
from integrations.woocommerce import customer_tags
from tests.integrations.woocommerce.factories import connect_shop
from tests.integrations.woocommerce.test_connect import approve_link
from tests.recipes.factories import customer
from tests.standins.woocommerce import StoreSize, WooStandin

pytestmark = pytest.mark.django_db(transaction=True)

FIRST, SECOND = 3, 4  # WooCommerce customer ids in the stand-in (user 1 is the admin)


@pytest.fixture
def woo(settings):
    settings.WOOCOMMERCE_ALLOW_LOOPBACK_STORES = True
    settings.WOOCOMMERCE_BACKOFF_BASE = 0.01
    settings.WOOCOMMERCE_RETRIES = 2
    with WooStandin(StoreSize(products=6, customers=8, orders=10), retry_delays=(0.05, 0.1)) as store:
        yield store


@pytest.fixture
def woo_shop(woo):
    shop = connect_shop(woo)
    shop.scopes = "read_write"  # what wc-auth's callback reported (accept_keys records key_permissions)
    shop.save()
    return shop


def store_customer(shop, cid: int, email: str):
    row = customer(shop, email)
    row.platform_id = str(cid)
    row.save()
    return row


def meta(woo, cid: int) -> dict:
    return {m["key"]: m["value"] for m in woo.store.get_customer(cid)["meta_data"]}


def puts(woo) -> list[tuple[str, int]]:
    return [(path.split("?")[0], status) for method, path, status in woo.requests_log if method == "PUT"]


def test_tags_land_in_the_customer_meta_and_a_read_only_key_waits_for_a_reconnect(live_server, client, woo,
                                                                                   woo_shop, settings):
    settings.APP_URL = live_server.url
    shop = woo_shop
    woo.store.update_customer(FIRST, meta_data=[{"id": 1, "key": "loyalty_number", "value": "L-77"}])
    RecipeSettings.objects.create(shop=shop, quiet_start_hour=0, quiet_end_hour=0)
    recipe = Recipe.objects.create(shop=shop, key="tag-vips", name="Tag VIPs", trigger="segment_entered",
                                   trigger_config={"segment": "vip"}, enabled=True, steps=validate_steps([
                                       {"after_minutes": 0, "action": "tag", "tag": "VIP cliente", "mode": "add"},
                                       {"after_minutes": 60, "action": "tag", "tag": "vip CLIENTE",
                                        "mode": "remove"}]))
    start = timezone.now() - timedelta(minutes=1)
    ana = store_customer(shop, FIRST, "ana@example.com")
    run = triggers.enter(recipe, resolve_customer(ana), "entered:1", {}, now=start)
    assert engine.advance(run.pk) == engine.SENT
    assert meta(woo, FIRST) == {"loyalty_number": "L-77", "personalize_tags": "VIP cliente"}

    # A re-delivered step writes nothing; the same tag asked again is a no-op on the store's side too.
    before = len(puts(woo))
    RecipeRun.objects.for_shop(shop).filter(pk=run.pk).update(step=0, next_due_at=timezone.now())
    assert engine.advance(run.pk) == engine.DONE
    assert not customer_tags.change_tag(shop, str(FIRST), "vip cliente", "add")  # compared without case
    assert len(puts(woo)) == before

    # The second step removes it (whatever its case); the meta entry goes, loyalty_number stays.
    assert engine.advance(run.pk, now=start + timedelta(minutes=62)) == engine.SENT
    assert meta(woo, FIRST) == {"loyalty_number": "L-77"}

    # The merchant makes the app's key read-only in WooCommerce > Settings > Advanced > REST API.
    woo.keys[shop.access_token].permissions = "read"
    bea = store_customer(shop, SECOND, "bea@example.com")
    now = timezone.now()
    second = triggers.enter(recipe, resolve_customer(bea), "entered:2", {}, now=now - timedelta(minutes=1))
    assert engine.advance(second.pk, now=now) == engine.WAITING
    assert puts(woo)[-1] == (f"/wp-json/wc/v3/customers/{SECOND}", 401)
    shop.refresh_from_db()
    assert shop.scopes == "read"  # what the store's refusal says, recorded
    assert TagWrite.objects.for_shop(shop).get(run=second, step=0).status == TagWrite.Status.WAITING_SCOPE
    assert "personalize_tags" not in meta(woo, SECOND)

    # The recipe screen says so, in both languages, and offers to connect again read/write.
    assert client.get("/admin/recipes/", {"token": login_token(shop)}).status_code == 302
    page = client.get(f"/admin/recipes/{recipe.pk}/", {"lang": "es"}).content.decode()
    assert "Para etiquetar clientes hace falta una clave de API que pueda escribir en tu tienda WooCommerce" in page
    assert "Volver a conectar con acceso de lectura/escritura" in page and "1 esperando permiso" in page
    form = re.search(r'<form method="post" action="([^"]+)" target="_top" id="tag-grant-form">.*?'
                     r'name="store_url" value="([^"]+)"', page)
    assert form and form[1] == "/woocommerce/connect" and form[2] == woo.url
    english = client.get(f"/admin/recipes/{recipe.pk}/", {"lang": "en"}).content.decode()
    assert "Connect again with read/write access" in english
    assert "Until you grant it, the tag steps wait" in english

    # The merchant reconnects (wc-auth asks for read_write; the store posts the new key to our callback).
    browser = requests.Session()
    connect_page = browser.get(f"{live_server.url}/woocommerce/connect", params={"store_url": woo.url})
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', connect_page.text)[1]
    sent = browser.post(f"{live_server.url}{form[1]}", data={"store_url": form[2], "csrfmiddlewaretoken": token},
                        allow_redirects=False)
    assert sent.status_code == 302 and "scope=read_write" in sent.headers["Location"]
    authorize = browser.get(sent.headers["Location"])
    approved = browser.get(woo.url + approve_link(authorize.text), allow_redirects=False)
    assert approved.status_code == 302
    shop = Shop.objects.get(pk=shop.pk)
    assert shop.scopes == "read_write" and woo.keys[shop.access_token].permissions == "read_write"

    # The waiting step looks again at its next check, and goes through.
    assert engine.advance(second.pk, now=now + tagging.SCOPE_RECHECK) == engine.SENT
    assert meta(woo, SECOND)["personalize_tags"] == "VIP cliente"
    write = TagWrite.objects.for_shop(shop).get(run=second, step=0)
    assert write.status == TagWrite.Status.DONE and write.attempts == 2
    assert "Connect again" not in client.get(f"/admin/recipes/{recipe.pk}/", {"lang": "en"}).content.decode()


def test_a_recipe_with_a_tag_step_cannot_be_switched_on_with_a_read_only_key(client, woo, woo_shop):
    shop = woo_shop
    Shop.objects.filter(pk=shop.pk).update(scopes="read")
    recipe = Recipe.objects.create(shop=shop, key="tagger", name="Tagger", trigger="order_placed", enabled=False,
                                   steps=validate_steps([{"after_minutes": 0, "action": "tag", "tag": "comprador",
                                                          "mode": "add"}]))
    assert client.get("/admin/recipes/", {"token": login_token(shop)}).status_code == 302
    refused = client.post("/admin/recipes/?lang=en", {"action": "toggle", "recipe": recipe.pk})
    assert refused.status_code == 400 and "“Tagger” tags customers in your store" in refused.content.decode()
    recipe.refresh_from_db()
    assert not recipe.enabled


def test_a_customer_the_store_does_not_know_and_a_user_who_may_not_edit(woo, woo_shop):
    from integrations.base.errors import MissingScope

    with pytest.raises(customer_tags.TagRefused, match="not found"):
        customer_tags.change_tag(woo_shop, "99999", "vip", "add")
    key = woo.keys[woo_shop.access_token]
    woo.users_who_cannot_edit.add(key.user_id)
    with pytest.raises(MissingScope):
        customer_tags.change_tag(woo_shop, str(FIRST), "vip", "add")
    assert ("/wp-json/wc/v3/customers/3", 403) in puts(woo)

"""A recipe step tags the customer on Shopify, end to end over real HTTP against the Shopify stand-in: the install's
scopes do not include write_customers, so the stand-in refuses tagsAdd (ACCESS_DENIED) and the recipe screen asks
for the permission; the merchant grants it through Shopify's authorize page (verified like an install, the grant
recorded from the token's answer); then the tag appears on the stand-in's customer. Platform failures are retried
with back-off, then recorded failed with the reason; a re-delivered step is never sent twice."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.utils import timezone

from backend.customers.identities import resolve_customer
from backend.dashboard.auth import login_token
from backend.recipes import engine, tagging, triggers
from backend.recipes.definition import validate_steps
from backend.recipes.models import Recipe, RecipeRun, RecipeSettings, TagWrite
from integrations.base.errors import MissingScope
from integrations.shopify import customer_tags
from integrations.shopify.http import shopify_client
from tests.integrations.shopify.sync_support import install_from_token
from tests.recipes.factories import customer

pytestmark = pytest.mark.django_db


def store_customer(standin, shop, index: int, email: str):
    """Our Customer row for the stand-in's customer `index` (numeric platform id, as the sync stores it)."""
    gid = standin.store(shop.domain).customer(index)["id"]
    row = customer(shop, email)
    row.platform_id = gid.rsplit("/", 1)[1]
    row.save()
    return row


def grant_write(standin, shop):
    """As if the merchant had granted write_customers: a token with it, installed as the callback installs it."""
    token = standin.oauth.issue_offline_token(shop.domain, scopes=standin.oauth.scopes | {"write_customers"})
    return install_from_token(shop.domain, token)


def tags_on_platform(standin, shop, index: int) -> list[str]:
    return list(standin.store(shop.domain).customer_fields(index)["tags"])


@pytest.fixture
def merchant(client, standin_shop):
    assert client.get("/admin/recipes/", {"token": login_token(standin_shop)}).status_code == 302
    return client


@pytest.fixture
def tag_recipe(standin_shop):
    RecipeSettings.objects.create(shop=standin_shop, quiet_start_hour=0, quiet_end_hour=0)
    return Recipe.objects.create(shop=standin_shop, key="tag-vips", name="Tag VIPs", trigger="segment_entered",
                                 trigger_config={"segment": "vip"}, enabled=False, steps=validate_steps([
                                     {"after_minutes": 0, "action": "tag", "tag": "VIP cliente", "mode": "add"},
                                     {"after_minutes": 60, "action": "tag", "tag": "VIP cliente",
                                      "mode": "remove"}]))


def grant_through_shopify(merchant, standin, shop) -> None:
    """The merchant clicks "Grant permission in Shopify": our redirect, Shopify's authorize page, our callback."""
    asked = merchant.get("/shopify/grant", {"scope": "write_customers"})
    assert asked.status_code == 302
    location = asked["Location"]
    assert location.startswith(f"https://{shop.domain}/admin/oauth/authorize?")
    scopes = dict(parse_qsl(urlsplit(location).query))["scope"].split(",")
    assert "write_customers" in scopes and "read_orders" in scopes  # the install's scopes plus the one asked
    with shopify_client() as http:
        approved = http.get(location)
    assert approved.status_code == 302
    back = urlsplit(approved.headers["location"])
    assert back.path == "/shopify/callback"
    done = merchant.get("/shopify/callback?" + urlencode(dict(parse_qsl(back.query))))
    assert done.status_code == 302 and done["Location"].startswith(f"https://{shop.domain}/admin/apps/")


def test_without_the_scope_the_platform_refuses_and_the_screen_asks_then_the_grant_lets_the_tag_through(
        merchant, standin, standin_shop, tag_recipe):
    shop = standin_shop
    assert "write_customers" not in shop.scopes and "read_customers" in shop.scopes  # as the token said
    ana = store_customer(standin, shop, 3, "ana@example.com")
    before = tags_on_platform(standin, shop, 3)

    # Shopify itself refuses the write without the scope.
    with pytest.raises(MissingScope):
        customer_tags.change_tag(shop, ana.platform_id, "VIP cliente", "add")
    assert tags_on_platform(standin, shop, 3) == before

    # The recipe screen asks for the permission, in Spanish and in English, with Shopify's grant flow.
    page = merchant.get(f"/admin/recipes/{tag_recipe.pk}/", {"lang": "es"}).content.decode()
    assert "Para etiquetar clientes hace falta tu permiso para editar clientes en tu tienda Shopify" in page
    assert "Hasta que lo concedas, esta automatización no se puede activar." in page
    assert 'href="/shopify/grant?scope=write_customers' in page and 'target="_top"' in page
    english = merchant.get(f"/admin/recipes/{tag_recipe.pk}/", {"lang": "en"}).content.decode()
    assert "Grant permission in Shopify" in english and "Etiquetar al cliente" not in english
    assert "Tag the customer in my store" in english

    # It cannot be switched on until then.
    refused = merchant.post("/admin/recipes/?lang=en", {"action": "toggle", "recipe": tag_recipe.pk})
    assert refused.status_code == 400
    assert "“Tag VIPs” tags customers in your store, which needs your permission" in refused.content.decode()
    tag_recipe.refresh_from_db()
    assert not tag_recipe.enabled

    grant_through_shopify(merchant, standin, shop)
    shop.refresh_from_db()
    assert "write_customers" in shop.scopes.split(",")  # recorded from the token Shopify issued
    assert 'id="tag-grant"' not in merchant.get(f"/admin/recipes/{tag_recipe.pk}/").content.decode()
    assert merchant.post("/admin/recipes/", {"action": "toggle", "recipe": tag_recipe.pk}).status_code == 302
    tag_recipe.refresh_from_db()
    assert tag_recipe.enabled

    profile = resolve_customer(ana)
    start = timezone.now() - timedelta(minutes=1)
    run = triggers.enter(tag_recipe, profile, "entered:1", {}, now=start)
    assert engine.advance(run.pk) == engine.SENT
    assert tags_on_platform(standin, shop, 3) == [*before, "VIP cliente"]

    # A re-delivery of the same step (a stale worker, a broker re-delivery) is not sent to Shopify again.
    requests_before = standin.shops[shop.domain].graphql_requests
    RecipeRun.objects.for_shop(shop).filter(pk=run.pk).update(step=0, next_due_at=timezone.now())
    assert engine.advance(run.pk) == engine.DONE
    assert standin.shops[shop.domain].graphql_requests == requests_before
    assert tags_on_platform(standin, shop, 3) == [*before, "VIP cliente"]

    # An hour later the second step removes it.
    assert engine.advance(run.pk, now=start + timedelta(minutes=62)) == engine.SENT
    assert tags_on_platform(standin, shop, 3) == before
    run.refresh_from_db()
    assert run.state == RecipeRun.State.DONE
    status = merchant.get(f"/admin/recipes/{tag_recipe.pk}/", {"lang": "es"}).content.decode()
    assert "Pasos de etiqueta: 2 hechos, 0 esperando permiso, 0 reintentándose, 0 fallidos." in status


def test_a_customer_shopify_does_not_know_is_recorded_failed_with_the_reason(standin, standin_shop, tag_recipe):
    shop = grant_write(standin, standin_shop)
    Recipe.objects.for_shop(shop).filter(pk=tag_recipe.pk).update(enabled=True)
    tag_recipe.refresh_from_db()
    ghost = customer(shop, "ghost@example.com")
    ghost.platform_id = "999999999"
    ghost.save()
    run = triggers.enter(tag_recipe, resolve_customer(ghost), "entered:1", {},
                         now=timezone.now() - timedelta(minutes=1))
    assert engine.advance(run.pk) == engine.DONE  # refused: no retry can help, the run goes on
    write = TagWrite.objects.for_shop(shop).get(run=run, step=0)
    assert write.status == TagWrite.Status.FAILED and "Resource not found" in write.reason
    run.refresh_from_db()
    assert run.step == 1 and run.state == RecipeRun.State.ACTIVE
    assert tagging.status_counts(shop, tag_recipe)["failed"] == 1


def test_platform_outages_are_retried_with_back_off_then_recorded_failed(standin, standin_shop, tag_recipe,
                                                                          monkeypatch):
    monkeypatch.setattr("integrations.shopify.client.backoff_delay", lambda *a, **k: 0.0)
    shop = grant_write(standin, standin_shop)
    Recipe.objects.for_shop(shop).filter(pk=tag_recipe.pk).update(enabled=True)
    tag_recipe.refresh_from_db()
    ana = store_customer(standin, shop, 4, "ana4@example.com")
    now = timezone.now()
    run = triggers.enter(tag_recipe, resolve_customer(ana), "entered:1", {}, now=now - timedelta(minutes=1))
    # The client itself retries 5 times per attempt; every attempt of the step meets a 503.
    standin.fail_graphql(shop.domain, 503, count=5 * tagging.TAG_ATTEMPTS)
    waits = []
    for _attempt in range(1, tagging.TAG_ATTEMPTS):
        assert engine.advance(run.pk, now=now) == engine.WAITING
        run.refresh_from_db()
        waits.append(round((run.next_due_at - now).total_seconds() / 60))
        assert TagWrite.objects.for_shop(shop).get(run=run).status == TagWrite.Status.RETRYING
        now = run.next_due_at
    assert waits == [2, 4, 8, 16, 32]  # back-off doubles
    assert engine.advance(run.pk, now=now) == engine.DONE  # the last attempt fails too: recorded, moved on
    write = TagWrite.objects.for_shop(shop).get(run=run)
    assert write.status == TagWrite.Status.FAILED and write.attempts == tagging.TAG_ATTEMPTS
    assert "ServerError" in write.reason
    assert "VIP cliente" not in tags_on_platform(standin, shop, 4)
    run.refresh_from_db()
    assert run.step == 1


def test_a_scope_lost_after_switching_on_makes_the_step_wait_then_fail_with_the_reason(
        merchant, standin, standin_shop, tag_recipe):
    shop = standin_shop
    shop.scopes += ",write_customers"  # what we believed; the token Shopify holds does not have it
    shop.save()
    Recipe.objects.for_shop(shop).filter(pk=tag_recipe.pk).update(enabled=True)
    tag_recipe.refresh_from_db()
    ana = store_customer(standin, shop, 5, "ana5@example.com")
    now = timezone.now()
    run = triggers.enter(tag_recipe, resolve_customer(ana), "entered:1", {}, now=now - timedelta(minutes=1))
    assert engine.advance(run.pk, now=now) == engine.WAITING
    shop.refresh_from_db()
    assert "write_customers" not in shop.scopes and "read_customers" in shop.scopes  # Shopify's own answer
    write = TagWrite.objects.for_shop(shop).get(run=run)
    assert write.status == TagWrite.Status.WAITING_SCOPE
    run.refresh_from_db()
    assert run.next_due_at == now + tagging.SCOPE_RECHECK
    page = merchant.get(f"/admin/recipes/{tag_recipe.pk}/", {"lang": "en"}).content.decode()
    assert "Until you grant it, the tag steps wait" in page and "1 waiting for permission" in page
    # Nobody grants it: after three days it is recorded failed, and the run goes on.
    later = now + tagging.SCOPE_PATIENCE
    assert engine.advance(run.pk, now=later) == engine.DONE
    write.refresh_from_db()
    assert write.status == TagWrite.Status.FAILED and "not granted" in write.reason
    assert "VIP cliente" not in tags_on_platform(standin, shop, 5)


def test_a_scope_granted_on_shopifys_side_is_noticed_at_the_next_check(standin, standin_shop, tag_recipe):
    """The merchant may grant an optional scope in Shopify's admin, not through our page: a waiting step asks
    Shopify (accessScopes) at its next check, records the answer and goes through."""
    shop = standin_shop
    Recipe.objects.for_shop(shop).filter(pk=tag_recipe.pk).update(enabled=True)  # on before the scope was lost
    tag_recipe.refresh_from_db()
    ana = store_customer(standin, shop, 2, "ana2@example.com")
    now = timezone.now()
    run = triggers.enter(tag_recipe, resolve_customer(ana), "entered:1", {}, now=now - timedelta(minutes=1))
    requests_before = standin.shops[shop.domain].graphql_requests
    assert engine.advance(run.pk, now=now) == engine.WAITING  # the recorded grant lacks it: Shopify not asked
    assert standin.shops[shop.domain].graphql_requests == requests_before
    held = standin.oauth.tokens[shop.access_token]
    held.scopes = held.scopes | {"write_customers"}  # granted in Shopify's admin, on the token we hold
    assert engine.advance(run.pk, now=now + tagging.SCOPE_RECHECK) == engine.SENT
    shop.refresh_from_db()
    assert "write_customers" in shop.scopes.split(",")
    assert "VIP cliente" in tags_on_platform(standin, shop, 2)

"""The "add to / remove from an ad audience" step: it feeds an audience fed by automations, whose own sync sends the
difference to Meta (the stand-in, over real HTTP); nobody without marketing consent is ever sent, a step delivered
twice adds once, and the screen offers only this shop's such audiences."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from backend.audiences.hashing import sha256_hex
from backend.audiences.models import Audience, RecipeMember
from backend.audiences.presets import create_from_preset
from backend.audiences.tasks import run_due_audiences
from backend.customers.identities import profile_for
from backend.recipes import engine, triggers
from backend.recipes.models import Recipe
from tests.audiences.conftest import meta, meta_connection, meta_server  # noqa: F401 - the Meta stand-in
from tests.audiences.test_sync import shopper

pytestmark = pytest.mark.django_db
WEEK = 7 * 24 * 60


def test_a_recipe_adds_consenting_buyers_to_a_meta_audience_and_takes_them_out_a_week_later(
        shop, meta_connection, meta):  # noqa: F811
    audience = create_from_preset("from-automations", meta_connection)
    recipe = Recipe.objects.create(shop=shop, key="buyers-to-ads", name="Buyers to ads", trigger="order_placed",
                                   enabled=True, cooldown_hours=0, steps=[
                                       {"after_minutes": 0, "action": "audience", "audience": audience.pk,
                                        "mode": "add"},
                                       {"after_minutes": WEEK, "action": "audience", "audience": audience.pk,
                                        "mode": "remove"}])
    shop.timezone = "UTC"
    shop.save()
    from backend.recipes.models import RecipeSettings

    RecipeSettings.objects.create(shop=shop, quiet_start_hour=0, quiet_end_hour=0)  # no quiet hours here
    ana = profile_for(shop.pk, shopper(shop, "c1", "ana@example.com").pk)
    bob = profile_for(shop.pk, shopper(shop, "c2", "bob@example.com", marketing=False).pk)
    start = timezone.now()
    runs = [triggers.enter(recipe, who, f"order:{n}", {}, now=start) for n, who in enumerate((ana, bob))]

    assert [engine.advance(r.pk, now=start) for r in runs] == [engine.SENT, engine.DONE]
    assert engine.advance(runs[0].pk, now=start) == engine.WAITING  # delivered twice: still one member
    assert list(RecipeMember.objects.for_shop(shop).values_list("profile_id", flat=True)) == [ana.pk]
    assert run_due_audiences() == 1  # the step made the audience due: the beat sends it now
    remote = Audience.objects.for_shop(shop).get(pk=audience.pk).remote_id
    assert meta.emails(remote) == {sha256_hex("ana@example.com")}

    # Bob's consent can't be bypassed even if his row were there: the sync checks it again.
    RecipeMember.objects.create(shop=shop, audience=audience, profile_id=bob.pk)
    Audience.objects.for_shop(shop).filter(pk=audience.pk).update(next_run_at=timezone.now())
    run_due_audiences()
    assert meta.emails(remote) == {sha256_hex("ana@example.com")}

    with time_machine.travel(start + timedelta(minutes=WEEK, seconds=1), tick=False):  # a week on
        assert engine.advance(runs[0].pk) == engine.SENT
        assert not RecipeMember.objects.for_shop(shop).filter(profile_id=ana.pk).exists()
        assert run_due_audiences() == 1
    assert meta.emails(remote) == set()


def test_the_builder_offers_only_this_shops_audiences_fed_by_automations(client, shop, other_shop, meta):  # noqa: F811
    from backend.audiences.models import AdConnection
    from backend.dashboard.auth import login_token
    from backend.recipes.presets import enable_preset

    mine = create_from_preset("from-automations", AdConnection.objects.create(
        shop=shop, platform="meta", account_id=meta.account_id, access_token=meta.token))
    recency = create_from_preset("viewed-not-bought-7d", mine.connection)
    theirs = create_from_preset("from-automations", AdConnection.objects.create(
        shop=other_shop, platform="meta", account_id="act_9", access_token="t"))
    client.get("/admin/recipes/", {"token": login_token(shop)})
    recipe, _ = enable_preset(shop, "post-purchase")
    page = client.get(f"/admin/recipes/{recipe.pk}/", {"lang": "es"}).content.decode()
    assert "Añadir a un público publicitario o quitar de él" in page
    assert f'<option value="{mine.pk}"' in page and f'<option value="{recency.pk}"' not in page
    form = {"conditions": "", "cooldown_hours": "24", "step_wait": ["14", "15"], "step_unit": ["days", "days"],
            "step_action": ["email", "audience"], "step_template": ["order", ""], "step_url": ["", ""],
            "step_campaign": ["", ""], "step_tiers": ["", ""], "step_mode": ["", "add"]}
    for foreign in (theirs.pk, recency.pk):
        refused = client.post(f"/admin/recipes/{recipe.pk}/?lang=es", {**form, "step_audience": ["", foreign]})
        assert refused.status_code == 400
        assert "Elige uno de tus públicos publicitarios alimentados por automatizaciones" in \
            refused.content.decode()
    assert client.post(f"/admin/recipes/{recipe.pk}/", {**form, "step_audience": ["", mine.pk]}).status_code == 302
    recipe.refresh_from_db()
    assert recipe.steps[1] == {"after_minutes": 15 * 24 * 60, "action": "audience", "audience": mine.pk,
                               "mode": "add"}

"""A recipe step fires the app's Shopify Flow trigger through flowTriggerReceive on the Shopify stand-in, which
checks the handle and the payload against our flow_trigger extension's own TOML, as Flow does."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.customers.identities import resolve_customer
from backend.customers.models import CustomerProfile
from backend.recipes import engine, triggers
from backend.recipes.definition import validate_steps
from backend.recipes.models import Recipe, RecipeRun, RecipeSettings
from integrations.shopify import flow
from tests.recipes.factories import customer

pytestmark = pytest.mark.django_db


def test_a_flow_step_starts_the_merchants_workflow_with_the_customer(standin, standin_shop):
    RecipeSettings.objects.create(shop=standin_shop, quiet_start_hour=0, quiet_end_hour=0)
    recipe = Recipe.objects.create(shop=standin_shop, key="vip-welcome", name="VIP", trigger="segment_entered",
                                   enabled=True, steps=validate_steps([{"after_minutes": 0, "action": "flow"}]))
    ana = customer(standin_shop, "ana@example.com")
    ana.platform_id = "gid://shopify/Customer/7001"
    ana.save()
    profile = resolve_customer(ana)
    CustomerProfile.objects.for_shop(standin_shop).filter(pk=profile.pk).update(value_tier="vip")
    run = triggers.enter(recipe, profile, "entered:1", {}, now=timezone.now() - timedelta(minutes=1))
    assert engine.advance(run.pk) == engine.SENT
    assert standin.shops[standin_shop.domain].flow_triggers == [
        ("recipe-step-reached", {"customer_id": 7001, "Recipe": "vip-welcome", "Step": 1, "Value tier": "vip"})]
    run.refresh_from_db()
    assert run.state == RecipeRun.State.DONE


def test_flow_refuses_an_unknown_trigger_or_a_payload_off_its_fields(standin, standin_shop):
    with pytest.raises(flow.FlowRefused, match="not found"):
        flow.fire(standin_shop, "no-such-trigger", {"customer_id": 1})
    with pytest.raises(flow.FlowRefused, match="do not match"):
        flow.fire(standin_shop, flow.RECIPE_STEP_HANDLE, {"customer_id": 1, "Recipe": "x"})
    assert standin.shops[standin_shop.domain].flow_triggers == []

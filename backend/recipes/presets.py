"""Recipes a merchant turns on in one click; each one's timing stays editable afterwards (admin_views)."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.shops.models import Shop

from .models import Recipe

HOUR = 60
DAY = 24 * HOUR


@dataclass(frozen=True)
class Preset:
    name: object  # a lazy translation
    trigger: str
    steps: list[dict]
    exit_when: list[str] = field(default_factory=list)
    trigger_config: dict = field(default_factory=dict)
    cooldown_hours: int = 24 * 7


# Codes tiered by value: a bigger cart (or, for win-back, a more valuable customer) gets a bigger percent. Codes
# come from a popup campaign's pools (its caps apply); the merchant names the campaign on the recipe's page.
CART_TIERS = [{"min_value": 0, "percent": 5}, {"min_value": 100, "percent": 10}, {"min_value": 250, "percent": 15}]
WINBACK_TIERS = [{"min_value": 0, "percent": 10}, {"min_value": 500, "percent": 20}]

PRESETS: dict[str, Preset] = {
    "abandoned-cart": Preset(_("Abandoned cart"), Recipe.Trigger.CART_ABANDONED, [
        {"after_minutes": 1 * HOUR, "action": "email", "template": "cart"},
        {"after_minutes": 24 * HOUR, "action": "email", "template": "cart",
         "code": {"campaign": None, "tiers": CART_TIERS}},
        {"after_minutes": 72 * HOUR, "action": "email", "template": "cart"},
    ], exit_when=["ordered"]),
    "browse-abandonment": Preset(_("Browse abandonment"), Recipe.Trigger.BROWSE_ABANDONED, [
        {"after_minutes": 4 * HOUR, "action": "email", "template": "browse"},
    ], exit_when=["ordered", "carted"]),
    "post-purchase": Preset(_("Post-purchase cross-sell"), Recipe.Trigger.ORDER_PLACED, [
        {"after_minutes": 14 * DAY, "action": "email", "template": "order"},
    ], cooldown_hours=24),
    "win-back": Preset(_("Win-back"), Recipe.Trigger.DAYS_SINCE_LAST_ORDER, [
        {"after_minutes": 0, "action": "email", "template": "winback",
         "code": {"campaign": None, "tiers": WINBACK_TIERS}},
    ], exit_when=["ordered"], trigger_config={"days": 60}, cooldown_hours=24 * 90),
    "vip-welcome": Preset(_("Welcome to VIP"), Recipe.Trigger.SEGMENT_ENTERED, [
        {"after_minutes": 0, "action": "email", "template": "vip"},
    ], trigger_config={"segment": "vip"}, cooldown_hours=24 * 365),
    "first-order-anniversary": Preset(_("First order anniversary"), Recipe.Trigger.DATE_PROPERTY, [
        {"after_minutes": 0, "action": "email", "template": "anniversary"},
    ], trigger_config={"property": "first_order_at", "offset_days": 0, "yearly": True}, cooldown_hours=24 * 300),
}


def enable_preset(shop: Shop, key: str) -> tuple[Recipe, bool]:
    """The preset's recipe, created the first time and switched on; (recipe, created). Unknown key: KeyError."""
    preset = PRESETS[key]
    recipe, created = Recipe.objects.for_shop(shop).get_or_create(
        shop=shop, key=key, defaults={
            "name": str(preset.name), "trigger": preset.trigger, "trigger_config": dict(preset.trigger_config),
            "exit_when": list(preset.exit_when), "steps": copy.deepcopy(preset.steps),
            "cooldown_hours": preset.cooldown_hours})
    if not recipe.enabled:
        recipe.enabled = True
        recipe.enabled_at = timezone.now()
        # Scanned triggers start from now: turning win-back on must not mail everyone who ever lapsed at once.
        recipe.scan_cursor = recipe.enabled_at
        recipe.save()
    return recipe, created

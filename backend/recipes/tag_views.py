"""What the recipe screens say and refuse about tag steps (the rules are in tagging.py): a recipe that tags
customers is not switched on, nor saved while on, until the shop has granted the platform's write permission;
the recipe page offers the grant and reports how its tag steps went."""
from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _

from backend.dashboard.shell import link
from backend.shops.models import Shop

from . import tagging
from .models import Recipe


def needs_grant(shop: Shop, steps: list[dict]) -> bool:
    return tagging.needs_grant(shop, steps)


def toggle_refusal(shop: Shop, recipe: Recipe, name: str) -> list[str]:
    """Why the recipe may not be switched on now ([] when it may; switching off is always allowed)."""
    if recipe.enabled or not needs_grant(shop, recipe.steps):
        return []
    return [_("“%(name)s” tags customers in your store, which needs your permission to edit customers. Open the "
              "recipe to grant it, then switch the recipe on.") % {"name": name}]


def save_refusal(shop: Shop, recipe: Recipe, steps: list[dict]) -> list[str]:
    if not recipe.enabled or not needs_grant(shop, steps):
        return []
    return [_("This recipe is on and a step tags customers, which needs your permission to edit customers in "
              "your store. Grant it below, then save again (or switch the recipe off to save it as a draft).")]


def screen(request: HttpRequest, shop: Shop, recipe: Recipe, rows: list[dict]) -> dict:
    """Context for recipes/_tag_scope.html: the grant request when a shown or saved step tags customers and the
    permission is missing, and the saved tag steps' results."""
    shown = any(r.get("action") == "tag" for r in rows) or tagging.uses_tags(recipe.steps)
    grant = None
    if shown and not tagging.has_write_scope(shop):
        where = tagging.grant_link(shop)
        grant = {**where, "href": link(request, where["path"], scope=where.get("scope", ""))
                 if where["kind"] == "shopify" else where["path"]}
    status = tagging.status_counts(shop, recipe) if tagging.uses_tags(recipe.steps) else None
    return {"tag_grant": grant, "tag_status": status}

"""The audit trail read by a merchant: who did what to which thing, and each changed setting before → after, in
words of the page's language ("Show this widget: No → Yes"), never Python values, dict dumps or keys like popup:1.

The trail itself stays as recorded (backend/dashboard/audit.py); only its reading lives here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.shops.models import Shop

from .models import AuditEntry

ACTIONS = {
    "settings.update": gettext_lazy("Changed the settings"),
    "widget_rule.update": gettext_lazy("Changed a widget"),
    "experiment.create": gettext_lazy("Created an experiment"),
    "experiment.start": gettext_lazy("Started an experiment"),
    "experiment.stop": gettext_lazy("Stopped an experiment"),
    "experiment.promote": gettext_lazy("Chose an experiment's winner"),
    "segment.saved": gettext_lazy("Saved a segment"),
    "profile.unmerged": gettext_lazy("Split a merged customer profile"),
    "popup_campaign.saved": gettext_lazy("Saved a popup campaign"),
    "recipe.created": gettext_lazy("Created an automation"),
    "recipe.saved": gettext_lazy("Changed an automation"),
    "recipe.enabled": gettext_lazy("Turned on an automation"),
    "recipe.disabled": gettext_lazy("Turned off an automation"),
    "recipe.test_sent": gettext_lazy("Sent a test of an automation's email"),
    "recipes.settings_saved": gettext_lazy("Changed the rules for every automation"),
    "gdpr_export.download": gettext_lazy("Downloaded a customer's data export"),
    "complementary_rule.added": gettext_lazy("Added a product rule"),
    "complementary_rule.removed": gettext_lazy("Removed a product rule"),
    "product.rebuyable": gettext_lazy("Changed whether customers buy a product again"),
    "audience.synced": gettext_lazy("Synced an ad audience"),
    "audience.created": gettext_lazy("Created an ad audience"),
    "audience.updated": gettext_lazy("Changed an ad audience"),
    "audience.exported": gettext_lazy("Downloaded an ad audience"),
    "ad_connection.saved": gettext_lazy("Connected an ad account"),
    "audience_mapping.saved": gettext_lazy("Saved an audience"),
    "audience_mapping.removed": gettext_lazy("Removed an audience"),
}
FIELDS = {
    # settings
    "attribution_window_days": gettext_lazy("Attribution window (days)"),
    "data_retention_days": gettext_lazy("Keep storefront events for (days)"),
    "locale_override": gettext_lazy("Admin language"), "currency_override": gettext_lazy("Currency shown"),
    # widgets
    "enabled": gettext_lazy("Show this widget"), "title_en": gettext_lazy("Title (English)"),
    "title_es": gettext_lazy("Title (Spanish)"), "limit": gettext_lazy("Number of products"),
    "algorithm": gettext_lazy("Algorithm"), "min_stock": gettext_lazy("Minimum stock to show a product"),
    "excluded_products": gettext_lazy("Never show these products"),
    "excluded_collections": gettext_lazy("Never show products from these collections"),
    "pinned_products": gettext_lazy("Always show these first"),
    "rebuyable_products": gettext_lazy("Products customers buy again"),
    "placements": gettext_lazy("Show on these pages"), "layout": gettext_lazy("Layout"),
    "card_style": gettext_lazy("Card style"),
    # experiments
    "status": gettext_lazy("Status"), "target": gettext_lazy("Test"), "arms": gettext_lazy("Variants"),
    "metric": gettext_lazy("Primary metric"), "winner": gettext_lazy("Winner"),
    # segments, profiles, popups
    "name": gettext_lazy("Name"), "rules": gettext_lazy("Rule"), "is_active": gettext_lazy("Active"),
    "merged_into": gettext_lazy("Merged into"), "joined_by": gettext_lazy("joined by"),
    "priority": gettext_lazy("Priority"), "include_segments": gettext_lazy("Show to segments"),
    "exclude_segments": gettext_lazy("Never show to segments"), "offer_rules": gettext_lazy("Offers"),
    "default_offer": gettext_lazy("Default offer"), "mobile_enabled": gettext_lazy("Show on phones"),
    "starts_at": gettext_lazy("Starts"), "ends_at": gettext_lazy("Ends"),
    # product rules
    "source": gettext_lazy("When a shopper looks at"), "targets": gettext_lazy("Also show"),
    "rebuyable": gettext_lazy("Customers buy it again"),
    # ad audiences (a run's entry holds counts only)
    "members": gettext_lazy("People in the audience"), "added": gettext_lazy("People added"),
    "removed": gettext_lazy("People removed"), "size": gettext_lazy("People the destination holds"),
    "batches": gettext_lazy("Requests sent"), "trigger": gettext_lazy("Why it ran"),
    "resumed": gettext_lazy("Resumed a failed run"), "refresh_minutes": gettext_lazy("Refresh every (minutes)"),
    "purpose": gettext_lazy("Use"), "platform": gettext_lazy("Platform"), "account_id": gettext_lazy("Account"),
    "format": gettext_lazy("Format"),
    # audiences
    "customer_tag": gettext_lazy("Customer tag"), "product_tag": gettext_lazy("Product tag"),
}
# An automation's fields (its "enabled" is not a widget's).
RECIPE_FIELDS = {
    "enabled": gettext_lazy("On"), "steps": gettext_lazy("Steps"), "conditions": gettext_lazy("Conditions"),
    "exit_when": gettext_lazy("Stop the automation when"), "trigger_config": gettext_lazy("What starts it"),
    "cooldown_hours": gettext_lazy("Cool-down before the same person can enter again (hours)"),
}
_STATUS = {"draft": gettext_lazy("Draft"), "running": gettext_lazy("Running"), "stopped": gettext_lazy("Stopped"),
           "active": gettext_lazy("Active"), "paused": gettext_lazy("Paused"), "done": gettext_lazy("Done"),
           "failed": gettext_lazy("Failed")}
_TRIGGERS = {"schedule": gettext_lazy("Schedule"), "bulk": gettext_lazy("Segment changed"),
             "manual": gettext_lazy("Merchant"), "redaction": gettext_lazy("Customer data erased")}
_METRICS = {"conversion": gettext_lazy("Conversion rate"), "revenue_per_visitor": gettext_lazy("Revenue per visitor")}
_HIDDEN = {"widget", "algorithm_choices"}  # context, not settings a merchant changed
MAX_SHOWN = 200  # characters of one value: a long list reads as its start and a count


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class Line:
    entry: AuditEntry
    who: str
    what: str
    target: str
    changes: list[Change]


def who(actor: str) -> str:
    kind, _sep, rest = actor.partition(":")
    if kind == "user" and rest:
        return rest
    if kind == "shopify":
        return _("Shopify staff member %(id)s") % {"id": rest} if rest else _("Shopify staff member")
    if actor == "link":
        return _("One-time sign-in link")
    if actor in ("", "unknown", "session", "system"):
        return _("The app") if actor == "system" else _("A signed-in merchant")
    return actor


def _names(shop: Shop, entries: list[AuditEntry]) -> dict[str, str]:
    """Display names for every target on the page, one query per kind of thing."""
    from backend.experiments.models import Experiment
    from backend.popups.models import Campaign
    from backend.segments.models import Segment

    keys: dict[str, set[str]] = {}
    for e in entries:
        kind, _sep, key = e.target.partition(":")
        keys.setdefault(kind, set()).add(key)
    names: dict[str, str] = {}
    ids = {kind: [int(k) for k in found if k.isdecimal()] for kind, found in keys.items()}
    if ids.get("experiment"):
        for pk, name in Experiment.objects.for_shop(shop).filter(pk__in=ids["experiment"]).values_list("pk", "name"):
            names[f"experiment:{pk}"] = name
    if ids.get("popup"):
        for pk, name in Campaign.objects.for_shop(shop).filter(pk__in=ids["popup"]).values_list("pk", "name"):
            names[f"popup:{pk}"] = name
    if ids.get("audience"):
        from backend.audiences.models import Audience
        from backend.audiences.presets import display_name

        for a in Audience.objects.for_shop(shop).filter(pk__in=ids["audience"]).only("pk", "name", "preset"):
            names[f"audience:{a.pk}"] = display_name(a, translation.get_language() or "en")
    if ids.get("product"):
        from backend.catalog.models import Product

        for pk, title in Product.objects.for_shop(shop).filter(pk__in=ids["product"]).values_list("pk", "title"):
            names[f"product:{pk}"] = title
    if keys.get("segment"):
        for slug, name in Segment.objects.for_shop(shop).filter(slug__in=keys["segment"]).values_list("slug", "name"):
            names[f"segment:{slug}"] = name
    if keys.get("recipe"):
        from backend.recipes.admin_views import display_name as recipe_name
        from backend.recipes.models import Recipe

        for recipe in Recipe.objects.for_shop(shop).filter(key__in=keys["recipe"]).only("key", "name"):
            names[f"recipe:{recipe.key}"] = recipe_name(recipe)
    return names


def target_words(target: str, names: dict[str, str]) -> str:
    from backend.storefront.names import widget_name

    kind, _sep, key = target.partition(":")
    name = names.get(target)
    if kind == "widget":
        return _("Widget “%(name)s”") % {"name": widget_name(key)}
    if kind == "experiment":
        return _("Experiment “%(name)s”") % {"name": name} if name else _("A deleted experiment")
    if kind == "popup":
        return _("Popup campaign “%(name)s”") % {"name": name} if name else _("A deleted popup campaign")
    if kind == "segment":
        return _("Segment “%(name)s”") % {"name": name or key}
    if kind == "profile":
        return _("Customer profile %(id)s") % {"id": key}
    if kind == "export":
        return _("Data export %(id)s") % {"id": key}
    if kind == "product":
        return _("Product “%(name)s”") % {"name": name} if name else _("A deleted product")
    if kind == "audience":
        return _("Ad audience “%(name)s”") % {"name": name} if name else _("A deleted ad audience")
    if kind == "ad_connection":
        return _("%(platform)s ad account") % {"platform": {"meta": "Meta", "google": "Google"}.get(key, key)}
    if kind == "audience_mapping":
        return _("Audience “%(name)s”") % {"name": key}
    if kind == "recipe":
        return _("Automation “%(name)s”") % {"name": name} if name else _("A deleted automation")
    if target == "recipes:settings":
        return _("Rules for every automation")
    if target == "product_rules":
        return _("Product rules")
    if target == "settings":
        return _("Settings")
    return target


def value_words(field: str, value: Any, widget: str = "", lang: str = "en") -> str:
    """One recorded value as a merchant reads it."""
    if field == "algorithm" and widget and isinstance(value, str):  # "" is the recommended algorithm
        from backend.storefront.names import algorithm_name

        return algorithm_name(widget, value)
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if field in ("placements", "layout", "card_style"):
        from backend.storefront.names import placement_words

        return placement_words(value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if field == "locale_override":
        return {"es": "Español", "en": "English"}.get(str(value), str(value))
    if field == "status":
        return str(_STATUS.get(str(value), value))
    if field == "trigger":
        return str(_TRIGGERS.get(str(value), value))
    if field == "metric":
        return str(_METRICS.get(str(value), value))
    if field == "target" and isinstance(value, str):
        return target_words(value, {})
    if field == "steps" and isinstance(value, list):
        from backend.recipes.admin_views import steps_words

        return steps_words(value)
    if field == "exit_when" and isinstance(value, list):
        from backend.recipes.admin_views import EXIT_WORDS

        return ", ".join(str(EXIT_WORDS.get(v, v)) for v in value)
    if field in ("rules", "conditions") and isinstance(value, dict):
        from backend.segments.rules import RuleError, summarize, validate

        try:
            return summarize(validate(value), lang)
        except RuleError:
            pass
    if field == "arms" and isinstance(value, list):
        return ", ".join(str(a.get("key", "")) for a in value if isinstance(a, dict)) or "—"
    if field == "merged_into" and value:
        return _("Customer profile %(id)s") % {"id": value}
    if isinstance(value, list):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = ", ".join(f"{k}: {v}" for k, v in value.items())
    else:
        text = str(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def _changes(entry: AuditEntry, lang: str) -> list[Change]:
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    widget = str(after.get("widget") or before.get("widget") or entry.target.partition(":")[2])
    fields = [k for k in dict.fromkeys([*before, *after]) if k not in _HIDDEN and before.get(k) != after.get(k)]
    words = {**FIELDS, **RECIPE_FIELDS} if entry.action.startswith("recipe") else FIELDS
    return [Change(str(words.get(k, k.replace("_", " "))), value_words(k, before.get(k), widget, lang),
                   value_words(k, after.get(k), widget, lang)) for k in fields]


def read(shop: Shop, entries: list[AuditEntry], lang: str) -> list[Line]:
    names = _names(shop, entries)
    return [Line(e, who(e.actor), str(ACTIONS.get(e.action, e.action)), target_words(e.target, names),
                 _changes(e, lang)) for e in entries]

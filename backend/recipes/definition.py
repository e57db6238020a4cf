"""A recipe's parts as a merchant edits them, validated with reasons in es/en before they are saved."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from backend.emails.render import TEMPLATES
from backend.segments.rules import RuleError
from backend.segments.rules import validate as validate_rule

from .models import Recipe

MAX_STEPS = 6
MAX_AFTER_MINUTES = 365 * 24 * 60
EXITS = ("ordered", "carted")
ACTIONS = ("email", "webhook", "flow", "audience", "tag")
MAX_TIERS = 5
MAX_TIER_VALUE = 1_000_000
TAG_MAX_LENGTH = 255  # Shopify's limit on one tag (WooCommerce keeps ours in a meta value, no tighter limit)


class RecipeError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def number_words(value: Any) -> str:
    """A tier's number as typed (no exponent, no trailing zeros): 1000000, 12.5."""
    try:
        return f"{float(value):.2f}".rstrip("0").rstrip(".")
    except (TypeError, ValueError, OverflowError):  # an old or odd stored value: shown as it is
        return str(value)[:20]


def _tiers(raw: Any, where: str, errors: list[str]) -> list[dict]:
    """Code tiers by value: [{"min_value": 0, "percent": 10}, ...], each 1-90 %, stored ascending. The engine gives
    the highest tier reached and the lowest one below that, so the lowest starts at 0; a bigger value never gets a
    smaller percent, and no two tiers start at the same value."""
    if not isinstance(raw, list) or not raw or len(raw) > MAX_TIERS:
        errors.append(_("%(where)s: a code needs one to five tiers.") % {"where": where})
        return []
    tiers = []
    for tier in raw:
        try:
            low = Decimal(str(tier.get("min_value", 0))[:30].replace(",", "."))
            pct = Decimal(str(tier.get("percent"))[:30].replace(",", "."))
        except (AttributeError, InvalidOperation, TypeError):
            errors.append(_("%(where)s: each tier needs a minimum cart value and a percent.") % {"where": where})
            return []
        if not (low.is_finite() and pct.is_finite()) or low < 0 or not 1 <= pct <= 90:
            errors.append(_("%(where)s: a percent between 1 and 90, and a minimum value of 0 or more.")
                          % {"where": where})
            return []
        if low > MAX_TIER_VALUE:
            errors.append(_("%(where)s: a tier's minimum value must be at most 1,000,000.") % {"where": where})
            return []
        tiers.append({"min_value": float(round(low, 2)), "percent": float(round(pct, 2))})
    tiers.sort(key=lambda t: (t["min_value"], t["percent"]))
    if tiers[0]["min_value"] != 0:
        errors.append(_("%(where)s: the lowest tier must start at 0 (everyone below the next tier gets it).")
                      % {"where": where})
        return []
    for lower, higher in zip(tiers, tiers[1:], strict=False):
        value = number_words(higher["min_value"])
        if higher["min_value"] == lower["min_value"]:
            errors.append(_("%(where)s: two tiers start at the same value (%(value)s).")
                          % {"where": where, "value": value})
            return []
        if higher["percent"] < lower["percent"]:
            errors.append(_("%(where)s: the tier from %(value)s gives less than the tier below it; the percent must "
                            "not go down as the value goes up.") % {"where": where, "value": value})
            return []
    return tiers


def validate_steps(steps: Any) -> list[dict]:
    errors: list[str] = []
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        raise RecipeError([_("A recipe has one to %(n)s steps.") % {"n": MAX_STEPS}])
    clean: list[dict] = []
    previous = -1
    for n, step in enumerate(steps, start=1):
        where = _("Step %(n)s") % {"n": n}
        if not isinstance(step, dict):
            errors.append(_("%(where)s is not a step.") % {"where": where})
            continue
        try:
            after = int(step.get("after_minutes"))
        except (TypeError, ValueError, OverflowError):
            errors.append(_("%(where)s: the wait must be a whole number.") % {"where": where})
            continue
        if not 0 <= after <= MAX_AFTER_MINUTES:
            errors.append(_("%(where)s: the wait must be between 0 and 365 days.") % {"where": where})
        elif after <= previous:
            errors.append(_("%(where)s must come after the step before it.") % {"where": where})
        previous = after
        if step.get("action") == "webhook":
            url = str(step.get("url", "")).strip()
            if not url.startswith("https://") or len(url) > 1000:
                errors.append(_("%(where)s: the address to call must start with https://") % {"where": where})
            clean.append({"after_minutes": after, "action": "webhook", "url": url[:1000]})
            continue
        if step.get("action") == "audience":  # which audience is the shop's: checked by the screen and the engine
            audience = str(step.get("audience", ""))
            if not audience.isdigit() or len(audience) > 18 or step.get("mode") not in ("add", "remove"):
                errors.append(_("%(where)s: choose an audience fed by automations, and whether to add or remove.")
                              % {"where": where})
                continue
            clean.append({"after_minutes": after, "action": "audience", "audience": int(audience),
                          "mode": step["mode"]})
            continue
        if step.get("action") == "tag":
            tag, problem = clean_tag(step.get("tag"))
            if problem or step.get("mode") not in ("add", "remove"):
                errors.append(_("%(where)s: %(why)s") % {"where": where, "why": problem or _(
                    "choose whether to add or remove the tag.")})
                continue
            clean.append({"after_minutes": after, "action": "tag", "tag": tag, "mode": step["mode"]})
            continue
        if step.get("action") == "flow":  # the app's Shopify Flow trigger: nothing to configure
            clean.append({"after_minutes": after, "action": "flow"})
            continue
        if step.get("action", "email") not in ACTIONS or step.get("template") not in TEMPLATES:
            errors.append(_("%(where)s: unknown action or email.") % {"where": where})
            continue
        out = {"after_minutes": after, "action": "email", "template": step["template"]}
        code = step.get("code")
        if code:
            if not isinstance(code, dict):
                errors.append(_("%(where)s: the code settings are not valid.") % {"where": where})
            else:
                out["code"] = {"campaign": int(code["campaign"]) if str(code.get("campaign", "")).isdigit() else None,
                               "tiers": _tiers(code.get("tiers"), where, errors)}
        clean.append(out)
    if errors:
        raise RecipeError(errors)
    return clean


def clean_tag(raw: Any) -> tuple[str, str]:
    """(the tag, "") or ("", why not): one tag, 1 to 255 characters, no comma (the platforms read a comma as two
    tags), no control characters. Spaces at the ends are dropped, as the platforms drop them."""
    tag = str(raw or "").strip() if isinstance(raw, str | int) else ""
    if not tag:
        return "", _("write the tag.")
    if len(tag) > TAG_MAX_LENGTH:
        return "", _("a tag has at most %(n)s characters.") % {"n": TAG_MAX_LENGTH}
    if "," in tag:
        return "", _("one tag only, without commas (a comma would make two tags).")
    if any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 for c in tag):
        return "", _("the tag has characters that cannot be stored.")
    return tag, ""


def condition_errors(exc: RuleError) -> list[str]:
    """The rule tree's problems as sentences in the page's language, placed in words ("condition 2, value")."""
    from django.utils.translation import get_language

    from backend.segments.views import error_place

    lang = "es" if (get_language() or "en").startswith("es") else "en"
    places = [error_place(e["path"]) for e in exc.errors]
    return [_("Conditions: %(where)s: %(why)s") % {"where": place[:1].upper() + place[1:], "why": e[lang]}
            for place, e in zip(places, exc.errors, strict=True)]


def validate_recipe(trigger: str, trigger_config: Any, conditions: Any, exit_when: Any, steps: Any,
                    cooldown_hours: Any) -> dict:
    errors: list[str] = []
    if trigger not in Recipe.Trigger.values:
        errors.append(_("Unknown trigger."))
    config = trigger_config if isinstance(trigger_config, dict) else {}
    if trigger == Recipe.Trigger.DAYS_SINCE_LAST_ORDER:
        days = config.get("days")
        if not isinstance(days, int) or not 1 <= days <= 3650:
            errors.append(_("Days since the last order must be between 1 and 3650."))
    if trigger in (Recipe.Trigger.SEGMENT_ENTERED, Recipe.Trigger.SEGMENT_LEFT) and not str(
            config.get("segment", "")).strip():
        errors.append(_("Choose the segment whose new members enter the recipe."))
    if trigger == Recipe.Trigger.DATE_PROPERTY:
        from .triggers import DATE_PROPERTIES

        offset = config.get("offset_days")
        if config.get("property") not in DATE_PROPERTIES:
            errors.append(_("Choose the date the recipe counts from."))
        if not isinstance(offset, int) or isinstance(offset, bool) or not -365 <= offset <= 365:
            errors.append(_("The days before or after the date must be between -365 and 365."))
        config = {"property": config.get("property"), "offset_days": offset, "yearly": bool(config.get("yearly"))}
    rule: dict = {}
    if conditions and conditions not in ({"all": []}, {"any": []}):  # the builder with no rows: everyone
        try:
            rule = validate_rule(conditions)
        except RuleError as exc:
            errors += condition_errors(exc)
    exits = [e for e in (exit_when or []) if e in EXITS] if isinstance(exit_when, list) else []
    try:
        cooldown = int(cooldown_hours)
        if not 0 <= cooldown <= 24 * 365:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        errors.append(_("The cool-down must be between 0 and 8760 hours."))
        cooldown = 0
    try:
        clean_steps = validate_steps(steps)
    except RecipeError as exc:
        errors += exc.errors
        clean_steps = []
    if errors:
        raise RecipeError(errors)
    return {"trigger": trigger, "trigger_config": config, "conditions": rule, "exit_when": exits,
            "steps": clean_steps, "cooldown_hours": cooldown}

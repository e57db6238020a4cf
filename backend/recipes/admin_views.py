"""Merchant screens for recipes: the list (on/off, presets in one click, last 30 days' results, shop-wide rules),
a recipe's page (timing of each step, cool-down, code campaign), a step's email previewed as a chosen customer
would get it, and a test sent to the merchant. Every change goes to the audit log.

Acts for the signed-in shop (screen_shop, as the popups screens); a recipe id from another shop is a 404.
"""
from __future__ import annotations

import json
import unicodedata
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_http_methods

from backend.core.json_input import parse_json
from backend.customers.identities import normalise_email
from backend.customers.models import CustomerProfile, Identity
from backend.dashboard import audit
from backend.dashboard.auth import csrf_unless_session_token, screen_shop
from backend.dashboard.language import page_lang
from backend.dashboard.shell import link
from backend.emails import sending
from backend.emails.language import language_for
from backend.emails.render import Rendered, render_email
from backend.events.models import Event, EventType
from backend.orders.models import Order
from backend.popups.models import Campaign
from backend.segments.models import Segment
from backend.segments.presets import display_name as segment_name
from backend.segments.presets import ensure_presets
from backend.segments.views import builder_context
from backend.shops.models import Shop
from backend.storefront.pricing import format_price

from . import reports, tag_views
from .definition import MAX_TIERS, RecipeError, number_words, validate_recipe
from .engine import settings_for
from .models import Recipe, RecipeSettings
from .presets import PRESETS, enable_preset

TRIGGER_WORDS = {
    Recipe.Trigger.CART_ABANDONED: gettext_lazy("A shopper adds to cart and does not order"),
    Recipe.Trigger.BROWSE_ABANDONED: gettext_lazy("A shopper views products and adds nothing to cart"),
    Recipe.Trigger.ORDER_PLACED: gettext_lazy("An order is placed"),
    Recipe.Trigger.DAYS_SINCE_LAST_ORDER: gettext_lazy("Days since the last order reached"),
    Recipe.Trigger.SEGMENT_ENTERED: gettext_lazy("A customer enters a segment"),
    Recipe.Trigger.SEGMENT_LEFT: gettext_lazy("A customer leaves a segment"),
    Recipe.Trigger.DATE_PROPERTY: gettext_lazy("A date of the customer comes round"),
}
DATE_WORDS = {"first_order_at": gettext_lazy("Their first order"), "first_seen_at": gettext_lazy("Their first visit")}
LABELS = {
    "quiet_start_hour": gettext_lazy("From hour"), "quiet_end_hour": gettext_lazy("To hour"),
    "cap_emails": gettext_lazy("At most this many emails to one person"),
    "cap_hours": gettext_lazy("Within this many hours"),
    "attribution_days": gettext_lazy("Attribution window (days after a click)"),
    "from_email": gettext_lazy("Sender address (empty: the app's)"), "test_email": gettext_lazy("Send tests to"),
}
SETTINGS_FIELDS = ("quiet_start_hour", "quiet_end_hour", "cap_emails", "cap_hours", "attribution_days")


def display_name(recipe: Recipe) -> str:
    """A preset's name in the page language (stored names are in whatever language enabled it)."""
    preset = PRESETS.get(recipe.key)
    return str(preset.name) if preset is not None else recipe.name


def _shop(request: HttpRequest) -> Shop | HttpResponse:
    return screen_shop(request)


def _recipe(shop: Shop, pk: int) -> Recipe:
    recipe = Recipe.objects.for_shop(shop).filter(pk=pk).first()
    if recipe is None:
        raise Http404("no such recipe")
    return recipe


def _snapshot(recipe: Recipe) -> dict:
    return {"enabled": recipe.enabled, "steps": recipe.steps, "cooldown_hours": recipe.cooldown_hours,
            "trigger_config": recipe.trigger_config, "conditions": recipe.conditions, "exit_when": recipe.exit_when}


def _settings_snapshot(row: RecipeSettings) -> dict:
    return {f: getattr(row, f) for f in (*SETTINGS_FIELDS, "from_email", "test_email")}


def _save_settings(request: HttpRequest, shop: Shop) -> list[str]:
    row = settings_for(shop)
    before = _settings_snapshot(row)
    errors = []
    limits = {"quiet_start_hour": (0, 23), "quiet_end_hour": (0, 23), "cap_emails": (1, 20),
              "cap_hours": (1, 24 * 30), "attribution_days": (1, 30)}
    for name, (low, high) in limits.items():
        try:
            value = int(request.POST.get(name, ""))
            if not low <= value <= high:
                raise ValueError
            setattr(row, name, value)
        except ValueError:
            errors.append(_("%(field)s must be a whole number from %(low)s to %(high)s.") % {
                "field": LABELS[name], "low": low, "high": high})
    for name in ("from_email", "test_email"):
        raw = request.POST.get(name, "").strip()
        if raw and not normalise_email(raw):
            errors.append(_("%(field)s is not an email address.") % {"field": LABELS[name]})
        else:
            setattr(row, name, raw[:320])
    if not errors:
        row.save()
        audit.record(shop, request, "recipes.settings_saved", "recipes:settings", before, _settings_snapshot(row))
    return errors


@csrf_unless_session_token
@require_http_methods(["GET", "POST"])
def recipe_list(request: HttpRequest) -> HttpResponse:
    shop = _shop(request)
    if isinstance(shop, HttpResponse):
        return shop
    lang = page_lang(request, shop)
    errors: list[str] = []
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "enable_preset" and request.POST.get("preset") in PRESETS:
            recipe, _created = enable_preset(shop, request.POST["preset"])
            audit.record(shop, request, "recipe.enabled", f"recipe:{recipe.key}", None, _snapshot(recipe))
            return HttpResponseRedirect(link(request, "/admin/recipes/"))
        if action == "toggle":
            raw = request.POST.get("recipe", "")
            errors = _toggle(request, shop, _recipe(shop, int(raw) if raw.isdigit() and len(raw) < 19 else 0))
            if not errors:
                return HttpResponseRedirect(link(request, "/admin/recipes/"))
        elif action == "settings":
            errors = _save_settings(request, shop)
            if not errors:
                return HttpResponseRedirect(link(request, "/admin/recipes/", saved=1))
        elif action != "enable_preset":
            errors = [_("Unknown action.")]
    results = reports.last_days(shop)
    recipes = list(Recipe.objects.for_shop(shop).order_by("pk"))
    have = {r.key for r in recipes}
    rows = []
    for r in recipes:
        res = results.get(r.pk, reports.Results())
        rows.append({"recipe": r, "name": display_name(r), "trigger": TRIGGER_WORDS.get(r.trigger, r.trigger),
                     "results": res, "revenue": format_price(res.revenue, shop.currency, lang, shop.locale),
                     "href": link(request, f"/admin/recipes/{r.pk}/"),
                     "timing": ", ".join(_after_words(s["after_minutes"]) for s in r.steps)})
    presets = [{"key": k, "name": p.name, "trigger": TRIGGER_WORDS[p.trigger],
                "timing": ", ".join(_after_words(s["after_minutes"]) for s in p.steps)}
               for k, p in PRESETS.items() if k not in have]
    return render(request, "recipes/list.html", {
        "shop": shop, "lang": lang, "title": _("Automations"), "rows": rows, "presets": presets,
        "settings": settings_for(shop), "errors": errors, "saved": request.GET.get("saved") == "1",
        "currency": shop.currency, "action": "/admin/recipes/", "esp": _esp_snippets(shop),
        "new_href": link(request, "/admin/recipes/new/")}, status=400 if errors else 200)


def _toggle(request: HttpRequest, shop: Shop, recipe: Recipe) -> list[str]:
    """On becomes off; off becomes on only for a recipe the engine can run (one from scratch has no steps until
    its builder saves some). Audited; the refusal as sentences."""
    before = _snapshot(recipe)
    if not recipe.enabled:
        name = display_name(recipe)
        # A recipe that tags customers is not switched on without the platform's permission (tagging.py).
        refused_tags = tag_views.toggle_refusal(shop, recipe, name)
        if refused_tags:
            return refused_tags
        if not recipe.steps:
            return [_("“%(name)s” has no steps yet: add at least one in its builder and save before turning it "
                      "on.") % {"name": name}]
        try:
            validate_recipe(recipe.trigger, recipe.trigger_config, recipe.conditions, recipe.exit_when,
                            recipe.steps, recipe.cooldown_hours)
        except RecipeError as refused:
            return [_("“%(name)s” cannot be turned on yet: %(why)s") % {"name": name, "why": why}
                    for why in refused.errors]
        # A campaign's offers may have changed since the builder saved: a tier it has no codes for gives none.
        pools = _tier_pool_errors(shop, recipe.steps)
        if pools:
            return [_("“%(name)s” cannot be turned on yet: %(why)s") % {"name": name, "why": why} for why in pools]
        # Scanned triggers start from now (as a preset turned on does): no backlog of everyone who lapsed while off.
        recipe.enabled_at = recipe.scan_cursor = timezone.now()
    recipe.enabled = not recipe.enabled
    recipe.save(update_fields=["enabled", "enabled_at", "scan_cursor", "updated_at"])
    audit.record(shop, request, "recipe.enabled" if recipe.enabled else "recipe.disabled",
                 f"recipe:{recipe.key}", before, _snapshot(recipe))
    return []


# What a recipe from scratch starts with, per trigger: settings its builder shows and the merchant then edits.
NEW_TRIGGER_CONFIG: dict[str, dict] = {
    Recipe.Trigger.DAYS_SINCE_LAST_ORDER: {"days": 60},
    Recipe.Trigger.SEGMENT_ENTERED: {"segment": ""},
    Recipe.Trigger.SEGMENT_LEFT: {"segment": ""},
    Recipe.Trigger.DATE_PROPERTY: {"property": "first_order_at", "offset_days": 0, "yearly": True},
}
# As the presets with these triggers: an order ends a reminder or a win-back (an order-placed run keeps going).
NEW_EXITS = {Recipe.Trigger.CART_ABANDONED: ["ordered"], Recipe.Trigger.BROWSE_ABANDONED: ["ordered", "carted"],
             Recipe.Trigger.DAYS_SINCE_LAST_ORDER: ["ordered"]}
MAX_NAME = 120


def _create_recipe(request: HttpRequest, shop: Shop) -> tuple[Recipe | None, list[str]]:
    """A recipe from scratch: the trigger and name the merchant chose, switched off and without steps until its
    builder saves some. Audited; (None, refusals) when the form is refused."""
    trigger = request.POST.get("trigger", "")
    # Runs of spaces become one; control and format characters (NUL, bidi overrides) go.
    words = ("".join(c for c in word if unicodedata.category(c)[0] != "C")
             for word in request.POST.get("name", "")[:MAX_NAME * 4].split())
    name = " ".join(w for w in words if w)
    errors = []
    if trigger not in Recipe.Trigger.values:
        errors.append(_("Choose what starts the automation."))
    if not name:
        errors.append(_("Give the automation a name."))
    elif len(name) > MAX_NAME:
        errors.append(_("The name can be at most %(n)s characters.") % {"n": MAX_NAME})
    elif any(name.casefold() in (r.name.casefold(), display_name(r).casefold())
             for r in Recipe.objects.for_shop(shop)):
        errors.append(_("You already have an automation called “%(name)s”.") % {"name": name})
    if errors:
        return None, errors
    base = f"custom-{slugify(name)[:40].strip('-') or 'recipe'}"  # "custom-": never a preset's key
    for n in range(1, 1000):
        key = base if n == 1 else f"{base}-{n}"
        if Recipe.objects.for_shop(shop).filter(key=key).exists():
            continue
        try:
            with transaction.atomic():
                recipe = Recipe.objects.create(
                    shop=shop, key=key, name=name, trigger=trigger, enabled=False, steps=[],
                    trigger_config=dict(NEW_TRIGGER_CONFIG.get(trigger, {})),
                    exit_when=list(NEW_EXITS.get(trigger, [])))
        except IntegrityError:  # the same key created meanwhile: the next number
            continue
        audit.record(shop, request, "recipe.created", f"recipe:{recipe.key}", None,
                     {"name": recipe.name, "trigger": recipe.trigger, **_snapshot(recipe)})
        return recipe, []
    return None, [_("Too many automations with this name: choose another.")]


@csrf_unless_session_token
@require_http_methods(["GET", "POST"])
def recipe_new(request: HttpRequest) -> HttpResponse:
    """A recipe from scratch: what starts it and its name; then its builder, where the steps are added."""
    shop = _shop(request)
    if isinstance(shop, HttpResponse):
        return shop
    lang = page_lang(request, shop)
    errors: list[str] = []
    if request.method == "POST":
        recipe, errors = _create_recipe(request, shop)
        if recipe is not None:
            return HttpResponseRedirect(link(request, f"/admin/recipes/{recipe.pk}/", created=1))
    chosen = request.POST.get("trigger", "")
    return render(request, "recipes/new.html", {
        "shop": shop, "lang": lang, "title": _("New automation"), "errors": errors,
        "triggers": [(value, word, value == chosen) for value, word in TRIGGER_WORDS.items()],
        "name": request.POST.get("name", "")[:MAX_NAME * 2], "max_name": MAX_NAME,
        "action": "/admin/recipes/new/", "back_href": link(request, "/admin/recipes/")},
        status=400 if errors else 200)


def _esp_snippets(shop: Shop) -> dict[str, str]:
    """Copy-paste for merchants who send with their own ESP: the feed their ESP fetches at send time per customer,
    and a block for their template that shows its four slots (images drawn when the email is opened)."""
    from django.conf import settings as django_settings

    from backend.emails.openblocks import feed_key

    feed = f"{django_settings.APP_URL}/email/{shop.public_key}/feed.json?key={feed_key(shop)}&email="
    block = "\n".join(f'<a href="{{{{ feed.products.{n}.click }}}}"><img src="{{{{ feed.products.{n}.image }}}}" '
                      f'width="300" alt=""></a>' for n in range(4))
    return {"klaviyo": feed + "{{ person.email|urlencode }}", "mailchimp": feed + "*|URL:EMAIL|*", "block": block}


def _after_words(minutes: int) -> str:
    if minutes == 0:
        return _("at once")
    if minutes % (24 * 60) == 0:
        return _("%(n)s d") % {"n": minutes // (24 * 60)}
    if minutes % 60 == 0:
        return _("%(n)s h") % {"n": minutes // 60}
    return _("%(n)s min") % {"n": minutes}


STEP_FIELDS = ("step_wait", "step_unit", "step_action", "step_template", "step_url", "step_campaign", "step_tiers",
               "step_audience", "step_mode", "step_tag", "step_tag_mode")
# A form from before audience or tag steps existed may lack their fields.
OPTIONAL_STEP_FIELDS = ("step_audience", "step_mode", "step_tag", "step_tag_mode")
UNIT_MINUTES = {"hours": 60, "days": 24 * 60}
MAX_STEPS_SHOWN = 10
TIER_SLOTS = MAX_TIERS  # tier rows each step shows (and posts): blank ones are not used
MAX_CONDITIONS_BYTES = 16 * 1024
ACTION_WORDS = {"email": gettext_lazy("Send an email"), "webhook": gettext_lazy("Call my URL (signed JSON)"),
                "flow": gettext_lazy("Start a Shopify Flow"),
                "audience": gettext_lazy("Add to or remove from an ad audience"),
                "tag": gettext_lazy("Tag the customer in my store")}
MODE_WORDS = {"add": gettext_lazy("Add them"), "remove": gettext_lazy("Remove them")}
TAG_MODE_WORDS = {"add": gettext_lazy("Add the tag"), "remove": gettext_lazy("Remove the tag")}
TEMPLATE_WORDS = {"cart": gettext_lazy("Cart reminder"), "browse": gettext_lazy("Products they viewed"),
                  "order": gettext_lazy("Goes well with their order"), "winback": gettext_lazy("We miss you"),
                  "vip": gettext_lazy("Welcome to VIP"), "anniversary": gettext_lazy("Anniversary")}
EXIT_WORDS = {"ordered": gettext_lazy("They place an order"), "carted": gettext_lazy("They add to cart")}


def _default_tiers(template: str) -> list[dict]:
    from .presets import CART_TIERS, WINBACK_TIERS

    return [dict(t) for t in (CART_TIERS if template in ("cart", "browse") else WINBACK_TIERS)]


def _columns(post: dict) -> list[list[str]]:
    columns = [post.getlist(name)[:20] for name in STEP_FIELDS]
    steps = len(columns[0])
    return [c if c or name not in OPTIONAL_STEP_FIELDS else [""] * steps for name, c in zip(STEP_FIELDS, columns,
                                                                                             strict=True)]


def _recipe_audiences(shop: Shop) -> list[tuple[int, str]]:
    """The shop's ad audiences that recipe steps feed (the audiences screen creates them from a preset)."""
    from backend.audiences.models import Audience

    return list(Audience.objects.for_shop(shop).filter(source=Audience.Source.RECIPES).order_by("pk")
                .values_list("pk", "name"))


def _tier_chunks(post: dict, steps: int) -> list[list[tuple[str, str]] | None] | None:
    """Each step's tier rows as typed ((from value, percent) × TIER_SLOTS per step, in step order); None for every
    step when the form has no tier rows (the hidden JSON then counts), None overall when they don't line up."""
    mins, pcts = post.getlist("tier_min")[:20 * TIER_SLOTS + 1], post.getlist("tier_percent")[:20 * TIER_SLOTS + 1]
    if not mins and not pcts:
        return [None] * steps
    if len(mins) != steps * TIER_SLOTS or len(pcts) != steps * TIER_SLOTS:
        return None
    rows = [(m.strip()[:30], p.strip()[:30]) for m, p in zip(mins, pcts, strict=True)]
    return [rows[n * TIER_SLOTS:(n + 1) * TIER_SLOTS] for n in range(steps)]


def _typed_tiers(rows: list[tuple[str, str]]) -> list[dict]:
    """The filled tier rows (an empty row is one not used); a half-filled row is kept for validation to refuse."""
    return [{"min_value": low, "percent": pct} for low, pct in rows if low or pct]


def _form_steps(post: dict) -> list[dict] | None:
    """The steps as the builder sent them (one value per step in each repeated field, in the order shown), in the
    stored shape; validated afterwards. None when the lists don't line up (not a form this page sends)."""
    columns = _columns(post)
    if len({len(c) for c in columns}) != 1:
        return None
    chunks = _tier_chunks(post, len(columns[0]))
    if chunks is None:
        return None
    steps = []
    for (wait, unit, action, template, url, campaign, tiers, audience, mode, tag, tag_mode), typed in zip(
            zip(*columns, strict=True), chunks, strict=True):
        try:
            minutes: int | None = round(float(wait) * UNIT_MINUTES.get(unit, 60))
        except (ValueError, OverflowError):  # "", "abc", "nan", "inf": refused by validation below
            minutes = None
        step: dict = {"after_minutes": minutes, "action": action}
        if action == "webhook":
            step["url"] = url
        elif action == "audience":
            step["audience"], step["mode"] = audience, mode
        elif action == "tag":
            step["tag"], step["mode"] = tag[:1000], tag_mode
        elif action == "email":
            step["template"] = template
            if campaign.isdigit() and len(campaign) < 19 and typed is not None:
                step["code"] = {"campaign": int(campaign), "tiers": _typed_tiers(typed)}
            elif campaign.isdigit() and len(campaign) < 19:
                try:
                    kept = json.loads(tiers[:2000]) if tiers else None
                except (ValueError, RecursionError):  # not what the page put there: the template's tiers
                    kept = None
                step["code"] = {"campaign": int(campaign), "tiers": kept or _default_tiers(template)}
        steps.append(step)
    return steps


def _wait_of(minutes: int) -> tuple[str, str]:
    """A stored offset as the builder shows it: whole days in days, anything else in hours."""
    if minutes and minutes % (24 * 60) == 0:
        return str(minutes // (24 * 60)), "days"
    return f"{minutes / 60:g}", "hours"


def _step_rows(request: HttpRequest, recipe: Recipe, steps: list[dict]) -> list[dict]:
    rows = []
    for n, step in enumerate(steps):
        wait, unit = _wait_of(int(step.get("after_minutes", 0)))
        code = step.get("code") or {}
        rows.append({"n": n, "number": n + 1, "wait": wait, "unit": unit, "action": step.get("action", "email"),
                     "template": step.get("template", "cart"), "url": step.get("url", ""),
                     "campaign": code.get("campaign"), "tiers": json.dumps(code["tiers"]) if code.get("tiers") else "",
                     "audience": step.get("audience"), "mode": step.get("mode", "add"),
                     "tag": step.get("tag", ""), "tag_mode": step.get("mode", "add"),
                     "is_email": "template" in step, "tier_words": _tier_words(code.get("tiers") or []),
                     "tier_rows": _tier_rows(code.get("tiers") or _default_tiers(step.get("template", "cart"))),
                     "preview_href": link(request, f"/admin/recipes/{recipe.pk}/preview/", step=n)})
    return rows


def _tier_words(tiers: list[dict]) -> str:
    return ", ".join(_("%(pct)s %% from %(value)s") % {"pct": number_words(t["percent"]),
                                                      "value": number_words(t["min_value"])}
                     for t in tiers if isinstance(t, dict) and "percent" in t and "min_value" in t)


def steps_words(steps: list) -> str:
    """A recipe's steps as the Activity screen reads them: "1 h: Send an email (Cart reminder), code 10 % from 0"."""
    parts = []
    for step in steps[:MAX_STEPS_SHOWN]:
        if not isinstance(step, dict):
            continue
        try:
            when = _after_words(int(step.get("after_minutes") or 0))
        except (TypeError, ValueError, OverflowError):
            when = "?"
        what = str(ACTION_WORDS.get(step.get("action"), step.get("action")))
        if step.get("template"):
            what += f" ({TEMPLATE_WORDS.get(step['template'], step['template'])})"
        code = step.get("code") if isinstance(step.get("code"), dict) else {}
        if code.get("campaign") and isinstance(code.get("tiers"), list):
            what += ", " + _("code %(tiers)s") % {"tiers": _tier_words(code["tiers"])}
        parts.append(f"{when}: {what}")
    return "; ".join(parts) or "—"


def _tier_rows(tiers: list[dict]) -> list[dict]:
    """A step's tiers as the builder's TIER_SLOTS rows (blank rows to add tiers in)."""
    rows = [{"min_value": number_words(t["min_value"]), "percent": number_words(t["percent"])}
            for t in tiers[:TIER_SLOTS] if isinstance(t, dict) and "percent" in t and "min_value" in t]
    return rows + [{"min_value": "", "percent": ""}] * (TIER_SLOTS - len(rows))


def _posted_rows(post: dict) -> list[dict]:
    """A refused form shown again as the merchant left it."""
    def number(raw: str) -> int | None:
        return int(raw) if raw.isdigit() and len(raw) < 19 else None

    columns = _columns(post)
    typed = _tier_chunks(post, len(columns[0])) or []
    rows = [{"n": n, "number": n + 1, "wait": w, "unit": u, "action": a, "template": t, "url": url,
             "campaign": number(c), "tiers": tiers, "tier_words": "", "audience": number(aud), "mode": mode,
             "tag": tag[:300], "tag_mode": tag_mode, "tier_rows": _tier_rows(_default_tiers(t))}
            for n, (w, u, a, t, url, c, tiers, aud, mode, tag, tag_mode) in enumerate(zip(*columns, strict=False))]
    for row, chunk in zip(rows, typed, strict=False):
        if chunk:
            row["tier_rows"] = [{"min_value": low, "percent": pct} for low, pct in chunk]
    return rows


def _parse_conditions(raw: str) -> tuple[object, list[str]]:
    if not raw.strip():
        return {}, []
    try:
        return parse_json(raw, max_bytes=MAX_CONDITIONS_BYTES, what="conditions"), []
    except (ValueError, RecursionError):  # JsonInputError and JSONDecodeError are ValueErrors
        return {}, [_("Conditions: the rule could not be read; fix it under Advanced or add the conditions again.")]


def _save_recipe(request: HttpRequest, shop: Shop, recipe: Recipe) -> list[str]:
    """The builder's form checked and saved (audited); the refusals as sentences, or [] once saved."""
    post = request.POST
    config = dict(recipe.trigger_config)
    errors: list[str] = []
    if recipe.trigger == Recipe.Trigger.DAYS_SINCE_LAST_ORDER:
        days = post.get("days", "")
        config["days"] = int(days) if days.isdigit() and len(days) < 6 else -1
    if recipe.trigger in (Recipe.Trigger.SEGMENT_ENTERED, Recipe.Trigger.SEGMENT_LEFT):
        slug = post.get("segment", "")[:60]
        if not Segment.objects.for_shop(shop).filter(slug=slug).exists():
            errors.append(_("Choose one of your segments."))
        config["segment"] = slug
    if recipe.trigger == Recipe.Trigger.DATE_PROPERTY:
        offset = post.get("offset_days", "").strip()
        config = {"property": post.get("date_property", ""), "yearly": post.get("yearly") == "on",
                  "offset_days": int(offset) if offset.lstrip("-").isdigit() and len(offset) < 6 else None}
    conditions, bad = _parse_conditions(post.get("conditions", ""))
    errors += bad
    steps = _form_steps(post)
    if steps is None:
        return [*errors, _("The steps sent are incomplete: reload the page and try again.")]
    exits = [e for e in post.getlist("exit_when") if e in EXIT_WORDS]
    try:
        clean = validate_recipe(recipe.trigger, config, conditions, exits, steps, post.get("cooldown_hours", ""))
    except RecipeError as refused:
        return errors + refused.errors
    campaigns = set(Campaign.objects.for_shop(shop).values_list("pk", flat=True))
    if any((s.get("code") or {}).get("campaign") not in (None, *campaigns) for s in clean["steps"]):
        errors.append(_("Choose one of your popup campaigns for the codes."))
    else:
        errors += _tier_pool_errors(shop, clean["steps"])
    audiences = {pk for pk, _name in _recipe_audiences(shop)}
    if any(s["action"] == "audience" and s["audience"] not in audiences for s in clean["steps"]):
        errors.append(_("Choose one of your ad audiences fed by automations (create one in Ad audiences)."))
    errors += tag_views.save_refusal(shop, recipe, clean["steps"])
    if errors:
        return errors
    before = _snapshot(recipe)
    for name in ("steps", "trigger_config", "conditions", "exit_when", "cooldown_hours"):
        setattr(recipe, name, clean[name])
    recipe.save()
    audit.record(shop, request, "recipe.saved", f"recipe:{recipe.key}", before, _snapshot(recipe))
    return []


def _percent_pools(campaign: Campaign) -> list[Decimal]:
    """The percents a campaign's unique-code pools hold (only those are ever refilled, so a tier must use one)."""
    from backend.popups.codes import campaign_offers
    from backend.popups.offers import PERCENT

    return sorted(o.value for o in campaign_offers(campaign) if o.kind == PERCENT)


def _campaign_choices(shop: Shop) -> list[dict]:
    """The shop's campaigns for the step's code, each with the percents its pools hold (what a tier can give)."""
    choices = []
    for campaign in Campaign.objects.for_shop(shop).order_by("name"):
        held = ", ".join(f"{number_words(float(v))} %" for v in _percent_pools(campaign))
        unique = campaign.code_mode == Campaign.CodeMode.UNIQUE
        choices.append({"pk": campaign.pk, "name": f"{campaign.name} ({held})" if unique and held else campaign.name})
    return choices


def _tier_pool_errors(shop: Shop, steps: list[dict]) -> list[str]:
    """Each tier's percent must be one the step's campaign has codes for: any other is never given out."""
    errors = []
    for n, step in enumerate(steps, start=1):
        code = step.get("code") or {}
        campaign = Campaign.objects.for_shop(shop).filter(pk=code.get("campaign") or 0).first()
        if campaign is None or campaign.code_mode != Campaign.CodeMode.UNIQUE:
            continue  # a shared code is the same whatever the tier
        held = _percent_pools(campaign)
        where = _("Step %(n)s") % {"n": n}
        if not held:
            errors.append(_("%(where)s: “%(campaign)s” has no percent-off codes; choose a campaign that offers a "
                            "percent off.") % {"where": where, "campaign": campaign.name})
            continue
        missing = [t["percent"] for t in code.get("tiers") or []
                   if Decimal(str(t["percent"])).quantize(Decimal("0.01")) not in held]
        if missing:
            errors.append(_("%(where)s: “%(campaign)s” has no codes for %(missing)s; its codes are for %(held)s. "
                            "Use those percents, or add the percent to the campaign's offers.") % {
                "where": where, "campaign": campaign.name,
                "missing": ", ".join(f"{number_words(m)} %" for m in missing),
                "held": ", ".join(f"{number_words(float(v))} %" for v in held)})
    return errors


@csrf_unless_session_token
@require_http_methods(["GET", "POST"])
def recipe_edit(request: HttpRequest, pk: int) -> HttpResponse:
    shop = _shop(request)
    if isinstance(shop, HttpResponse):
        return shop
    lang = page_lang(request, shop)
    recipe = _recipe(shop, pk)
    errors: list[str] = []
    notice = _("Created and switched off: add its steps, save, then turn it on.") \
        if request.GET.get("created") == "1" else ""
    refused = toggle_refused = False
    if request.method == "POST" and request.POST.get("action") == "test":
        notice, errors = _send_test(request, shop, recipe)
    elif request.method == "POST" and request.POST.get("action") == "toggle":
        errors = _toggle(request, shop, recipe)
        if not errors:
            return HttpResponseRedirect(link(request, f"/admin/recipes/{recipe.pk}/"))
        toggle_refused = True
    elif request.method == "POST":
        errors = _save_recipe(request, shop, recipe)
        if not errors:
            return HttpResponseRedirect(link(request, f"/admin/recipes/{recipe.pk}/", saved=1))
        refused = True
    if refused:
        steps = _posted_rows(request.POST)
        rule_text = request.POST.get("conditions", "")[:MAX_CONDITIONS_BYTES]
        exits = [e for e in request.POST.getlist("exit_when") if e in EXIT_WORDS]
    else:
        # A recipe from scratch has no steps yet: its builder starts with one blank step to fill in.
        steps = _step_rows(request, recipe, recipe.steps) or [{**_blank_step(), "n": 0, "number": 1}]
        rule_text = json.dumps(recipe.conditions or {"all": []}, indent=2)
        exits = recipe.exit_when
    segment_trigger = recipe.trigger in (Recipe.Trigger.SEGMENT_ENTERED, Recipe.Trigger.SEGMENT_LEFT)
    if segment_trigger:
        ensure_presets(shop)
    segments = [(s.slug, segment_name(s, lang)) for s in Segment.objects.for_shop(shop).order_by("pk")] \
        if segment_trigger else []
    return render(request, "recipes/edit.html", {
        **builder_context(shop, lang, rule_text),
        "shop": shop, "lang": lang, "title": display_name(recipe), "name": display_name(recipe), "recipe": recipe,
        "steps": steps, "saved_steps": _step_rows(request, recipe, recipe.steps), "errors": errors,
        "trigger": TRIGGER_WORDS.get(recipe.trigger, recipe.trigger), "notice": notice,
        "saved": request.GET.get("saved") == "1", "campaigns": _campaign_choices(shop),
        "days": request.POST.get("days") if refused and "days" in recipe.trigger_config
        else recipe.trigger_config.get("days"),
        "date_trigger": recipe.trigger == Recipe.Trigger.DATE_PROPERTY, "date_properties": list(DATE_WORDS.items()),
        "date_config": {"property": request.POST.get("date_property"), "offset_days": request.POST.get("offset_days"),
                        "yearly": request.POST.get("yearly") == "on"} if refused else recipe.trigger_config,
        "segments": segments, "segment": request.POST.get("segment") if refused else
        recipe.trigger_config.get("segment"),
        "actions": list(ACTION_WORDS.items()), "templates": list(TEMPLATE_WORDS.items()),
        "exits": [(k, w, k in exits) for k, w in EXIT_WORDS.items()],
        "units": [("hours", _("hours")), ("days", _("days"))],
        "cooldown": request.POST.get("cooldown_hours") if refused else recipe.cooldown_hours,
        "blank": _blank_step(),
        "tag_modes": list(TAG_MODE_WORDS.items()), **tag_views.screen(request, shop, recipe, steps),
        "audiences": _recipe_audiences(shop), "modes": list(MODE_WORDS.items()),
        "action": f"/admin/recipes/{recipe.pk}/",
        "back_href": link(request, "/admin/recipes/"), "test_email": settings_for(shop).test_email},
        status=400 if refused or toggle_refused else 200)


def _blank_step() -> dict:
    return {"wait": "", "unit": "hours", "action": "email", "template": "cart", "url": "", "campaign": None,
            "tiers": "", "tier_words": "", "audience": None, "mode": "add", "tag": "", "tag_mode": "add",
            "tier_rows": _tier_rows(_default_tiers("cart"))}


def sample_context(shop: Shop, template: str, profile: CustomerProfile | None) -> dict:
    """What a run of this customer would carry: their latest cart or viewed products, or their latest order."""
    if profile is None:
        return {}
    customers = list(Identity.objects.for_shop(shop).filter(profile=profile, kind=Identity.Kind.CUSTOMER)
                     .values_list("customer_id", flat=True))
    visitors = list(Identity.objects.for_shop(shop).filter(profile=profile, kind=Identity.Kind.VISITOR)
                    .values_list("value", flat=True))
    if template in ("cart", "browse"):
        kind = EventType.ADDED_TO_CART if template == "cart" else EventType.PRODUCT_VIEWED
        products = Event.objects.for_shop(shop).filter(type=kind, product__isnull=False).filter(
            customer_id__in=customers) | Event.objects.for_shop(shop).filter(
            type=kind, product__isnull=False, visitor_id__in=visitors)
        return {"products": list(dict.fromkeys(products.order_by("-created_at").values_list(
            "product_id", flat=True)[:20]))[:5]}
    if template == "order":
        order = Order.objects.for_shop(shop).filter(customer_id__in=customers).order_by("-processed_at").first()
        return {"order": order.pk} if order else {}
    return {}


def _profile_by_email(shop: Shop, email: str) -> CustomerProfile | None:
    email = normalise_email(email)
    if not email:
        return None
    row = Identity.objects.for_shop(shop).filter(kind=Identity.Kind.EMAIL, value=email).select_related(
        "profile").first()
    if row is not None:
        return row.profile
    return CustomerProfile.objects.for_shop(shop).filter(email=email, is_active=True).first()


def _render_for(shop: Shop, recipe: Recipe, step_index: int, email: str, to: str) -> Rendered:
    step = recipe.steps[step_index]
    profile = _profile_by_email(shop, email)
    lang = language_for(shop, profile)
    code = "PREVIEW-CODE" if step.get("code") else ""
    return render_email(shop, step["template"], profile, sample_context(shop, step["template"], profile), 0, to,
                        lang, code=code)


def _send_test(request: HttpRequest, shop: Shop, recipe: Recipe) -> tuple[str, list[str]]:
    to = normalise_email(request.POST.get("to", "") or settings_for(shop).test_email)
    raw = request.POST.get("step", "0")
    try:
        step_index = int(raw) if raw.isdigit() else -1
        if step_index < 0:
            raise IndexError
        if "template" not in recipe.steps[step_index]:  # only an email step has an email to show
            raise IndexError
    except (ValueError, IndexError):
        return "", [_("Choose a step.")]
    if not to:
        return "", [_("Enter the address the test goes to.")]
    rendered = _render_for(shop, recipe, step_index, request.POST.get("customer", ""), to)
    try:
        sending.send_test(rendered, to, shop.pk, settings_for(shop).from_email)
    except Exception as exc:  # the mail server's answer is what the merchant needs to see
        return "", [_("The test could not be sent: %(why)s") % {"why": str(exc)[:200]}]
    audit.record(shop, request, "recipe.test_sent", f"recipe:{recipe.key}", None, {"step": step_index + 1, "to": to})
    return _("Test sent to %(to)s.") % {"to": to}, []


@xframe_options_sameorigin  # shown in a frame on the recipe's own page
@csrf_unless_session_token
@require_http_methods(["GET"])
def recipe_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The step's email as the chosen customer (?customer=email) would get it now; the HTML itself, for a frame."""
    shop = _shop(request)
    if isinstance(shop, HttpResponse):
        return shop
    recipe = _recipe(shop, pk)
    raw = request.GET.get("step", "0")
    try:
        step_index = int(raw) if raw.isdigit() else -1
        if step_index < 0:
            raise IndexError
        if "template" not in recipe.steps[step_index]:  # only an email step has an email to show
            raise IndexError
    except (ValueError, IndexError):
        return HttpResponse(_("No such step."), status=400, content_type="text/plain")
    customer = request.GET.get("customer", "")[:320]
    rendered = _render_for(shop, recipe, step_index, customer, normalise_email(customer) or "preview@example.com")
    response = HttpResponse(rendered.html)
    response["X-Email-Subject"] = rendered.subject.encode("ascii", "ignore").decode()
    return response

"""Campaign rules: validating what a merchant saves, and deciding what one leaving shopper is shown.

`decide()` is the storefront's hot path: active campaigns come from a short cache, the shopper's segment keys from
the segments room's cache; suppression and caps cost one small indexed query each, and only for a campaign that
otherwise applies.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from backend.events.models import Event, EventType

from . import codes
from .models import DEFAULT_CODES_PER_DAY, DEFAULT_CODES_PER_IP_PER_DAY, Campaign
from .offers import KINDS, MAX_PERCENT, PERCENT, Offer, choose_offer, parse_offer

LOCALES = ("en", "es")
COPY_FIELDS = {"headline": 120, "body": 400, "cta": 40, "consent": 400}
SEGMENT_KEY = re.compile(r"(visitors|buyers|tier|segment|country|tag):[A-Za-z0-9_\-. ]{1,60}")
MAX_RULES = 20
MAX_SEGMENT_KEYS = 20
_CACHE_TTL = 30
OFFER_WORDS = {
    "en": {"free_shipping": "free shipping", "percent": "{value} % off"},
    "es": {"free_shipping": "envío gratis", "percent": "un {value} % de descuento"},
}


class CampaignError(ValueError):
    """Validation failures, field → message in the active language (the admin's page language), shown next to the
    form fields."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# ------------------------------------------------------------------ validation


def _keys(raw: Any, name: str, errors: dict[str, str]) -> list[str]:  # noqa: ANN401 - JSON from a form or API
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        raw = [k.strip() for k in raw.replace(",", "\n").splitlines() if k.strip()]
    if not isinstance(raw, list) or len(raw) > MAX_SEGMENT_KEYS:
        errors[name] = _("at most %(n)s segment keys.") % {"n": MAX_SEGMENT_KEYS}
        return []
    bad = [k for k in raw if not isinstance(k, str) or not SEGMENT_KEY.fullmatch(k)]
    if bad:
        errors[name] = _("“%(key)s” is not a segment key (keys look like visitors:new, tier:vip or "
                         "segment:compradores).") % {"key": str(bad[0])[:60]}
        return []
    return list(dict.fromkeys(raw))


def _offer(raw: Any, where: str, errors: dict[str, str]) -> dict:  # noqa: ANN401
    if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
        errors[where] = _("the offer must be free shipping or a percentage discount.")
        return {}
    if raw["kind"] == PERCENT:
        value = raw.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            errors[where] = _("a percentage discount must be between 1 and %(max)s.") % {"max": MAX_PERCENT}
            return {}
        try:
            number = float(value)
        except ValueError:
            number = -1
        if not 1 <= number <= MAX_PERCENT:
            errors[where] = _("a percentage discount must be between 1 and %(max)s.") % {"max": MAX_PERCENT}
            return {}
        return {"kind": PERCENT, "value": round(number, 2)}
    return {"kind": raw["kind"], "value": 0}


def _when(raw: Any) -> datetime | None:  # noqa: ANN401
    if isinstance(raw, datetime):
        return raw if timezone.is_aware(raw) else None
    if not raw:
        return None
    parsed = parse_datetime(str(raw))
    if parsed is None:
        raise ValueError("not a date and time")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def validate_campaign(data: dict) -> dict:
    """Cleaned field values for Campaign, or CampaignError with a message per bad field."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    name = str(data.get("name", "")).strip()
    if not name or len(name) > 120:
        errors["name"] = _("give the campaign a name of 1 to 120 characters.")
    out["name"] = name[:120]
    status = data.get("status", Campaign.Status.DRAFT)
    if status not in Campaign.Status.values:
        errors["status"] = _("choose draft, active or paused.")
    out["status"] = status
    out["include_segments"] = _keys(data.get("include_segments"), "include_segments", errors)
    out["exclude_segments"] = _keys(data.get("exclude_segments"), "exclude_segments", errors)
    overlap = set(out["include_segments"]) & set(out["exclude_segments"])
    if overlap:
        errors["exclude_segments"] = _("%(key)s is both included and excluded.") % {"key": sorted(overlap)[0]}
    for name_, low, high, default in (("min_seconds", 1, 600, 5), ("cap_days", 1, 365, 7),
                                      ("suppress_converted_days", 0, 365, 30), ("code_ttl_hours", 1, 24 * 30, 72),
                                      ("pool_size", 1, 100, 10), ("priority", -100, 100, 0),
                                      ("codes_per_day", 1, 100_000, DEFAULT_CODES_PER_DAY),
                                      ("codes_per_ip_per_day", 1, 1000, DEFAULT_CODES_PER_IP_PER_DAY)):
        raw = data.get(name_, default)
        try:
            number = int(raw)
        except (TypeError, ValueError):
            number = low - 1
        if isinstance(raw, bool) or not low <= number <= high:
            errors[name_] = _("write a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}
        out[name_] = number
    for flag, default in (("mobile_enabled", True), ("email_capture", False), ("require_cart", False)):
        out[flag] = bool(data.get(flag, default))
    cap = data.get("cap", Campaign.Cap.SESSION)
    if cap not in Campaign.Cap.values:
        errors["cap"] = _("choose once per session or once every N days.")
    out["cap"] = cap

    rules = data.get("offer_rules") or []
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        errors["offer_rules"] = _("at most %(n)s rules.") % {"n": MAX_RULES}
        rules = []
    cleaned_rules = []
    for i, rule in enumerate(rules):
        where = f"offer_rules[{i}]"
        if not isinstance(rule, dict) or not isinstance(rule.get("when"), str) \
                or not SEGMENT_KEY.fullmatch(rule["when"]):
            errors[where] = _("each rule starts with a segment key such as visitors:new or tier:vip.")
            continue
        offer = _offer(rule, where, errors)
        if offer:
            cleaned_rules.append({"when": rule["when"], **offer})
    out["offer_rules"] = cleaned_rules
    default = data.get("default_offer") or {}
    out["default_offer"] = _offer(default, "default_offer", errors) if default else {}
    # A rule the merchant wrote but got wrong already says so; "give at least one rule" on top would mislead.
    if not cleaned_rules and not out["default_offer"] and not any(k.startswith("offer_rules") for k in errors):
        errors["default_offer"] = _("give at least one offer rule or an offer for everyone else.")

    copy = data.get("copy") or {}
    cleaned_copy: dict[str, dict[str, str]] = {}
    if not isinstance(copy, dict):
        copy = {}
    for lang in LOCALES:
        texts = copy.get(lang) or {}
        if not isinstance(texts, dict):
            texts = {}
        cleaned_copy[lang] = {}
        for key, limit in COPY_FIELDS.items():
            text = str(texts.get(key, "") or "").strip()
            required = key != "consent" or out["email_capture"]
            if required and not text:
                errors[f"copy.{lang}.{key}"] = _("this text is required.")
            elif len(text) > limit:
                errors[f"copy.{lang}.{key}"] = _("at most %(n)s characters.") % {"n": limit}
            cleaned_copy[lang][key] = text[:limit]
    out["copy"] = cleaned_copy

    try:
        out["starts_at"] = _when(data.get("starts_at"))
        out["ends_at"] = _when(data.get("ends_at"))
        if out["starts_at"] and out["ends_at"] and out["ends_at"] <= out["starts_at"]:
            errors["ends_at"] = _("the end must come after the start.")
    except ValueError:
        errors["schedule"] = _("dates must look like 2026-01-31T18:00.")
    mode = data.get("code_mode", Campaign.CodeMode.UNIQUE)
    if mode not in Campaign.CodeMode.values:
        errors["code_mode"] = _("choose unique codes or one shared code.")
    out["code_mode"] = mode
    shared = str(data.get("shared_code", "") or "").strip()
    if mode == Campaign.CodeMode.SHARED and not codes.CODE_SHAPE.fullmatch(shared):
        errors["shared_code"] = _("a shared code has 3 to 64 letters, digits, “-” or “_”.")
    out["shared_code"] = shared[:64]
    if errors:
        raise CampaignError(errors)
    return out


def save_campaign(shop_id: int, data: dict, campaign: Campaign | None = None) -> Campaign:
    cleaned = validate_campaign(data)
    campaign = campaign or Campaign(shop_id=shop_id)
    for key, value in cleaned.items():
        setattr(campaign, key, value)
    campaign.save()
    forget_campaigns(shop_id)
    _publish_gate(shop_id)
    return campaign


def _publish_gate(shop_id: int) -> None:
    """A Shopify theme reads the popup gate from an app metafield: publish it again once this save commits."""
    from django.db import transaction

    from backend.shops.install import queue_storefront_config
    from backend.shops.models import Shop

    shop = Shop.objects.filter(pk=shop_id, platform=Shop.Platform.SHOPIFY, state=Shop.State.INSTALLED).first()
    if shop is not None:
        transaction.on_commit(lambda: queue_storefront_config(shop))


# ------------------------------------------------------------------ deciding


@dataclass
class Shopper:
    visitor_id: str = ""
    session_id: str = ""
    customer_id: int | None = None
    locale: str = "en"
    cart: bool | None = None  # None: the page didn't say
    keys: list[str] = field(default_factory=list)


def _cache_key(shop_id: int) -> str:
    return f"popups:active:{shop_id}"


def forget_campaigns(shop_id: int) -> None:
    cache.delete(_cache_key(shop_id))


def active_campaigns(shop_id: int) -> list[Campaign]:
    found = cache.get(_cache_key(shop_id))
    if found is None:
        found = list(Campaign.objects.for_shop(shop_id).filter(status=Campaign.Status.ACTIVE)
                     .order_by("-priority", "pk"))
        cache.set(_cache_key(shop_id), found, _CACHE_TTL)
    return found


def targets(campaign: Campaign, keys: set[str]) -> bool:
    if campaign.exclude_segments and keys & set(campaign.exclude_segments):
        return False
    return not campaign.include_segments or bool(keys & set(campaign.include_segments))


def in_schedule(campaign: Campaign, now: datetime) -> bool:
    return (campaign.starts_at is None or campaign.starts_at <= now) and (
        campaign.ends_at is None or now < campaign.ends_at)


def suppressed(campaign: Campaign, shopper: Shopper, now: datetime, *, frequency: bool = True) -> str:
    """Why this shopper must not see the campaign now ("" when nothing stops it).

    `frequency=False` for a claim: the popup being claimed for was just shown, which the cap must not count.
    """
    if frequency and campaign.require_cart and shopper.cart is not True:  # a claim follows a popup shown with a cart
        return "cart_empty"
    if not shopper.visitor_id:
        return ""
    events = Event.objects.for_shop(campaign.shop_id).filter(visitor_id=shopper.visitor_id)
    if campaign.suppress_converted_days and events.filter(
            type=EventType.POPUP_CONVERTED, created_at__gte=now - timedelta(days=campaign.suppress_converted_days)
    ).exists():
        return "converted"
    if not frequency:
        return ""
    shown = events.filter(type=EventType.POPUP_SHOWN, widget=campaign.widget)
    if campaign.cap == Campaign.Cap.SESSION:
        # A session lasts a visit: two days bound it, so only the newest events partition is read.
        if shopper.session_id and shown.filter(session_id=shopper.session_id,
                                               created_at__gte=now - timedelta(days=2)).exists():
            return "capped"
    elif shown.filter(created_at__gte=now - timedelta(days=campaign.cap_days)).exists():
        return "capped"
    return ""


def opted_out(shop_id: int, shopper: Shopper) -> bool:
    """The shopper refused tracking (the storefront's consent state on their profile): no personal offers."""
    from backend.customers.identities import profile_for

    if not (shopper.customer_id or shopper.visitor_id):
        return False
    profile = profile_for(shop_id, customer_id=shopper.customer_id, visitor_id=shopper.visitor_id)
    return profile is not None and profile.analytics_consent is False


def describe(offer: Offer, locale: str) -> str:
    words = OFFER_WORDS.get(locale, OFFER_WORDS["en"])[offer.kind]
    value = f"{offer.value.normalize():f}"
    return words.format(value=value)


def localized_copy(campaign: Campaign, offer: Offer, locale: str, override: dict | None = None) -> dict[str, str]:
    texts = dict((campaign.copy or {}).get("en") or {})
    texts.update({k: v for k, v in ((campaign.copy or {}).get(locale) or {}).items() if v})
    if override:
        texts.update({k: str(v)[:COPY_FIELDS[k]] for k, v in ((override.get(locale) or override.get("en") or {})
                                                               .items()) if k in COPY_FIELDS and v})
    offer_text = describe(offer, locale)
    return {k: texts.get(k, "").replace("{offer}", offer_text) for k in COPY_FIELDS}


@dataclass(frozen=True)
class Choice:
    """What one shopper gets from one campaign: the offer, the arm's copy override, the experiment echo."""

    campaign: Campaign
    offer: Offer
    copy_override: dict | None
    experiment: dict | None
    holdout: bool = False  # the shopper's arm never shows this popup (see holdout.py)


def choose(shop_id: int, campaign: Campaign, shopper: Shopper, now: datetime, *,
           frequency: bool = True) -> Choice | None:
    """This campaign's offer for this shopper (targeting, conversion/frequency suppression, experiment arm), or None.

    A hold-out arm's choice says so (`holdout`): it is never shown, and not counted here either. The page reports
    when the popup would have appeared (holdout.py), as the shown arm's exposure is the popup shown.
    """
    from backend.experiments.runtime import arm_for

    if not targets(campaign, set(shopper.keys)):
        return None
    offer = choose_offer(campaign.offer_rules, campaign.default_offer, shopper.keys)
    if offer is None or suppressed(campaign, shopper, now, frequency=frequency):
        return None
    arm = arm_for(shop_id, "popup", str(campaign.pk), shopper.visitor_id)
    if arm is None:
        return Choice(campaign, offer, None, None)
    if arm.config.get("show") is False:
        return Choice(campaign, offer, None, {"id": str(arm.experiment_id), "arm": arm.arm}, holdout=True)
    offer = parse_offer(arm.config.get("offer"), f"experiment:{arm.arm}") or offer
    copy_override = arm.config.get("copy") if isinstance(arm.config.get("copy"), dict) else None
    return Choice(campaign, offer, copy_override, {"id": str(arm.experiment_id), "arm": arm.arm})


def _with_keys(shop_id: int, shopper: Shopper) -> Shopper:
    from backend.segments.membership import segment_keys_for

    if not shopper.keys:
        shopper.keys = segment_keys_for(shop_id, customer_id=shopper.customer_id, visitor_id=shopper.visitor_id)
    return shopper


def decide(shop_id: int, shopper: Shopper, now: datetime | None = None, *, ip: str = "") -> dict | None:
    """The popup this shopper sees on leaving, as the storefront gets it, or None.

    It names the campaign and offer but never a code: the script claims one (codes.claim) when it shows the popup.
    A campaign whose claim would be refused now (no visitor id for a unique code, the pool dry, a budget spent) is
    passed over, so no shopper is shown an offer that can't be kept. A hold-out visitor passes over their campaign
    the same way (eligibility alike in both arms), and the answer carries `holdout`: the campaign's trigger and a
    token to report when the popup would have appeared; with no other campaign, `campaign` is null.
    """
    now = now or timezone.now()
    campaigns = [c for c in active_campaigns(shop_id) if in_schedule(c, now)]
    if not campaigns:
        return None
    _with_keys(shop_id, shopper)
    if opted_out(shop_id, shopper):
        return None
    holdout: dict | None = None
    for campaign in campaigns:
        choice = choose(shop_id, campaign, shopper, now)
        if choice is None or not codes.claimable(campaign, choice.offer, shopper.visitor_id, ip, now):
            continue
        if choice.holdout:
            holdout = holdout or holdout_json(shop_id, choice, shopper.visitor_id)
            continue
        answer = as_json(choice, shopper.locale)
        return {**answer, "holdout": holdout} if holdout else answer
    return {"campaign": None, "holdout": holdout} if holdout else None


def holdout_json(shop_id: int, choice: Choice, visitor_id: str) -> dict:
    """What the page needs to report "would have shown": the campaign's trigger and cap, no offer, no copy."""
    from .holdout import sign

    campaign, experiment = choice.campaign, choice.experiment or {}
    return {
        "campaign": {"id": campaign.pk, "widget": campaign.widget},
        "experiment": experiment,
        "trigger": {"min_seconds": campaign.min_seconds, "mobile": campaign.mobile_enabled},
        "cap": {"scope": campaign.cap, "days": campaign.cap_days if campaign.cap == Campaign.Cap.DAYS else 0},
        "token": sign(shop_id, campaign.pk, experiment.get("id", ""), experiment.get("arm", ""), visitor_id),
    }


def as_json(choice: Choice, locale: str) -> dict:
    campaign = choice.campaign
    return {
        "campaign": {"id": campaign.pk, "widget": campaign.widget},
        "offer": choice.offer.as_json(),
        "copy": localized_copy(campaign, choice.offer, locale, choice.copy_override),
        "email_capture": campaign.email_capture,
        "trigger": {"min_seconds": campaign.min_seconds, "mobile": campaign.mobile_enabled},
        "cap": {"scope": campaign.cap, "days": campaign.cap_days if campaign.cap == Campaign.Cap.DAYS else 0},
        "experiment": choice.experiment,
        "locale": locale,
    }


def choice_for_claim(shop_id: int, campaign_id: int, shopper: Shopper, now: datetime) -> Choice | None:
    """The offer a claim for this campaign gets, decided again on the server: the page never names its offer."""
    campaign = next((c for c in active_campaigns(shop_id) if c.pk == campaign_id and in_schedule(c, now)), None)
    if campaign is None:
        return None
    _with_keys(shop_id, shopper)
    if opted_out(shop_id, shopper):
        return None
    choice = choose(shop_id, campaign, shopper, now, frequency=False)
    return None if choice is None or choice.holdout else choice  # a hold-out is never shown, so never claims

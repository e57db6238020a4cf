"""Merchant screens for popups: campaign list, editor, and a live preview as a new, returning or VIP shopper sees it.

Acts for the signed-in shop (backend.dashboard.auth.screen_shop, as the widgets screen); a campaign id from another
shop is a 404. The pages sit in the cockpit's frame (dashboard/base.html), speak the page language through gettext
(AdminLanguageMiddleware), and every link and redirect keeps the embedded session token (dashboard.shell.link).
"""
from __future__ import annotations

import re

from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from backend.dashboard import audit
from backend.dashboard.auth import csrf_unless_session_token, screen_shop
from backend.dashboard.language import page_lang
from backend.dashboard.shell import link
from backend.events.models import Event, EventType

from .campaigns import COPY_FIELDS, LOCALES, CampaignError, localized_copy, save_campaign, validate_campaign
from .models import DEFAULT_CODES_PER_DAY, DEFAULT_CODES_PER_IP_PER_DAY, Campaign, DiscountCode
from .offers import FREE_SHIPPING, PERCENT, choose_offer

PERSONAS = ((gettext_lazy("New visitor"), ["visitors:new", "buyers:none"]),
            (gettext_lazy("Returning visitor"), ["visitors:returning", "buyers:first"]),
            (gettext_lazy("VIP customer"), ["visitors:returning", "buyers:repeat", "tier:vip"]))
STATUS_WORDS = {"draft": pgettext_lazy("popup campaign", "Draft"),
                "active": pgettext_lazy("popup campaign", "Active"),
                "paused": pgettext_lazy("popup campaign", "Paused")}
# The editor's name for each field a merchant can get wrong: errors say where in these words, never "copy.es.cta".
FIELD_LABELS = {
    "name": gettext_lazy("Name"), "status": gettext_lazy("Status"), "priority": gettext_lazy("Priority"),
    "include_segments": gettext_lazy("Only these segments (one key a line; empty = everyone)"),
    "exclude_segments": gettext_lazy("Never these segments"),
    "min_seconds": gettext_lazy("Minimum seconds on the page"), "cap": gettext_lazy("How often"),
    "cap_days": gettext_lazy("Days between two showings"),
    "suppress_converted_days": gettext_lazy("Don't show for N days after a conversion"),
    "offer_rules": gettext_lazy("Rules"), "default_offer": gettext_lazy("Everyone else"),
    "starts_at": gettext_lazy("Starts"), "ends_at": gettext_lazy("Ends"), "schedule": gettext_lazy("Schedule"),
    "code_mode": gettext_lazy("Codes"), "shared_code": gettext_lazy("Shared code"),
    "code_ttl_hours": gettext_lazy("Code valid for (hours)"), "pool_size": gettext_lazy("Codes kept ready per offer"),
    "codes_per_day": gettext_lazy("Most codes a day (claimed by shoppers, and created on your store)"),
    "codes_per_ip_per_day": gettext_lazy("Most codes a day for one internet address"),
    "headline": gettext_lazy("Headline"), "body": gettext_lazy("Body ({offer} is replaced by the offer)"),
    "cta": gettext_lazy("Button"), "consent": gettext_lazy("Consent text (shown next to the email checkbox)"),
}
LANGUAGE_NAMES = {"en": gettext_lazy("English"), "es": gettext_lazy("Spanish")}
_RULE_LINE = re.compile(r"\s*(\S+)\s*=\s*(free_shipping|\d{1,2}(?:\.\d{1,2})?\s*%)\s*")
_RULE_PATH = re.compile(r"offer_rules\[(\d+)\]")
_COPY_PATH = re.compile(r"copy\.(\w+)\.(\w+)")


def error_place(path: str) -> str:
    """Where an error is, in the editor's words: "Rule 2" for offer_rules[1], "Button (Spanish)" for copy.es.cta."""
    rule = _RULE_PATH.fullmatch(path)
    if rule:
        return _("Offer rule %(n)s") % {"n": int(rule.group(1)) + 1}
    copy = _COPY_PATH.fullmatch(path)
    if copy and copy.group(2) in FIELD_LABELS and copy.group(1) in LANGUAGE_NAMES:
        return f"{FIELD_LABELS[copy.group(2)]} ({LANGUAGE_NAMES[copy.group(1)]})"
    return str(FIELD_LABELS.get(path, _("Campaign")))


def error_lines(errors: dict[str, str]) -> list[dict[str, str]]:
    return [{"field": path, "text": f"{error_place(path)}: {message}"} for path, message in errors.items()]


def parse_offer_text(text: str) -> dict | None:
    """"free_shipping" / "10%" → offer JSON; "" → None; anything else → ValueError."""
    text = text.strip()
    if not text:
        return None
    if text == FREE_SHIPPING:
        return {"kind": FREE_SHIPPING, "value": 0}
    if re.fullmatch(r"\d{1,2}(?:\.\d{1,2})?\s*%", text):
        return {"kind": PERCENT, "value": float(text.rstrip("% "))}
    raise ValueError(text)


def offer_text(offer: dict) -> str:
    if not offer:
        return ""
    return FREE_SHIPPING if offer.get("kind") == FREE_SHIPPING else f"{offer.get('value'):g}%"


def form_to_data(post: dict) -> tuple[dict, dict[str, str]]:
    """The editor's fields as validate_campaign input, plus errors the text syntax itself caused."""
    errors: dict[str, str] = {}
    rules = []
    for n, line in enumerate(x for x in post.get("offer_rules", "").splitlines() if x.strip()):
        m = _RULE_LINE.fullmatch(line)
        if not m:
            errors[f"offer_rules[{n}]"] = _(
                "write it as a segment key, “=” and the offer, for example “tier:vip = 20%%” or "
                "“visitors:new = free_shipping” (you wrote “%(line)s”).") % {"line": line.strip()[:60]}
            # Kept as a rule with no offer, so the rules after it keep their numbers in the messages.
            rules.append({"when": line.split("=")[0].strip()[:60], "kind": ""})
            continue
        rules.append({"when": m.group(1), **(parse_offer_text(m.group(2)) or {})})
    try:
        default = parse_offer_text(post.get("default_offer", "")) or {}
    except ValueError:
        errors["default_offer"] = _("write an offer such as “10%” or “free_shipping”, or leave it empty.")
        default = {}
    data = {
        "name": post.get("name", ""), "status": post.get("status", "draft"), "priority": post.get("priority", 0),
        "include_segments": post.get("include_segments", ""), "exclude_segments": post.get("exclude_segments", ""),
        "min_seconds": post.get("min_seconds", 5), "mobile_enabled": post.get("mobile_enabled") == "on",
        "offer_rules": rules, "default_offer": default,
        "copy": {lang: {k: post.get(f"copy_{lang}_{k}", "") for k in COPY_FIELDS} for lang in LOCALES},
        "email_capture": post.get("email_capture") == "on",
        "starts_at": post.get("starts_at", ""), "ends_at": post.get("ends_at", ""),
        "cap": post.get("cap", "session"), "cap_days": post.get("cap_days", 7),
        "suppress_converted_days": post.get("suppress_converted_days", 30),
        "require_cart": post.get("require_cart") == "on", "code_mode": post.get("code_mode", "unique"),
        "shared_code": post.get("shared_code", ""), "code_ttl_hours": post.get("code_ttl_hours", 72),
        "pool_size": post.get("pool_size", 10),
        "codes_per_day": post.get("codes_per_day", DEFAULT_CODES_PER_DAY),
        "codes_per_ip_per_day": post.get("codes_per_ip_per_day", DEFAULT_CODES_PER_IP_PER_DAY),
    }
    return data, errors


def campaign_form(c: Campaign) -> dict:
    return {
        "name": c.name, "status": c.status, "priority": c.priority,
        "include_segments": "\n".join(c.include_segments), "exclude_segments": "\n".join(c.exclude_segments),
        "min_seconds": c.min_seconds, "mobile_enabled": c.mobile_enabled,
        "offer_rules": "\n".join(f"{r['when']} = {offer_text(r)}" for r in c.offer_rules),
        "default_offer": offer_text(c.default_offer), "email_capture": c.email_capture,
        "starts_at": c.starts_at.strftime("%Y-%m-%dT%H:%M") if c.starts_at else "",
        "ends_at": c.ends_at.strftime("%Y-%m-%dT%H:%M") if c.ends_at else "",
        "cap": c.cap, "cap_days": c.cap_days, "suppress_converted_days": c.suppress_converted_days,
        "require_cart": c.require_cart, "code_mode": c.code_mode, "shared_code": c.shared_code,
        "code_ttl_hours": c.code_ttl_hours, "pool_size": c.pool_size, "codes_per_day": c.codes_per_day,
        "codes_per_ip_per_day": c.codes_per_ip_per_day,
        **{f"copy_{lang}_{k}": (c.copy.get(lang) or {}).get(k, "") for lang in LOCALES for k in COPY_FIELDS},
    }


def previews(campaign: Campaign, lang: str) -> list[dict]:
    """What each persona would see: the same offer choice and copy the storefront API makes, in the page language."""
    out = []
    for persona, keys in PERSONAS:
        keyset = set(keys)
        excluded = bool(set(campaign.exclude_segments) & keyset) or (
            bool(campaign.include_segments) and not set(campaign.include_segments) & keyset)
        offer = None if excluded else choose_offer(campaign.offer_rules, campaign.default_offer, keys)
        out.append({"persona": str(persona), "offer": offer.as_json() if offer else None,
                    "copy": localized_copy(campaign, offer, lang) if offer else None,
                    "email_capture": campaign.email_capture})
    return out


def _preview_url(lang: str) -> str:
    """The preview's address names the page language (the fragment must answer in it) but never the session token:
    the script posts a fresh one in the form, and a stale one in the address would win over it."""
    return f"/admin/popups/preview/?lang={lang}"


@csrf_unless_session_token  # cookie sessions need CSRF; the embedded admin's session token is not ambient
@require_http_methods(["GET"])
def campaign_list(request: HttpRequest) -> HttpResponse:
    shop = screen_shop(request)
    if isinstance(shop, HttpResponse):
        return shop
    lang = page_lang(request, shop)

    # Claimed: codes handed to a shopper whose popup was shown; redeemed: used by an order. "Converted" counts
    # orders paid with the popup's code (variant "order"), never button clicks.
    campaigns = list(Campaign.objects.for_shop(shop).order_by("-priority", "pk").annotate(
        free=Count("codes", filter=Q(codes__status=DiscountCode.Status.AVAILABLE)),
        claimed=Count("codes", filter=Q(codes__status__in=[DiscountCode.Status.RESERVED, DiscountCode.Status.USED])),
        redeemed=Count("codes", filter=Q(codes__status=DiscountCode.Status.USED))))
    rows = Event.objects.for_shop(shop).filter(widget__startswith="popup:").filter(
        Q(type=EventType.POPUP_SHOWN) | Q(type=EventType.POPUP_CONVERTED, variant="order")
    ).values("widget", "type").annotate(n=Count("pk")).order_by()
    counts = {(r["widget"], r["type"]): r["n"] for r in rows}
    for c in campaigns:
        c.shown = counts.get((c.widget, EventType.POPUP_SHOWN), 0)
        c.converted = counts.get((c.widget, EventType.POPUP_CONVERTED), 0)
        c.status_word = STATUS_WORDS.get(c.status, c.status)
        c.href = link(request, f"/admin/popups/{c.pk}/")
    return render(request, "popups/list.html", {"shop": shop, "lang": lang, "title": _("Exit-intent popups"),
                                                "campaigns": campaigns,
                                                "new_href": link(request, "/admin/popups/new/")})


@csrf_unless_session_token  # cookie sessions need CSRF; the embedded admin's session token is not ambient
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    shop = screen_shop(request)
    if isinstance(shop, HttpResponse):
        return shop
    lang = page_lang(request, shop)
    campaign = None
    if pk is not None:
        campaign = Campaign.objects.for_shop(shop).filter(pk=pk).first()
        if campaign is None:
            raise Http404("no such campaign")
    errors: dict[str, str] = {}
    if request.method == "POST":
        data, syntax = form_to_data(request.POST)
        try:
            if syntax:  # every other problem is listed too, so the merchant fixes them in one go
                validate_campaign(data)
                raise CampaignError({})
            before = campaign_form(campaign) if campaign is not None else None
            campaign = save_campaign(shop.pk, data, campaign)
            audit.record(shop, request, "popup_campaign.saved", f"popup:{campaign.pk}", before,
                         campaign_form(campaign))
            return HttpResponseRedirect(link(request, f"/admin/popups/{campaign.pk}/", saved=1))
        except CampaignError as bad:
            errors = {**bad.errors, **syntax}
        form = {**request.POST.dict(), "mobile_enabled": data["mobile_enabled"],
                "email_capture": data["email_capture"], "require_cart": data["require_cart"]}
        shown = Campaign(shop_id=shop.pk, **_preview_fields(data))
    else:
        shown = campaign or Campaign(shop_id=shop.pk, name="", offer_rules=[
            {"when": "tier:vip", "kind": PERCENT, "value": 20},
            {"when": "visitors:returning", "kind": PERCENT, "value": 10},
            {"when": "visitors:new", "kind": FREE_SHIPPING, "value": 0}], copy={
            "en": {"headline": "Wait! A gift before you go", "body": "Take {offer} on this order.",
                   "cta": "Get my code", "consent": ""},
            "es": {"headline": "¡Espera! Un regalo antes de irte", "body": "Llévate {offer} en este pedido.",
                   "cta": "Quiero mi código", "consent": ""}})
        form = campaign_form(shown)
    return render(request, "popups/edit.html", {
        "shop": shop, "lang": lang, "title": campaign.name if campaign else _("New campaign"),
        "campaign": campaign, "form": form, "errors": error_lines(errors),
        "saved": request.GET.get("saved") == "1", "previews": previews(shown, lang),
        "statuses": [(s, STATUS_WORDS[s]) for s in Campaign.Status.values],
        "copy_blocks": _copy_blocks(form),
        "action": f"/admin/popups/{campaign.pk}/" if campaign else "/admin/popups/new/",
        "back_href": link(request, "/admin/popups/"), "preview_url": _preview_url(lang),
    })


def _copy_blocks(form: dict) -> list[dict]:
    """The popup's texts per shopper language, as the editor lays them out."""
    return [{"code": code, "name": LANGUAGE_NAMES[code], "fields": [
        {"name": f"copy_{code}_{key}", "label": FIELD_LABELS[key], "value": form.get(f"copy_{code}_{key}", ""),
         "long": key in ("body", "consent"), "limit": limit} for key, limit in COPY_FIELDS.items()]}
        for code in LOCALES]


def _preview_fields(data: dict) -> dict:
    """Best-effort Campaign fields from unvalidated form data, only for rendering a preview."""
    return {
        "name": data["name"], "offer_rules": [r for r in data["offer_rules"] if r.get("kind")],
        "default_offer": data["default_offer"], "copy": data["copy"],
        "include_segments": [k.strip() for k in str(data["include_segments"]).splitlines() if k.strip()],
        "exclude_segments": [k.strip() for k in str(data["exclude_segments"]).splitlines() if k.strip()],
        "email_capture": data["email_capture"],
    }


@csrf_unless_session_token  # cookie sessions need CSRF; the embedded admin's session token is not ambient
@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """The live preview: the editor posts its fields on every change and swaps in this fragment."""
    shop = screen_shop(request)
    if isinstance(shop, HttpResponse):
        return shop
    lang = page_lang(request, shop)
    data, _errors = form_to_data(request.POST)
    shown = Campaign(shop_id=shop.pk, **_preview_fields(data))
    return render(request, "popups/_preview.html", {"previews": previews(shown, lang)})

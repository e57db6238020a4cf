"""Merchant screens for segments: list, builder with a live member count and preview, merged profiles.

Every view runs under the dashboard's `merchant_view` (a Shopify session token or the signed-in session, CSRF for
cookies) and works on `request.shop` only; ids in URLs are looked up inside that shop, so another shop's segment
is a 404, never a leak. Saves and unmerges go to the dashboard's audit trail.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import get_currency_symbol
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.core.json_input import parse_json
from backend.customers import metrics
from backend.customers.identities import unmerge
from backend.customers.models import CustomerProfile, MergeLog
from backend.dashboard import audit
from backend.dashboard.auth import actor_of, merchant_view
from backend.dashboard.language import page_lang
from backend.dashboard.shell import link
from backend.predictions import clv_choice
from backend.shops.models import Shop
from backend.storefront.pricing import babel_locale, format_price

from . import membership, tasks
from .evaluator import to_q
from .models import Segment
from .presets import display_name, ensure_presets
from .rules import CHANNEL_WORDS, OP_WORDS, TIER_WORDS, RuleError, fields_catalog, summarize, validate
from .valuation import latest_fit

MAX_RULE_BYTES = 16 * 1024
PREVIEW_MEMBERS = 20


def _collection_names(shop: Shop, *rules: dict) -> dict[int, str]:
    """Titles of the collections the rules name (viewed_collection), in one query for all of them."""
    from backend.catalog.models import Collection

    ids: set[int] = set()

    def walk(node: dict) -> None:
        if not isinstance(node, dict):
            return
        for key in ("all", "any"):
            for child in node.get(key, []):
                walk(child)
        if "not" in node:
            walk(node["not"])
        if node.get("field") == "viewed_collection" and isinstance(node.get("value"), int):
            ids.add(node["value"])

    for rule in rules:
        walk(rule)
    return dict(Collection.objects.for_shop(shop).filter(pk__in=ids).values_list("pk", "title")) if ids else {}


def _collection_choices(shop: Shop) -> list[list]:
    """The shop's collections by title, so "viewed collection" is picked by name rather than typed as an id."""
    from backend.catalog.models import Collection

    return [list(row) for row in Collection.objects.for_shop(shop).order_by("title").values_list("pk", "title")[:500]]


def _clv_lines(shop: Shop, lang: str) -> tuple[str, str, str, str]:
    """The value model in plain words: which one, what its backtest showed (money the merchant can check), why,
    and, when P(alive) is withheld (its model lost), the shop's typical reorder gap to read recency against."""
    fit = latest_fit(shop.pk)
    if fit is None:
        return _("Not fitted yet."), "", "", ""
    backtest = fit.backtest
    if fit.method == fit.Method.RFM or backtest is None:
        reason = fit.reason_es if lang == "es" and fit.reason_es else fit.reason
        return _("RFM tiers (model not used: %(reason)s)") % {"reason": reason}, "", "", ""
    gap = "" if fit.method == fit.Method.MODEL or not fit.typical_gap_days else _(
        "Probability still active is not shown: the model that estimates it did not win the test. Use days since "
        "last order instead; your returning customers typically order again every %(gap)s days."
    ) % {"gap": round(fit.typical_gap_days)}
    es = lang == "es"
    label = clv_choice.LABELS.get(fit.method, (fit.method, fit.method))[1 if es else 0]
    line = _("%(model)s, chosen by testing every model on your own orders (%(n)s customers)") % {
        "model": label[:1].upper() + label[1:], "n": fit.n_customers}
    score = backtest.metrics.get(backtest.chosen, {})
    if "predicted_top" not in score:
        return line, "", "", gap
    locale = babel_locale(lang, shop.locale)
    sentence = _("Last quarter (%(start)s to %(end)s) we predicted %(predicted)s from the 20 %% of your customers we "
                 "ranked highest; they spent %(actual)s.") % {
        "start": format_date(backtest.cut + timedelta(days=1), "medium", locale=locale),
        "end": format_date(backtest.end, "medium", locale=locale),
        "predicted": format_price(Decimal(round(score["predicted_top"])), shop.currency, lang, shop.locale),
        "actual": format_price(Decimal(round(score["actual_top"])), shop.currency, lang, shop.locale)}
    return line, sentence, backtest.reason_es if es else backtest.reason, gap


def _money(shop: Shop, lang: str) -> Callable[[float], str]:
    """Amounts in rule summaries as the merchant reads prices: in the shop's currency and the page's language."""
    return lambda value: format_price(Decimal(str(value)), shop.currency, lang, shop.locale)


def _currency_mark(shop: Shop, lang: str) -> dict[str, str | bool]:
    """The currency symbol the builder shows beside a money input, on the side the page's language puts it."""
    sample = format_price(Decimal(1), shop.currency, lang, shop.locale)
    try:
        symbol = get_currency_symbol(shop.currency, locale=babel_locale(lang, shop.locale))
    except (ValueError, KeyError):
        symbol = shop.currency
    return {"symbol": symbol, "before": not sample.lstrip()[:1].isdigit()}


def _pct(ratio: float | None) -> str:
    return _("not enough data") if ratio is None else f"{100 * ratio:.1f} %"


def _js_words(lang: str) -> dict:
    """The words the builder's script writes into the page itself."""
    return {"anonymous": _("anonymous visitor"), "list_hint": _("separate several values with commas"),
            "no": _("no"), "yes": _("yes"), "remove": _("Remove"), "value": _("Value"), "and": _("and"),
            "days": _("days"), "field": _("field"), "operator": _("operator"),
            "condition": _("condition %(n)s"),
            "need_number": _("enter a number"),
            "need_range": _("enter a number from %(min)s to %(max)s"),
            "need_whole": _("enter a whole number"),
            "need_text": _("fill this in"),
            "need_choice": _("choose at least one"),
            "need_order": _("the first number must not be more than the second"),
            "groups": {"attributes": _("Customer"), "behaviour": _("Purchases"), "engagement": _("Visits"),
                       "predicted": _("Predicted value")},
            # The rule's own bilingual choice words, so a chosen tier or channel reads the same as in the summary.
            "tiers": {t: w[1 if lang == "es" else 0] for t, w in TIER_WORDS.items()},
            "channels": {c: w[1 if lang == "es" else 0] for c, w in CHANNEL_WORDS.items()}}


def error_place(path: str) -> str:
    """Where in the rule an error is, in words ("condition 2, value") instead of the JSON path ("all[1].value")."""
    if path == "name":
        return _("Name")
    # Only the indexes after all/any number conditions; one after "value" points into a between or list value.
    conditions = [int(n) + 1 for n in re.findall(r"(?:all|any)\[(\d+)\]", path)]
    tail = path.rsplit(".", 1)[-1] if "." in path else ""
    item = re.fullmatch(r"value\[(\d+)\]", tail)
    if item:
        n = int(item.group(1))
        part = {0: _("first value"), 1: _("second value")}.get(n) or _("value %(n)s") % {"n": n + 1}
    else:
        part = {"field": _("field"), "op": _("operator"), "value": _("value"), "days": _("days")}.get(tail, "")
    where = _("condition %(n)s") % {"n": ".".join(str(n) for n in conditions)} if conditions else _("Rule")
    return f"{where}, {part}" if part else where


def builder_context(shop: Shop, lang: str, rule_text: str) -> dict:
    """What the rule builder partial (templates/segments/_rules.html) needs, for any screen that edits a rule."""
    return {"rule_text": rule_text, "words": _js_words(lang), "fields": fields_catalog(lang),
            "currency": _currency_mark(shop, lang), "collections": _collection_choices(shop),
            "op_words": {op: words[1 if lang == "es" else 0] for op, words in OP_WORDS.items()}}


@merchant_view
@require_GET
def segment_list(request: HttpRequest) -> HttpResponse:
    shop = request.shop
    lang = page_lang(request, shop)
    ensure_presets(shop)
    settings = membership.settings_for(shop)
    segments = []
    rows = list(Segment.objects.for_shop(shop).order_by("pk"))
    names = _collection_names(shop, *(s.rules for s in rows if isinstance(s.rules, dict)))
    money = _money(shop, lang)
    for s in rows:
        try:
            summary = summarize(validate(s.rules), lang, settings.viewed_window_days, names, money)
        except RuleError:
            summary = "—"
        segments.append({"pk": s.pk, "name": display_name(s, lang), "slug": s.slug, "count": s.member_count,
                         "summary": summary, "active": s.is_active})
    end = timezone.now()
    start = end - timedelta(days=90)
    aov = metrics.average_order_value(shop, start, end)
    shop_metrics = [
        (metrics.DEFINITIONS["retention_rate"][lang], _pct(metrics.retention_rate(shop, start, end).value)),
        (metrics.DEFINITIONS["repeat_purchase_rate"][lang], _pct(metrics.repeat_purchase_rate(shop).value)),
        (metrics.DEFINITIONS["aov"][lang], _("not enough data") if aov is None else f"{aov} {shop.currency}"),
        (metrics.DEFINITIONS["conversion_rate"][lang], _pct(metrics.conversion_rate(shop, start, end).value)),
    ]
    clv, clv_backtest, clv_why, clv_gap = _clv_lines(shop, lang)
    return render(request, "segments/list.html", {
        "lang": lang, "shop": shop, "segments": segments, "metrics": shop_metrics,
        "clv": clv, "clv_backtest": clv_backtest, "clv_why": clv_why, "clv_gap": clv_gap,
    })


@merchant_view
@require_http_methods(["GET", "POST"])
def segment_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    shop = request.shop
    lang = page_lang(request, shop)
    segment = None
    if pk is not None:
        segment = Segment.objects.for_shop(shop).filter(pk=pk).first()
        if segment is None:
            raise Http404("no such segment in this shop")
    errors: list[dict] = []
    name = segment.name if segment else ""
    rule_text = json.dumps(segment.rules if segment else {"all": [{"field": "orders_count", "op": "gte",
                                                                      "value": 1}]}, indent=2)
    if request.method == "POST":
        name = request.POST.get("name", "").strip()[:120]
        rule_text = request.POST.get("rules", "")[:MAX_RULE_BYTES]
        try:
            rule = validate(parse_json(rule_text, max_bytes=MAX_RULE_BYTES, what="rule"))
        except RuleError as exc:
            errors = exc.errors
        except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError; so is bad UTF-8
            msg = getattr(exc, "reason", None) or getattr(exc, "msg", "unreadable")
            errors.append({"path": "rule", "text": _("not valid JSON (%(reason)s)") % {"reason": msg}})
        if not name:
            errors.append({"path": "name", "text": _("a name is required")})
        if not errors:
            before = None if segment is None else {"name": segment.name, "rules": segment.rules,
                                                   "is_active": segment.is_active}
            if segment is None:
                base = slugify(name)[:60] or "segment"
                slug, n = base, 2
                while Segment.objects.for_shop(shop).filter(slug=slug).exists():
                    slug, n = f"{base}-{n}", n + 1
                segment = Segment.objects.create(shop=shop, slug=slug, name=name, rules=rule)
            else:
                segment.name, segment.rules = name, rule
                segment.is_active = request.POST.get("active") == "on"
                segment.save(update_fields=["name", "rules", "is_active", "updated_at"])
            audit.record(shop, request, "segment.saved", f"segment:{segment.slug}", before,
                         {"name": segment.name, "rules": segment.rules, "is_active": segment.is_active})
            membership.forget_segments(shop)
            membership.evaluate_segment(segment)
            # Its time-based conditions may wake profiles at new moments: recomputed off the request.
            tasks.schedule_due_refresh(shop.pk)
            return redirect(link(request, f"/admin/segments/{segment.pk}/", lang, saved=1))
    return render(request, "segments/edit.html", {
        **builder_context(shop, lang, rule_text),
        "id_token": getattr(request, "session_token", ""),
        "lang": lang, "shop": shop, "segment": segment, "name": name,
        # RuleError's problems come in both languages; the view's own are already in the page's.
        "errors": [{"path": error_place(e["path"]), "text": e.get("text") or e[lang]} for e in errors],
        "saved": request.GET.get("saved") == "1",
        "display_name": display_name(segment, lang) if segment else "",
    }, status=400 if errors else 200)


@merchant_view
@require_POST
def segment_preview(request: HttpRequest) -> JsonResponse:
    """The builder calls this as the rule changes: validity, summary, member count and a few members."""
    shop = request.shop
    lang = page_lang(request, shop)
    if len(request.body) > MAX_RULE_BYTES:
        return JsonResponse({"ok": False, "errors": [{"path": "rule", "text": _("the rule is too large")}]},
                            status=413)
    try:
        payload = parse_json(request.body or b"{}", max_bytes=MAX_RULE_BYTES, what="rule")
        rule = validate(payload.get("rules") if isinstance(payload, dict) else None)
    except RuleError as exc:
        return JsonResponse({"ok": False, "errors": [{"path": e["path"], "where": error_place(e["path"]),
                                                      "text": e[lang]} for e in exc.errors]}, status=400)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError; so is bad UTF-8
        reason = getattr(exc, "reason", None) or getattr(exc, "msg", "unreadable")
        msg = _("not valid JSON (%(reason)s)") % {"reason": reason}
        return JsonResponse({"ok": False, "errors": [{"path": "rule", "text": msg}]}, status=400)
    ctx = membership.context_for(shop)
    members = CustomerProfile.objects.for_shop(shop).filter(is_active=True).filter(to_q(rule, ctx))
    rows = members.order_by(F("total_spent").desc(), "-pk").values(
        "pk", "email", "orders_count", "total_spent", "last_order_at", "value_tier")[:PREVIEW_MEMBERS]
    return JsonResponse({
        "ok": True,
        "count": members.count(),
        "summary": summarize(rule, lang, ctx.viewed_window_days, _collection_names(shop, rule), _money(shop, lang)),
        "members": [{"id": r["pk"], "email": r["email"], "orders": r["orders_count"],
                     "spent": str(r["total_spent"]), "tier": r["value_tier"],
                     "last_order": r["last_order_at"].date().isoformat() if r["last_order_at"] else ""}
                    for r in rows],
    })


@merchant_view
@require_http_methods(["GET", "POST"])
def merges(request: HttpRequest) -> HttpResponse:
    """Merged profiles with the identity that joined them; a merchant can split any of them again."""
    shop = request.shop
    lang = page_lang(request, shop)
    if request.method == "POST":
        raw = request.POST.get("merge", "")[:20]
        log = MergeLog.objects.for_shop(shop).filter(pk=int(raw)).first() if raw.isdecimal() else None
        if log is None:
            raise Http404("no such merge in this shop")
        kept, absorbed = unmerge(log, by=actor_of(request)[:255])
        audit.record(shop, request, "profile.unmerged", f"profile:{absorbed.pk}",
                     {"merged_into": kept.pk, "joined_by": log.joined_by_kind}, {"merged_into": None})
        from .tasks import update_profile

        update_profile(kept)
        update_profile(absorbed)
        return redirect(link(request, "/admin/customers/merges/", lang))
    logs = MergeLog.objects.for_shop(shop).filter(undone_at__isnull=True).select_related("kept", "absorbed") \
        .order_by("-merged_at")[:200]
    return render(request, "segments/merges.html", {"lang": lang, "shop": shop, "logs": logs,
                                                    "id_token": getattr(request, "session_token", "")})

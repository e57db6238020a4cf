"""Merchant screens and JSON API for experiments: define, start, stop, read results, promote the winner.

Pages at /admin/experiments/…, API at /api/admin/experiments…; all shop-scoped through dashboard.auth.merchant_view,
so another shop's experiment id is a 404. Every state change is written to the audit trail.
"""
from __future__ import annotations

import json
import math

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.core.json_input import JsonInputError, parse_json
from backend.dashboard import audit
from backend.dashboard.auth import merchant_view
from backend.dashboard.language import page_lang
from backend.dashboard.shell import link, page
from backend.storefront.merchandising import WidgetRuleSerializer, algorithm_choices, rule_as_json
from backend.storefront.models import Widget
from backend.storefront.names import algorithm_name, widget_name
from backend.storefront.names import options as algorithm_options

from .forms import MAX_ARMS, ExperimentInvalid, arms_from_form, clean_experiment, error_lines, popup_keys
from .models import Experiment
from .results import experiment_results, left_out
from .runtime import forget_running

MAX_BODY = 32 * 1024
# What the screen says for a refusal the JSON API reports by its plain reason.
REFUSALS = {
    "busy": gettext_lazy("Another experiment is already running on this target."),
    "only a draft experiment can start": gettext_lazy("Only a draft experiment can start."),
    "only a running experiment can stop": gettext_lazy("This experiment is not running."),
    "unknown variant": gettext_lazy("There is no such variant."),
}


class Refused(Exception):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


def _get(request: HttpRequest, pk: int) -> Experiment:
    found = Experiment.objects.for_shop(request.shop).filter(pk=pk).first()
    if found is None:
        raise Http404("no such experiment in this shop")
    return found


def _snapshot(exp: Experiment) -> dict:
    return {"name": exp.name, "status": exp.status, "target": f"{exp.target_kind}:{exp.target_key}",
            "arms": exp.arms, "metric": exp.primary_metric, "winner": exp.winner}


def create(request: HttpRequest, data: dict) -> Experiment:
    fields = clean_experiment(request.shop, data)
    exp = Experiment.objects.create(shop=request.shop, **fields)
    audit.record(request.shop, request, "experiment.create", f"experiment:{exp.pk}", None, _snapshot(exp))
    return exp


def start(request: HttpRequest, exp: Experiment) -> None:
    with transaction.atomic():
        exp = Experiment.objects.for_shop(request.shop).select_for_update().get(pk=exp.pk)
        if exp.status != Experiment.Status.DRAFT:
            raise Refused("only a draft experiment can start")
        busy = Experiment.objects.for_shop(request.shop).filter(
            status=Experiment.Status.RUNNING, target_kind=exp.target_kind, target_key=exp.target_key).exists()
        if busy:
            raise Refused("busy", 409)
        before = _snapshot(exp)
        exp.status, exp.started_at = Experiment.Status.RUNNING, timezone.now()
        exp.save(update_fields=["status", "started_at"])
        audit.record(request.shop, request, "experiment.start", f"experiment:{exp.pk}", before, _snapshot(exp))
    forget_running(request.shop)


def stop(request: HttpRequest, exp: Experiment) -> None:
    with transaction.atomic():
        exp = Experiment.objects.for_shop(request.shop).select_for_update().get(pk=exp.pk)
        if exp.status != Experiment.Status.RUNNING:
            raise Refused("only a running experiment can stop")
        before = _snapshot(exp)
        exp.status, exp.stopped_at = Experiment.Status.STOPPED, timezone.now()
        exp.save(update_fields=["status", "stopped_at"])
        audit.record(request.shop, request, "experiment.stop", f"experiment:{exp.pk}", before, _snapshot(exp))
    forget_running(request.shop)


def promote(request: HttpRequest, exp: Experiment, arm_key: str) -> None:
    """Write the arm's settings into the widget rule (audited), record the winner, stop the experiment."""
    arm = next((a for a in exp.arms if a["key"] == arm_key), None)
    if arm is None:
        raise Refused("unknown variant")
    if exp.target_kind != "widget" or exp.target_key not in Widget.values:
        raise Refused("only widget experiments can be promoted here; edit the popup campaign instead")
    shop = request.shop
    before_rule = rule_as_json(shop, exp.target_key)
    data = {k: v for k, v in before_rule.items() if k not in ("widget", "algorithm_choices")}
    data.update(arm.get("config") or {})
    serializer = WidgetRuleSerializer(data=data, shop=shop, widget=exp.target_key)
    if not serializer.is_valid():
        raise Refused(json.dumps(serializer.errors))
    with transaction.atomic():
        serializer.save()
        after_rule = rule_as_json(shop, exp.target_key)
        audit.record(shop, request, "widget_rule.update", f"widget:{exp.target_key}", before_rule, after_rule)
        locked = Experiment.objects.for_shop(shop).select_for_update().get(pk=exp.pk)
        before = _snapshot(locked)
        if locked.status == Experiment.Status.RUNNING:
            locked.status, locked.stopped_at = Experiment.Status.STOPPED, timezone.now()
        locked.winner = arm_key
        locked.save(update_fields=["status", "stopped_at", "winner"])
        audit.record(shop, request, "experiment.promote", f"experiment:{exp.pk}", before, _snapshot(locked))
    forget_running(shop)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def results_json(exp: Experiment, lang: str) -> dict:
    res = experiment_results(exp, lang)
    return {
        "id": exp.pk, "name": exp.name, "status": exp.status, "metric": res.metric, "winner": exp.winner,
        "srm": {"p_value": res.srm.p_value, "mismatch": res.srm.mismatch, "observed": list(res.srm.observed)},
        # Visitors first exposed before this (the old page-load hold-out rule) are not counted; null: none were.
        "counts_from": exp.counts_from.isoformat() if exp.counts_from else None, "left_out": left_out(exp),
        "arms": [{
            "arm": a.arm, "visitors": a.visitors, "conversions": a.conversions, "revenue": str(a.revenue),
            "difference": a.comparison.difference if a.comparison else None,
            # An unbounded interval (too few visitors) is null: JSON has no Infinity.
            "lower": _finite(a.comparison.lower) if a.comparison else None,
            "upper": _finite(a.comparison.upper) if a.comparison else None,
            "p_value": a.comparison.p_value if a.comparison else None,
            "verdict": a.verdict.text if a.verdict else "", "verdict_kind": a.verdict.kind if a.verdict else "",
        } for a in res.arms],
    }


def _fmt_diff(value: float | None, metric: str) -> str:
    if value is None:
        return ""
    return f"{value * 100:+.2f} pp" if metric == "conversion" else f"{value:+.2f}"


def campaign_names(shop) -> dict[str, str]:  # noqa: ANN001 - a Shop
    from backend.popups.models import Campaign

    return {str(pk): name for pk, name in Campaign.objects.for_shop(shop).values_list("pk", "name")}


def target_label(kind: str, key: str, campaigns: dict[str, str]) -> str:
    """What the experiment tests, by the name the merchant knows it by (never "widget: also_bought")."""
    if kind == "widget":
        return widget_name(key)
    return campaigns.get(key) or _("Popup campaign (deleted)")


def _target_choices(request: HttpRequest) -> list[tuple[str, str]]:
    campaigns = campaign_names(request.shop)
    choices = [(f"widget:{w}", widget_name(w)) for w in Widget.values]
    choices += [(f"popup:{k}", _("Popup: %(name)s") % {"name": campaigns.get(k, k)}) for k in popup_keys(request.shop)]
    return choices


def _days(exp: Experiment) -> int | None:
    if not exp.started_at:
        return None
    return max(((exp.stopped_at or timezone.now()) - exp.started_at).days, 0)


def _row(exp: Experiment, campaigns: dict[str, str]) -> dict:
    return {"e": exp, "target": target_label(exp.target_kind, exp.target_key, campaigns), "days": _days(exp)}


@require_http_methods(["GET", "POST"])
@merchant_view
def experiment_list(request: HttpRequest) -> HttpResponse:
    lang = page_lang(request, request.shop)
    errors: dict[str, str] = {}
    if request.method == "POST":
        kind, _sep, key = request.POST.get("target", "")[:120].partition(":")
        data = {"name": request.POST.get("name", ""), "target_kind": kind, "target_key": key,
                "primary_metric": request.POST.get("primary_metric", ""), "arms": arms_from_form(request.POST)}
        try:
            exp = create(request, data)
            return HttpResponseRedirect(link(request, f"/admin/experiments/{exp.pk}/"))
        except ExperimentInvalid as bad:
            errors = bad.errors
    experiments = Experiment.objects.for_shop(request.shop).order_by("-created_at", "-pk")[:100]
    campaigns = campaign_names(request.shop)
    return page(request, "experiments/list.html", _("Experiments"), {
        "lang": lang, "rows": [_row(e, campaigns) for e in experiments], "errors": error_lines(errors),
        "post": request.POST, "targets": _target_choices(request), "arm_rows": range(MAX_ARMS),
        # Each widget's own algorithms, grouped under its name: a variant can only pick from its widget's group.
        "algorithm_groups": [(w, widget_name(w), [o for o in algorithm_options(w) if o.value])
                             for w in Widget.values if len(algorithm_choices(w)) > 1],
        "metrics": Experiment.Metric.values,
    }, status=400 if errors else 200)


def _interval(lower: float | None, upper: float | None, metric: str) -> str:
    """The 95% interval, or "" while it is still unbounded (too few visitors: never print infinities)."""
    if lower is None or upper is None or not (math.isfinite(lower) and math.isfinite(upper)):
        return ""
    return f"{_fmt_diff(lower, metric)} … {_fmt_diff(upper, metric)}"


def _thin(data: dict | None, arm: str) -> bool:
    """Too little evidence to switch to `arm`: it has not clearly won (or, for the control, not every other arm has
    clearly lost). Promoting then needs the merchant to confirm."""
    if not data:
        return True
    arms = data["arms"]
    if arms and arms[0]["arm"] == arm:
        return not all(a["verdict_kind"] == "lose" for a in arms[1:])
    return next((a["verdict_kind"] for a in arms if a["arm"] == arm), "") != "win"


@require_GET
@merchant_view
def experiment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    exp = _get(request, pk)
    lang = page_lang(request, request.shop)
    data = results_json(exp, lang) if exp.started_at else None
    planned = max(exp.planned_visitors_per_arm, 1)
    progress = None
    if data:
        for arm in data["arms"]:
            arm["rate"] = f"{arm['conversions'] / arm['visitors'] * 100:.2f}%" if arm["visitors"] else "—"
            arm["interval"] = _interval(arm["lower"], arm["upper"], exp.primary_metric)
        fewest = min(a["visitors"] for a in data["arms"]) if data["arms"] else 0
        progress = {"fewest": fewest, "planned": planned, "percent": min(100, round(100 * fewest / planned))}
    srm_text = ""
    counting_text = _counting_text(exp)
    if data and data["srm"]["mismatch"]:
        srm_text = _("Sample ratio mismatch: visitors are not split as configured (p = %(p)s). Check the setup "
                     "before trusting these results.") % {"p": f"{data['srm']['p_value']:.2g}"}
    confirm = request.GET.get("confirm", "")
    confirm_arm = request.GET.get("arm", "")[:50]
    if confirm not in ("stop", "promote") or (confirm == "stop" and exp.status != Experiment.Status.RUNNING) or (
            confirm == "promote" and confirm_arm not in [a["key"] for a in exp.arms]):
        confirm = ""
    error = request.GET.get("error", "")[:200]
    return page(request, "experiments/detail.html", _("Experiments"), {
        "lang": lang, "exp": exp, "data": data, "srm_text": srm_text, "progress": progress,
        "counting_text": counting_text,
        "target": target_label(exp.target_kind, exp.target_key, campaign_names(request.shop)),
        "days": _days(exp), "arms": [{"key": a["key"], "weight": a.get("weight", 1),
                                      "config": _config_words(exp, a.get("config") or {})} for a in exp.arms],
        "confirm": confirm, "confirm_arm": confirm_arm, "detail_href": link(request, f"/admin/experiments/{pk}/"),
        "confirm_thin": confirm == "promote" and _thin(data, confirm_arm),
        "promoted": request.GET.get("promoted") == "1",
        "error": str(REFUSALS.get(error, _("That could not be done.") if error else "")),
    })


def _has_popup_holdout(exp: Experiment) -> bool:
    return exp.target_kind == "popup" and any((a.get("config") or {}).get("show") is False for a in exp.arms)


def _counting_text(exp: Experiment) -> str:
    """How a popup hold-out is counted, and, on an experiment begun under the old rule, what the results leave
    out: the merchant must not compare numbers recorded two ways without being told."""
    if exp.counts_from is not None:
        return _("Results count visitors from %(date)s on. Before then, hold-out visitors were counted as soon as a "
                 "page loaded, not when the popup would have appeared, so the variants were not comparable: "
                 "%(n)s visitors recorded earlier are left out.") % {
            "date": date_format(localtime(exp.counts_from), "Y-m-d H:i"), "n": left_out(exp)}
    if _has_popup_holdout(exp):
        return _("Hold-out visitors are counted when the popup would have appeared for them (the moment the other "
                 "variants' visitors see it), not when a page loads.")
    return ""


def _config_words(exp: Experiment, config: dict) -> list[str]:
    """What a variant changes, in words ("Algorithm: Similar baskets"), not a dict dump."""
    words = []
    if config.get("enabled") is False or config.get("show") is False:
        words.append(_("Off (holdout)"))
    if config.get("algorithm"):
        words.append(f"{_('Algorithm')}: {algorithm_name(exp.target_key, config['algorithm'])}")
    for lang, label in (("en", _("Title (English)")), ("es", _("Title (Spanish)"))):
        title = config.get(f"title_{lang}") or (config.get("copy") or {}).get(lang, {}).get("headline")
        if title:
            words.append(f"{label}: {title}")
    offer = config.get("offer") or {}
    if offer.get("kind") == "percent":
        words.append(_("Offer: %(n)s%% off") % {"n": offer.get("value")})
    elif offer.get("kind") == "free_shipping":
        words.append(_("Offer: free shipping"))
    return words or [_("Current setting")]


@require_POST
@merchant_view
def experiment_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    exp = _get(request, pk)
    wants_json = request.path.startswith("/api/")
    try:
        confirmed = wants_json or request.POST.get("confirm") == "1"
        if action == "start":
            start(request, exp)
        elif action == "stop":
            if not confirmed:  # the screen asks first (a page of its own: works without JavaScript)
                return HttpResponseRedirect(link(request, f"/admin/experiments/{pk}/", confirm="stop"))
            stop(request, exp)
        elif action == "promote":
            arm = request.POST.get("arm", "")[:50]
            if not arm and request.content_type == "application/json":
                arm = str(_json_body(request).get("arm", ""))[:50]
            if not confirmed and _thin(results_json(exp, page_lang(request, request.shop)) if exp.started_at
                                       else None, arm):
                return HttpResponseRedirect(link(request, f"/admin/experiments/{pk}/", confirm="promote", arm=arm))
            promote(request, exp, arm)
        else:
            raise Http404("unknown action")
    except Refused as refused:
        if wants_json:
            return JsonResponse({"error": refused.reason}, status=refused.status)
        return HttpResponseRedirect(link(request, f"/admin/experiments/{pk}/", error=refused.reason))
    if wants_json:
        return JsonResponse(results_json(_get(request, pk), page_lang(request, request.shop)))
    extra = {"promoted": 1} if action == "promote" else {}
    return HttpResponseRedirect(link(request, f"/admin/experiments/{pk}/", **extra))


def _json_body(request: HttpRequest) -> dict:
    try:
        data = parse_json(request.body or b"{}", max_bytes=MAX_BODY)
    except JsonInputError as exc:
        raise Refused(exc.reason, exc.status) from exc
    if not isinstance(data, dict):
        raise Refused("body must be a JSON object")
    return data


@require_http_methods(["GET", "POST"])
@merchant_view
def api_list(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        try:
            exp = create(request, _json_body(request))
        except Refused as refused:
            return JsonResponse({"error": refused.reason}, status=refused.status)
        except ExperimentInvalid as bad:
            return JsonResponse({"errors": bad.errors}, status=400)
        return JsonResponse({"id": exp.pk, **_snapshot(exp)}, status=201)
    rows = Experiment.objects.for_shop(request.shop).order_by("-created_at", "-pk")[:100]
    return JsonResponse({"experiments": [{"id": e.pk, **_snapshot(e)} for e in rows]})


@require_GET
@merchant_view
def api_detail(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(results_json(_get(request, pk), page_lang(request, request.shop)))

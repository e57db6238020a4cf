"""The merchant's screen for ad audiences: each audience with its destination, size here, matched size, last run and
its result, a warning below the platforms' minimum (about 100 people); create from a preset; connect the Meta and
Google ad accounts (tokens stored encrypted, never shown again); run now, pause, pick the refresh; CSV downloads.

Every view runs under the dashboard's `merchant_view` and looks ids up inside `request.shop` (another shop's
audience is a 404). Changes go to the audit trail, tokens never do.
"""
from __future__ import annotations

import re

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.dashboard import audit
from backend.dashboard.auth import merchant_view
from backend.dashboard.language import page_lang
from backend.dashboard.shell import link

from .csv_export import FORMATS, export_lines
from .models import AdConnection, Audience, AudienceRun, Platform
from .presets import PRESETS, create_from_preset, display_name, preset_name

MIN_AUDIENCE = 100  # Meta and Google serve an audience only from about 100 matched people
REFRESH_CHOICES = (60, 6 * 60, 24 * 60)
_ACCOUNT = {Platform.META: re.compile(r"^(act_)?\d{1,20}$"), Platform.GOOGLE: re.compile(r"^\d{3}-?\d{3}-?\d{4}$")}
MAX_TOKEN = 4096


def _refresh_words() -> dict[int, str]:
    return {60: _("Every hour"), 6 * 60: _("Every 6 hours"), 24 * 60: _("Every day")}


def _purpose_words() -> dict[str, str]:
    return {Audience.Purpose.TARGET: _("Target"), Audience.Purpose.EXCLUDE: _("Exclude")}


def _rows(shop_id: int, lang: str) -> list[dict]:
    refresh, purpose = _refresh_words(), _purpose_words()
    out = []
    for a in Audience.objects.for_shop(shop_id).select_related("connection").order_by("pk"):
        out.append({
            "a": a, "name": display_name(a, lang),
            "destination": f"{a.connection.get_platform_display()} · {a.connection.account_id}",
            "purpose": purpose.get(a.purpose, a.purpose), "refresh": refresh.get(a.refresh_minutes, ""),
            # The platform's matched count when it reports one: that is what its minimum applies to.
            "small": (a.size if a.matched_size is None else min(a.size, a.matched_size)) < MIN_AUDIENCE,
            "result": {"ok": _("OK"), "failed": _("Failed")}.get(a.last_result, ""),
        })
    return out


def _connect(request: HttpRequest) -> list[str]:
    shop = request.shop
    platform = request.POST.get("platform", "")
    if platform not in _ACCOUNT:
        return [_("Choose Meta or Google.")]
    account = request.POST.get("account_id", "").strip()[:64]
    login = request.POST.get("login_account_id", "").strip()[:64]
    token = request.POST.get("access_token", "").strip()
    errors = []
    if not _ACCOUNT[platform].match(account):
        errors.append(_("Account id: digits only (Meta: the ad account id, with or without act_; Google: the "
                        "10-digit customer id)."))
    if login and not _ACCOUNT[Platform.GOOGLE].match(login):
        errors.append(_("Manager account id: the 10-digit customer id."))
    if not token or len(token) > MAX_TOKEN or any(c.isspace() for c in token):
        errors.append(_("Access token: paste the token from the platform (no spaces)."))
    if errors:
        return errors
    existing = AdConnection.objects.for_shop(shop).filter(platform=platform).first()
    before = {"platform": platform, "account_id": existing.account_id} if existing else None
    connection = existing or AdConnection(shop=shop, platform=platform)
    connection.account_id, connection.login_account_id, connection.access_token = account, login, token
    connection.save()
    audit.record(shop, request, "ad_connection.saved", f"ad_connection:{platform}", before,
                 {"platform": platform, "account_id": account})  # never the token
    return []


def _create(request: HttpRequest) -> list[str]:
    shop = request.shop
    key = request.POST.get("preset", "")
    raw = request.POST.get("connection", "")[:12]
    connection = AdConnection.objects.for_shop(shop).filter(pk=int(raw)).first() if raw.isdecimal() else None
    if key not in PRESETS:
        return [_("Choose a preset.")]
    if connection is None:
        return [_("Connect an ad account first.")]
    audience = create_from_preset(key, connection, page_lang(request, shop))
    audit.record(shop, request, "audience.created", f"audience:{audience.pk}", None,
                 {"name": audience.name, "purpose": audience.purpose, "platform": connection.platform})
    _queue(audience, AudienceRun.Trigger.MANUAL)
    return []


def _queue(audience: Audience, trigger: str) -> None:
    from .tasks import sync_audience_task

    transaction.on_commit(lambda: sync_audience_task.delay(audience.shop_id, audience.pk, trigger))


@merchant_view
@require_http_methods(["GET", "POST"])
def audience_list(request: HttpRequest) -> HttpResponse:
    shop = request.shop
    lang = page_lang(request, shop)
    errors: list[str] = []
    if request.method == "POST":
        action = request.POST.get("action", "")
        errors = _connect(request) if action == "connect" else _create(request) if action == "create" else [
            _("Unknown action.")]
        if not errors:
            return redirect(link(request, "/admin/audiences/", lang, saved=1))
    connections = {c.platform: c for c in AdConnection.objects.for_shop(shop)}
    return render(request, "audiences/list.html", {
        "lang": lang, "shop": shop, "rows": _rows(shop.pk, lang), "errors": errors, "min_size": MIN_AUDIENCE,
        "saved": request.GET.get("saved") == "1", "connections": connections,
        "meta": connections.get(Platform.META), "google": connections.get(Platform.GOOGLE),
        "presets": [(k, preset_name(k, lang)) for k in PRESETS], "formats": list(FORMATS),
        "refresh_choices": list(_refresh_words().items()),
    }, status=400 if errors else 200)


@merchant_view
@require_POST
def audience_update(request: HttpRequest, pk: int) -> HttpResponse:
    shop = request.shop
    lang = page_lang(request, shop)
    audience = Audience.objects.for_shop(shop).filter(pk=pk).first()
    if audience is None:
        raise Http404("no such audience in this shop")
    action = request.POST.get("action", "")
    before = {"is_active": audience.is_active, "refresh_minutes": audience.refresh_minutes}
    if action == "run":
        _queue(audience, AudienceRun.Trigger.MANUAL)
        return redirect(link(request, "/admin/audiences/", lang, saved=1))
    if action == "pause":
        audience.is_active = not audience.is_active
    elif action == "refresh":
        raw = request.POST.get("refresh_minutes", "")
        if not raw.isdecimal() or int(raw) not in REFRESH_CHOICES:
            return HttpResponse(_("Refresh: choose one of the listed intervals."), status=400)
        audience.refresh_minutes = int(raw)
    else:
        return HttpResponse(_("Unknown action."), status=400)
    audience.save(update_fields=["is_active", "refresh_minutes"])
    audit.record(shop, request, "audience.updated", f"audience:{audience.pk}", before,
                 {"is_active": audience.is_active, "refresh_minutes": audience.refresh_minutes})
    if action == "pause" and not audience.is_active:
        _queue(audience, AudienceRun.Trigger.MANUAL)  # a paused audience empties its destination
    return redirect(link(request, "/admin/audiences/", lang, saved=1))


@merchant_view
@require_GET
def audience_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    shop = request.shop
    audience = Audience.objects.for_shop(shop).filter(pk=pk).first()
    if audience is None or fmt not in FORMATS:
        raise Http404("no such audience or format")
    audit.record(shop, request, "audience.exported", f"audience:{audience.pk}", None, {"format": fmt})
    response = StreamingHttpResponse(export_lines(audience, fmt), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audience-{audience.pk}-{fmt}.csv"'
    return response

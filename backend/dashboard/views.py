"""Cockpit pages: home/onboarding, sign-in (WooCommerce and one-time links), settings, the audit trail."""
from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth import authenticate as django_authenticate
from django.forms.models import model_to_dict
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.events.models import Event, EventType
from backend.shops.models import CustomerDataExport, Shop, SyncRun
from backend.storefront.access import client_ip
from backend.storefront.models import Widget, WidgetRule

from . import activity, audit, scoreboard
from .auth import (
    forget_sign_in_attempts,
    merchant_view,
    shop_from_link,
    sign_in,
    sign_in_attempt_allowed,
    sign_out,
)
from .language import asked_lang, page_lang
from .models import AuditEntry, ShopMember, ShopSettings
from .shell import link, page

AUDIT_PAGE = 200


def theme_editor_url(shop: Shop) -> str:
    from django.conf import settings

    return (f"https://{shop.domain}/admin/themes/current/editor?context=apps"
            f"&activateAppId={settings.SHOPIFY_API_KEY}/app-embed")


def checklist(shop: Shop) -> list[tuple[str, bool]]:
    """Derived from what the store and its storefront actually did, not from what the merchant ticked.

    Shopify: the app embed is on (events arrive), blocks are placed (impressions), a widget is live. WooCommerce has
    no theme editor: the store is connected (wc-auth finished), the plugin is live (it fetched its configuration,
    signed), the widgets are placed (impressions), a widget is live.
    """
    events = Event.objects.for_shop(shop)
    impressions = events.filter(type=EventType.WIDGET_IMPRESSION)
    saved = dict(WidgetRule.objects.for_shop(shop).values_list("widget", "enabled"))
    any_enabled = any(saved.get(w, True) for w in Widget.values)  # an unsaved rule is on by default
    recent = impressions.filter(created_at__gte=timezone.now() - timedelta(days=7)).exists()
    placed, live = impressions.exists(), any_enabled and recent
    if shop.platform == Shop.Platform.WOOCOMMERCE:
        from integrations.woocommerce.models import WooStore

        store = WooStore.objects.for_shop(shop).first()
        connected = store is not None and shop.is_active and bool(shop.access_token)  # as the Connection card
        return [("step_connect", connected), ("step_plugin", connected and store.plugin_seen_at is not None),
                ("step_blocks", placed), ("step_live", live)]
    return [("step_embed", events.exists()), ("step_blocks", placed), ("step_live", live)]


def _change(figure: scoreboard.Figure) -> str:
    change = figure.change
    return "" if change is None else f"{change * 100:+.0f}%"


def _board(request: HttpRequest, shop: Shop, lang: str) -> dict:
    """The scoreboard as the template shows it: money in the shop's currency and the page's language."""
    from backend.storefront.pricing import format_price

    from .analytics_views import PERIODS, _period, campaign_names, source_name

    days = _period(request)
    board = scoreboard.scoreboard(shop, days)
    currency = ShopSettings.of(shop).currency_override or shop.currency

    def money(amount: object) -> str:
        return format_price(amount, currency, lang, shop.locale)

    rate = board.click_to_order
    names = campaign_names(shop) if any(b.kind == "popup" for b in board.best) else {}
    return {
        "days": days, "empty": board.empty,
        "periods": [(p, link(request, "/admin/", lang, days=p)) for p in PERIODS],
        "figures": [
            {"id": "revenue", "label": _("Revenue from the app"), "value": money(board.revenue.now),
             "before": money(board.revenue.before), "change": _change(board.revenue)},
            {"id": "orders", "label": _("Orders from the app"), "value": board.orders.now,
             "before": board.orders.before, "change": _change(board.orders)},
            {"id": "conversion", "label": _("Clicks that became orders"),
             "value": "—" if rate.now is None else f"{rate.now * 100:.1f}%",
             "before": "—" if rate.before is None else f"{rate.before * 100:.1f}%", "change": _change(rate)},
        ],
        "view_revenue": money(board.view_revenue.now), "view_orders": board.view_orders.now,
        "best": [{"name": source_name(b.kind, b.key, lang, names), "kind": b.kind, "revenue": money(b.revenue),
                  "orders": b.orders} for b in board.best],
    }


@require_GET
@merchant_view
def home(request: HttpRequest) -> HttpResponse:
    shop = request.shop
    run = SyncRun.objects.for_shop(shop).order_by("-started_at").first()
    steps = checklist(shop)
    ready = all(done for _key, done in steps)
    return page(request, "dashboard/home.html", _("Home") if ready else _("Getting started"), {
        "connected": shop.is_active and bool(shop.access_token),
        "run": run, "sync": sync_status(run) if run else None,
        "sync_api": link(request, "/api/admin/sync"),
        "steps": steps, "ready": ready, "woocommerce": shop.platform == Shop.Platform.WOOCOMMERCE,
        "board": _board(request, shop, page_lang(request, shop)) if ready else None,
        "editor_url": theme_editor_url(shop) if shop.platform == Shop.Platform.SHOPIFY else "",
    })


STAGE_NAMES = {"collections": gettext_lazy("Collections"), "products": gettext_lazy("Products"),
               "customers": gettext_lazy("Customers"), "orders": gettext_lazy("Orders")}


def sync_status(run: SyncRun) -> dict:
    """The sync card's words and figure, the same for the page and for its polling (api/admin/sync)."""
    percent = run.percent
    if run.status == SyncRun.Status.DONE:
        label = _("Done")
    elif run.status == SyncRun.Status.RUNNING:
        stage = STAGE_NAMES.get(run.current_stage)
        label = _("Running: %(stage)s") % {"stage": stage} if stage else _("Running")
    elif run.status == SyncRun.Status.FAILED:
        label = _("Failed")
    else:
        label = _("Cancelled")
    return {"status": run.status, "percent": percent, "text": f"{label} · {percent}%"}


@require_GET
@merchant_view
def sync_api(request: HttpRequest) -> JsonResponse:
    """The latest sync's progress, polled by Home's sync card while the run is going (no run: 404)."""
    run = SyncRun.objects.for_shop(request.shop).order_by("-started_at").first()
    if run is None:
        return JsonResponse({"error": "no sync yet"}, status=404)
    response = JsonResponse(sync_status(run))
    response["Cache-Control"] = "no-store"
    return response


@csrf_protect
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """Standalone sign-in (WooCommerce merchants): a Django user who is a member of a shop."""
    lang = asked_lang(request) or "en"
    nxt = request.GET.get("next", "/admin/")
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}) or not nxt.startswith("/admin/"):
        nxt = "/admin/"
    error = False
    if request.method == "POST":
        username = request.POST.get("username", "")[:150]
        if not sign_in_attempt_allowed(client_ip(request), username):
            return HttpResponse(_("Too many failed sign-ins; try again in 15 minutes."), status=429,
                                content_type="text/plain")
        user = django_authenticate(request, username=username, password=request.POST.get("password", "")[:256])
        member = (ShopMember.all_shops.filter(user=user, shop__state=Shop.State.INSTALLED)
                  .select_related("shop").order_by("pk").first()) if user else None
        if member is not None:
            forget_sign_in_attempts(client_ip(request), username)
            sign_in(request, member.shop, actor=f"user:{user.get_username()}"[:255])
            return HttpResponseRedirect(nxt)
        error = True
    return render(request, "dashboard/login.html", {"lang": lang, "error": error},
                  status=401 if error else 200)


@require_POST
@csrf_protect
def logout(request: HttpRequest) -> HttpResponse:
    sign_out(request)
    return HttpResponseRedirect("/admin/login/")


@require_GET
def login_link(request: HttpRequest) -> HttpResponse:
    """A signed one-time link (e.g. from the WooCommerce plugin's settings page): signs in, then home."""
    found = shop_from_link(request.GET.get("token", "")[:512])
    if found is None:
        return HttpResponse(_("This sign-in link is invalid, used or expired."), status=403, content_type="text/plain")
    shop, actor = found
    sign_in(request, shop, actor=actor)
    return HttpResponseRedirect("/admin/")


class SettingsForm(forms.Form):
    # Labels name each field in the page's language when a value is refused (never the raw field key).
    attribution_window_days = forms.IntegerField(min_value=1, max_value=90,
                                                 label=gettext_lazy("Attribution window (days)"))
    data_retention_days = forms.IntegerField(min_value=30, max_value=3650,
                                             label=gettext_lazy("Keep storefront events for (days)"))
    locale_override = forms.ChoiceField(choices=[("", "—"), ("es", "Español"), ("en", "English")], required=False,
                                        label=gettext_lazy("Admin language"))
    currency_override = forms.RegexField(
        regex=r"^[A-Z]{3}$", required=False, max_length=3, label=gettext_lazy("Currency shown (blank: the shop's)"),
        error_messages={"invalid": gettext_lazy("Use a three-letter currency code such as EUR or USD.")})


SETTINGS_FIELDS = list(SettingsForm.base_fields)


@require_http_methods(["GET", "POST"])
@merchant_view
def settings_page(request: HttpRequest) -> HttpResponse:
    shop = request.shop
    current = ShopSettings.of(shop)
    before = model_to_dict(current, fields=SETTINGS_FIELDS) if current.pk else None
    form = SettingsForm(request.POST if request.method == "POST" else None,
                        initial=model_to_dict(current, fields=SETTINGS_FIELDS))
    if request.method == "POST" and form.is_valid():
        for name, value in form.cleaned_data.items():
            setattr(current, name, value)
        current.updated_at = timezone.now()
        current.save()
        audit.record(shop, request, "settings.update", "settings", before,
                     model_to_dict(current, fields=SETTINGS_FIELDS))
        # A new admin language shows at once; otherwise the page keeps the language it was asked in.
        return HttpResponseRedirect(link(request, "/admin/settings/", current.locale_override or None, saved=1))
    exports = CustomerDataExport.objects.for_shop(shop).order_by("-created_at")[:50]
    return page(request, "dashboard/settings.html", _("Settings"), {
        "form": form, "saved": request.GET.get("saved") == "1",
        "exports": [{"e": e, "href": link(request, f"/admin/settings/exports/{e.pk}.json")} for e in exports],
    }, status=400 if form.errors else 200)


@require_GET
@merchant_view
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """A customer's data gathered for a GDPR access request, for the merchant to send on (logged as accessed)."""
    export = CustomerDataExport.objects.for_shop(request.shop).filter(pk=pk).first()
    if export is None:
        raise Http404("no such export in this shop")
    audit.record(request.shop, request, "gdpr_export.download", f"export:{export.request_id}", None, None)
    response = JsonResponse(export.data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="customer-data-{export.pk}.json"'
    return response


@require_GET
@merchant_view
def audit_page(request: HttpRequest) -> HttpResponse:
    entries = list(AuditEntry.objects.for_shop(request.shop).order_by("-created_at", "-pk")[:AUDIT_PAGE])
    lines = activity.read(request.shop, entries, page_lang(request, request.shop))
    return page(request, "dashboard/audit.html", _("Activity"), {"lines": lines})

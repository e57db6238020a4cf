"""Analytics pages and exports; they read DailyRollup rows only (the Celery job computes them)."""
from __future__ import annotations

import csv
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from backend.storefront.rules import DEFAULT_TITLES

from .auth import merchant_view
from .charts import bar_chart, line_chart
from .language import page_lang
from .models import DailyRollup, ShopSettings
from .rollups import rollup_shop
from .shell import link, page

PERIODS = (7, 30, 90)
_SUMS = ("impressions", "clicks", "add_to_carts", "orders", "revenue", "view_orders", "view_revenue", "discount_cost")


def _period(request: HttpRequest) -> int:
    raw = request.GET.get("days", "30")
    return int(raw) if raw.isdecimal() and int(raw) in PERIODS else 30


def source_name(kind: str, key: str, lang: str, campaigns: dict[str, str] | None = None) -> str:
    """Widgets by their default title in the page's language; popups ("popup:<id>") by campaign name."""
    if kind == "widget":
        return DEFAULT_TITLES.get(key, {}).get(lang, key)
    return (campaigns or {}).get(key) or _("Popup campaign (deleted)")


def campaign_names(shop) -> dict[str, str]:  # noqa: ANN001 - a Shop
    from backend.popups.models import Campaign

    return {f"popup:{pk}": name for pk, name in Campaign.objects.for_shop(shop).values_list("pk", "name")}


def summary(shop, days: int, lang: str) -> dict:  # noqa: ANN001 - a Shop
    since = timezone.now().date() - timedelta(days=days - 1)
    rows = list(DailyRollup.objects.for_shop(shop).filter(day__gte=since).order_by("day", "source_kind",
                                                                                   "source_key"))
    sources: dict[tuple[str, str], dict] = defaultdict(lambda: dict.fromkeys(_SUMS, 0))
    per_day: dict[str, Decimal] = {}
    channels: dict[str, Decimal] = defaultdict(Decimal)
    latest_shop = None
    for r in rows:
        if r.source_kind == "shop":
            latest_shop = r
            for channel, amount in (r.extra.get("channels") or {}).items():
                channels[channel] += Decimal(amount)
            continue
        bucket = sources[(r.source_kind, r.source_key)]
        for name in _SUMS:
            bucket[name] += getattr(r, name)
        if r.source_kind == "widget":
            day = r.day.isoformat()
            per_day[day] = per_day.get(day, Decimal(0)) + r.revenue
    table = []
    names = campaign_names(shop)
    for (kind, key), s in sorted(sources.items()):
        ctr = (s["clicks"] / s["impressions"]) if s["impressions"] else None
        table.append({"kind": kind, "key": key, "name": source_name(kind, key, lang, names), "ctr": ctr, **s})
    series = []
    for offset in range(days - 1, -1, -1):
        day = (timezone.now().date() - timedelta(days=offset)).isoformat()
        series.append((day, per_day.get(day, Decimal(0))))
    extra = latest_shop.extra if latest_shop else {}
    return {"rows": rows, "table": table, "series": series, "channels": dict(channels),
            "metrics": extra.get("metrics") or {}, "values": extra.get("value_distribution") or [],
            "computed_at": latest_shop.computed_at if latest_shop else None}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@require_GET
@merchant_view
def analytics(request: HttpRequest) -> HttpResponse:
    shop = request.shop
    lang = page_lang(request, shop)
    days = _period(request)
    data = summary(shop, days, lang)
    if request.GET.get("format") == "csv":
        return _csv(shop, data["rows"], lang)
    for row in data["table"]:
        row["ctr_text"] = _pct(row["ctr"])
    m = data["metrics"]
    shop_metrics = [
        (_("Average order value"),
         f"{m['aov']} {ShopSettings.of(shop).currency_override or shop.currency}" if m.get("aov") else "—"),
        (_("Conversion rate"), _pct(m.get("conversion_rate"))), (_("Retention rate"), _pct(m.get("retention_rate"))),
        (_("Repeat-purchase rate"), _pct(m.get("repeat_purchase_rate"))),
    ]
    return page(request, "dashboard/analytics.html", _("Analytics"), {
        "lang": lang, "days": days, "periods": [(p, link(request, "/admin/analytics/", lang, days=p)) for p in PERIODS],
        "table": data["table"], "series": data["series"], "shop_metrics": shop_metrics,
        "channels": sorted(data["channels"].items()), "values": data["values"], "computed_at": data["computed_at"],
        "line_svg": line_chart(data["series"], _("Attributed revenue per day (click-through)")),
        "source_svg": bar_chart([(r["name"], r["revenue"]) for r in data["table"]],
                                _("Attributed revenue by source")),
        "channel_svg": bar_chart(sorted(data["channels"].items()), _("Revenue by channel")),
        "value_svg": bar_chart([(v["label"], v["count"]) for v in data["values"]],
                               _("Predicted customer value (365 days)")),
        "csv_href": link(request, "/admin/analytics/", lang, days=days, format="csv"),
        "note": _("Attributed = a shopper clicked the product in the widget and ordered it within %(days)s days "
                  "(counted once per order line, net of refunds). View-through is shown apart and never added in.")
        % {"days": ShopSettings.of(shop).attribution_window_days},
    })


# The CSV's column headers, in the page's language (a merchant opens it in a spreadsheet, not a program).
_CSV_HEADERS = {
    "impressions": gettext_lazy("Impressions"), "clicks": gettext_lazy("Clicks"),
    "add_to_carts": gettext_lazy("Add to carts"), "orders": gettext_lazy("Orders"),
    "revenue": gettext_lazy("Revenue (net)"), "view_orders": gettext_lazy("View-through orders"),
    "view_revenue": gettext_lazy("View-through revenue"), "discount_cost": gettext_lazy("Discount cost"),
}


def _csv(shop, rows: list[DailyRollup], lang: str) -> HttpResponse:  # noqa: ANN001 - a Shop
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="analytics-{shop.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow([_("Day"), _("Kind"), _("Source"), *(str(_CSV_HEADERS[f]) for f in _SUMS)])
    kinds = {"widget": _("Widget"), "popup": _("Popup")}
    names = campaign_names(shop)
    for r in rows:
        if r.source_kind == "shop":
            continue
        name = source_name(r.source_kind, r.source_key, lang, names)
        # A leading =, +, - or @ would run as a formula in a spreadsheet: quote it away.
        safe = "'" + name if name[:1] in ("=", "+", "-", "@") else name
        writer.writerow([r.day.isoformat(), kinds.get(r.source_kind, r.source_kind), safe,
                         *(getattr(r, f) for f in _SUMS)])
    return response


@require_POST
@merchant_view
def recompute(request: HttpRequest) -> HttpResponse:
    """"Recompute now": the same job the hourly beat runs, for this shop only."""
    rollup_shop(request.shop)
    return HttpResponseRedirect(link(request, "/admin/analytics/"))


@require_GET
@merchant_view
def analytics_api(request: HttpRequest) -> JsonResponse:
    data = summary(request.shop, _period(request), page_lang(request, request.shop))
    return JsonResponse({
        "sources": [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()} for row in data["table"]],
        "series": [[d, str(v)] for d, v in data["series"]],
        "channels": {k: str(v) for k, v in data["channels"].items()},
        "metrics": data["metrics"],
    })

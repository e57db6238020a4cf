"""Merchant controls for the widgets: a server-rendered screen at /admin/widgets/ and `GET/PUT
/api/admin/widgets/<widget>`. Both act for the shop in the merchant session and validate with one serializer."""
from __future__ import annotations

from urllib.parse import urlparse

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.json_input import drf_parser
from backend.dashboard.audit import record
from backend.dashboard.auth import csrf_unless_session_token, screen_shop
from backend.dashboard.language import page_lang
from backend.dashboard.shell import link
from backend.predictions.also_bought_record import widget_note
from backend.shops.models import Shop

from .access import forget_shops
from .merchandising import WidgetRuleSerializer, rule_as_json
from .merchant_session import HasShop, MerchantSession
from .models import AllowedOrigin, Widget
from .names import options as algorithm_options
from .names import widget_name
from .rules import DEFAULT_TITLES, invalidate

MAX_ORIGINS = 20
# The screen's name for each widget and for each field a merchant can get wrong (errors name the field this way).
FIELD_LABELS = {
    "enabled": gettext_lazy("Show this widget"), "title_en": gettext_lazy("Title (English)"),
    "title_es": gettext_lazy("Title (Spanish)"), "limit": gettext_lazy("Number of products"),
    "algorithm": gettext_lazy("Algorithm"),
    "excluded_products": gettext_lazy("Never show these products (ids, one per line)"),
    "excluded_collections": gettext_lazy("Never show products from these collections (ids)"),
    "pinned_products": gettext_lazy("Always show these first (ids, in order)"),
    "rebuyable_products": gettext_lazy("Products customers buy again (ids)"),
    "min_stock": gettext_lazy("Minimum stock to show a product"),
}


def error_lines(errors: dict) -> list[str]:
    """DRF's {field: [messages]} (lists of ids nest {index: [messages]}) as sentences naming the field."""
    lines = []
    for field, found in errors.items():
        label = FIELD_LABELS.get(field, _("This form"))
        for message in _flat(found):
            lines.append(f"{label}: {message}")
    return lines


def _flat(found: object) -> list[str]:
    if isinstance(found, dict):
        return [m for value in found.values() for m in _flat(value)]
    if isinstance(found, (list, tuple)):
        return [m for value in found for m in _flat(value)]
    return [str(found)]


class WidgetRuleAPI(APIView):
    authentication_classes = [MerchantSession]
    permission_classes = [HasShop]
    parser_classes = [drf_parser(max_bytes=64 * 1024)]

    def get(self, request: Request, widget: str) -> Response:
        if widget not in Widget.values:
            return Response({"error": "unknown widget"}, status=404)
        return Response(rule_as_json(request.auth, widget))

    def put(self, request: Request, widget: str) -> Response:
        if widget not in Widget.values:
            return Response({"error": "unknown widget"}, status=404)
        serializer = WidgetRuleSerializer(data=request.data, shop=request.auth, widget=widget)
        if not serializer.is_valid():
            return Response({"errors": serializer.errors}, status=400)
        before = rule_as_json(request.auth, widget)
        serializer.save()
        record(request.auth, request._request, "widget_rule.update", f"widget:{widget}", before,
               rule_as_json(request.auth, widget))
        return Response(rule_as_json(request.auth, widget))


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


def _form_data(post: dict, widget: str) -> dict:
    p = f"{widget}-"
    return {
        "enabled": post.get(p + "enabled") == "on",
        "title_en": post.get(p + "title_en", ""),
        "title_es": post.get(p + "title_es", ""),
        "limit": post.get(p + "limit", ""),
        "algorithm": post.get(p + "algorithm", ""),
        "excluded_products": _lines(post.get(p + "excluded_products", "")),
        "excluded_collections": _lines(post.get(p + "excluded_collections", "")),
        "pinned_products": _lines(post.get(p + "pinned_products", "")),
        "rebuyable_products": _lines(post.get(p + "rebuyable_products", "")),
        "min_stock": post.get(p + "min_stock", "0") or "0",
    }


def _normal_origin(value: str) -> str:
    try:  # urlparse and .port raise ValueError on "http://[::1" or "https://x:99999": not an origin
        parts = urlparse(value.strip())
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        return ""
    return f"{parts.scheme}://{parts.hostname}{port}".lower()


def _save_origins(shop: Shop, text: str) -> list[str]:
    origins, bad = [], []
    for line in _lines(text)[:MAX_ORIGINS]:
        (origins if _normal_origin(line) else bad).append(_normal_origin(line) or line)
    if not bad:
        AllowedOrigin.objects.for_shop(shop).exclude(origin__in=origins).delete()
        AllowedOrigin.objects.bulk_create(
            [AllowedOrigin(shop=shop, origin=o) for o in dict.fromkeys(origins)], ignore_conflicts=True
        )
        forget_shops()
        invalidate(shop.pk)
    return bad


@csrf_unless_session_token  # cookie sessions need CSRF; the embedded admin's session token is not ambient
@require_http_methods(["GET", "POST"])
def widgets_admin(request: HttpRequest) -> HttpResponse:
    shop = screen_shop(request)
    if isinstance(shop, HttpResponse):
        return shop
    lang = page_lang(request, shop)

    errors: dict[str, dict] = {}
    origin_errors: list[str] = []
    saved = False
    submitted: dict[str, dict] = {}
    if request.method == "POST":
        target = request.POST.get("widget", "")
        if target == "origins":
            origin_errors = _save_origins(shop, request.POST.get("origins", ""))
            saved = not origin_errors
        elif target in Widget.values:
            serializer = WidgetRuleSerializer(data=_form_data(request.POST, target), shop=shop, widget=target)
            if serializer.is_valid():
                before = rule_as_json(shop, target)
                serializer.save()
                record(shop, request, "widget_rule.update", f"widget:{target}", before, rule_as_json(shop, target))
                return HttpResponseRedirect(link(request, "/admin/widgets/", saved=target))
            errors[target] = serializer.errors
            submitted[target] = _form_data(request.POST, target)
    saved = saved or request.GET.get("saved", "") in Widget.values

    widgets = []
    for widget in Widget.values:
        data = submitted.get(widget) or rule_as_json(shop, widget)
        widgets.append({
            "key": widget,
            "name": widget_name(widget),
            "default_titles": DEFAULT_TITLES[widget],
            "data": data,
            "options": algorithm_options(widget),
            # Why also-bought serves what it serves for this shop (its backtest; a lift pick that lost is not served).
            "note": widget_note(shop.pk, data["algorithm"], lang) if widget == Widget.ALSO_BOUGHT else "",
            "errors": error_lines(errors.get(widget, {})),
            "lists": {
                name: "\n".join(data[name])
                for name in ("excluded_products", "excluded_collections", "pinned_products", "rebuyable_products")
            },
        })
    origins = "\n".join(AllowedOrigin.objects.for_shop(shop).order_by("origin").values_list("origin", flat=True))
    return render(request, "storefront/widgets_admin.html", {
        "shop": shop, "lang": lang, "title": _("Storefront widgets"), "widgets": widgets, "saved": saved,
        "origins": origins, "origin_errors": origin_errors,
    })

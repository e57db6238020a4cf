"""Merchant controls for the widgets: a server-rendered screen at /admin/widgets/ and `GET/PUT
/api/admin/widgets/<widget>`. Both act for the shop in the merchant session and validate with one serializer."""
from __future__ import annotations

from urllib.parse import urlparse

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.catalog.models import Product
from backend.catalog.picker import chosen
from backend.core.json_input import drf_parser
from backend.dashboard.audit import record
from backend.dashboard.auth import csrf_unless_session_token, merchant_view, screen_shop
from backend.dashboard.language import page_lang
from backend.dashboard.shell import link
from backend.demostore.assets import loader_path
from backend.demostore.views import embed_css
from backend.predictions.also_bought_record import widget_note
from backend.shops.models import Shop

from . import preview
from .access import forget_shops
from .fields import PLATFORM_ID, matches, plain_id
from .merchandising import MAX_LISTED, WidgetRuleSerializer, rule_as_json
from .merchant_session import HasShop, MerchantSession
from .models import PAGE_TYPES, AllowedOrigin, CardStyle, Layout, Widget
from .names import CARD_STYLES, LAYOUTS, PAGE_LABELS, widget_name
from .names import options as algorithm_options
from .rules import DEFAULT_TITLES, invalidate

MAX_ORIGINS = 20
# The screen's name for each widget and for each field a merchant can get wrong (errors name the field this way).
FIELD_LABELS = {
    "enabled": gettext_lazy("Show this widget"), "title_en": gettext_lazy("Title (English)"),
    "title_es": gettext_lazy("Title (Spanish)"), "limit": gettext_lazy("Number of products"),
    "algorithm": gettext_lazy("Algorithm"),
    "excluded_products": gettext_lazy("Never show these products"),
    "excluded_collections": gettext_lazy("Never show products from these collections"),
    "pinned_products": gettext_lazy("Always show these first, in this order"),
    "rebuyable_products": gettext_lazy("Products customers buy again"),
    "min_stock": gettext_lazy("Minimum stock to show a product"),
    "placements": gettext_lazy("Show on these pages"),
    "layout": gettext_lazy("Layout"),
    "card_style": gettext_lazy("Card style"),
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


# The pickers' fields: each chosen item posts its own hidden input (a pasted list of ids, one per line, still works).
PICKED = {"pinned_products": "product", "excluded_products": "product", "excluded_collections": "collection",
          "rebuyable_products": "product"}


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


def _picked(post: QueryDict, name: str) -> list[str]:
    return [i for value in post.getlist(name)[:MAX_LISTED + 1] for i in _lines(value)]


def _own_title(value: str, widget: str, lang: str) -> str:
    return "" if value.strip() == DEFAULT_TITLES[widget][lang] else value


def _form_data(post: QueryDict, widget: str) -> dict:
    p = f"{widget}-"
    data = {
        "enabled": post.get(p + "enabled") == "on",
        # The fields show the default title; left as it is, it stays "the default" (and follows ours if it changes).
        "title_en": _own_title(post.get(p + "title_en", ""), widget, "en"),
        "title_es": _own_title(post.get(p + "title_es", ""), widget, "es"),
        "limit": post.get(p + "limit", ""),
        "algorithm": post.get(p + "algorithm", ""),
        **{name: _picked(post, p + name) for name in PICKED},
        "min_stock": post.get(p + "min_stock", "0") or "0",
        "layout": post.get(p + "layout", "") or Layout.CAROUSEL,
        "card_style": post.get(p + "card_style", "") or CardStyle.STANDARD,
    }
    # Unticked boxes post nothing: the form marks that it showed them, so "none ticked" means "no page".
    if post.get(p + "placements_shown"):
        data["placements"] = post.getlist(p + "placements")[: len(PAGE_TYPES) + 1]
    return data


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
            # The picked items as chips: title and picture (ids a merchant pasted that match nothing are dropped
            # from the chips; the error above names them).
            "chosen": {name: chosen(shop, kind, data[name]) for name, kind in PICKED.items()},
            "placements": [(page, label, page in data.get("placements", PAGE_TYPES)) for page, label in PAGE_LABELS],
            "layouts": [(value, label, hint, value == data.get("layout")) for value, label, hint in LAYOUTS],
            "card_styles": [(value, label, hint, value == data.get("card_style"))
                            for value, label, hint in CARD_STYLES],
        })
    # The live previews start on the product the merchant last picked (?product=), else the one with most orders.
    start = _preview_product(request, shop)
    for w in widgets:
        w["preview_src"] = link(request, f"/admin/widgets/preview/{w['key']}/", lang,
                                **({"product": start.platform_id} if start else {}))
        w["previewable"] = w["key"] in preview.PREVIEWABLE
    origins = "\n".join(AllowedOrigin.objects.for_shop(shop).order_by("origin").values_list("origin", flat=True))
    return render(request, "storefront/widgets_admin.html", {
        "shop": shop, "lang": lang, "title": _("Storefront widgets"), "widgets": widgets, "saved": saved,
        "origins": origins, "origin_errors": origin_errors,
        "preview_product": chosen(shop, "product", [start.platform_id]) if start else [],
    })


def _preview_product(request: HttpRequest, shop: Shop) -> Product | None:
    wanted = request.GET.get("product", "")[:64]
    if wanted and matches(PLATFORM_ID, wanted):
        found = Product.objects.for_shop(shop).filter(platform_id=plain_id(wanted), deleted_at__isnull=True).first()
        if found is not None:
            return found
    return preview.default_product(shop)


@xframe_options_sameorigin  # framed by the widgets screen itself (and, embedded, Shopify's admin around it)
@require_http_methods(["GET"])
@merchant_view
def widget_preview(request: HttpRequest, widget: str) -> HttpResponse:
    """The preview frame: the storefront script on a bare page, fed the settings in the query (the widget form's
    own fields, not yet saved; none at all: the saved rule)."""
    if widget not in preview.PREVIEWABLE:
        return HttpResponse("This widget has no storefront preview.", status=404, content_type="text/plain")
    shop = request.shop
    lang = page_lang(request, shop)
    fields = request.GET if f"{widget}-limit" in request.GET else _saved_as_form(shop, widget)
    serializer = WidgetRuleSerializer(data=_form_data(fields, widget), shop=shop, widget=widget)
    product = _preview_product(request, shop)
    context = {"shop": shop, "lang": lang, "widget": widget, "product": product,
               "errors": [], "embed_css": embed_css(), "script": loader_path()}
    if serializer.is_valid():
        context["off"] = not serializer.validated_data.get("enabled", True)
        token = preview.sign(shop, widget, product.pk if product else None, serializer.validated_data)
        context["api"] = f"/admin/widgets/preview/api/{token}"
    else:
        context["errors"] = error_lines(serializer.errors)
    response = render(request, "storefront/widget_preview.html", context)
    response["Cache-Control"] = "private, no-store"
    # Our own widgets screen frames this page (embedded: inside the shop's Shopify admin, dashboard.framing).
    response.frame_self = True
    return response


def _saved_as_form(shop: Shop, widget: str) -> QueryDict:
    data = rule_as_json(shop, widget)
    form = QueryDict(mutable=True)
    for name in ("title_en", "title_es", "limit", "algorithm", "min_stock", "layout", "card_style"):
        form[f"{widget}-{name}"] = str(data[name])
    if data["enabled"]:
        form[f"{widget}-enabled"] = "on"
    for name in PICKED:
        form.setlist(f"{widget}-{name}", data[name])
    return form


@csrf_exempt  # the script's events land here too; a preview records nothing and needs no cookie
@require_http_methods(["GET", "POST"])
def widget_preview_api(request: HttpRequest, token: str, widget: str) -> HttpResponse:
    """The preview's stand-in for /api/storefront: the signed settings' payload; events are dropped."""
    if widget == "events" and request.method == "POST":
        return HttpResponse(status=204)
    found = preview.unsign(token)
    if found is None or found.widget != widget or request.method != "GET":
        return JsonResponse({"error": "this preview has expired: change a setting to make a new one"}, status=404)
    shop = Shop.objects.filter(pk=found.shop_id, state=Shop.State.INSTALLED).first()
    if shop is None:
        return JsonResponse({"error": "unknown shop"}, status=404)
    locale = request.GET.get("locale", "en")
    body = preview.payload(found, shop, locale if locale in ("es", "en") else "en")
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = "private, no-store"
    return response

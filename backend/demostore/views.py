"""The demo storefront: home, collection, product and cart pages for one shop's synced catalog, in es or en.

It loads the storefront script exactly as the Shopify app embed does (templates/demostore/_app_embed.html mirrors
integrations/shopify/extension/blocks/app-embed.liquid), so the browser tests and Lighthouse see what a shopper sees.
"""
from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.shortcuts import render as _render_page
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from backend.catalog.models import Variant
from backend.popups.gate import page_gate
from backend.shops.models import Shop
from backend.storefront.access import customer_signature
from backend.storefront.models import Widget
from backend.storefront.rules import rule_for

from . import assets, catalog

DIST = assets.DIST
CART_MAX_LINES = 50
CART_JSON_MAX = 8_192  # bytes of a /cart/add.js body: a few lines with their properties
CART_ADD_MAX_ITEMS = 10


def _locale(request: HttpRequest, shop: Shop) -> str:
    lang = request.GET.get("lang", "")
    if lang in ("es", "en"):
        request.session["demo_lang"] = lang
        return lang
    stored = request.session.get("demo_lang", "")
    return stored if stored in ("es", "en") else ("es" if shop.locale.lower().startswith("es") else "en")


def _shop(domain: str) -> Shop:
    shop = catalog.active_shop(domain)
    if shop is None:
        raise Http404("no installed shop with that domain")
    return shop


def render(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    """A demo page in the shopper's language (the storefront's, not the admin's: {% translate %} follows it)."""
    with translation.override(context.get("locale") or "en"):
        return _render_page(request, template, context)


def embed_css() -> str:
    """The reserved-space rules the app embed inlines, so placeholders have their size at first paint."""
    for path in (DIST / "personalize.css", settings.BASE_DIR / "widgets" / "src" / "personalize.css"):
        if path.exists():
            return "\n".join(line for line in path.read_text().splitlines() if not line.startswith(("/*", "   ")))
    return ""


def placed_on(shop: Shop, page_type: str) -> set[str]:
    """The widgets the merchant placed on this page type: the page leaves out the others' placeholders, so no
    reserved box stays empty (the Shopify theme and the WordPress plugin ask the API, which answers them off)."""
    return {w for w in Widget.values if rule_for(shop.pk, w).shown_on(page_type)}


def _context(request: HttpRequest, shop: Shop, locale: str, **page) -> dict:
    customer = request.session.get("demo_customer", "")
    product = page.get("product")
    collection = page.get("collection")
    gate = page_gate(shop.pk)
    return {
        "shop": shop,
        "locale": locale,
        "collections": catalog.collections(shop),
        "cart_count": sum(qty for _, qty in request.session.get("demo_cart", [])),
        # `?embed=0` renders the page without the app embed: the baseline Lighthouse compares against.
        "embed": request.GET.get("embed") != "0",
        "embed_css": embed_css(),
        "embed_script": assets.loader_path(),
        "embed_api": "/api/storefront",
        "embed_customer": customer,
        "embed_customer_sig": customer_signature(shop, customer) if customer else "",
        "embed_consent": "denied" if request.GET.get("consent") == "denied" else "",
        "embed_product": product.platform_id if product is not None else "",
        "embed_collection": collection.platform_id if collection is not None else "",
        # The popup chunk loads only when a campaign in the gate can apply to this visitor (backend/popups/gate.py);
        # the cart flag lets "cart not empty" rules apply.
        "embed_popups": bool(gate),
        "embed_popup_gate": json.dumps(gate, separators=(",", ":")),
        **page,
    }


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    shops = Shop.objects.filter(state=Shop.State.INSTALLED).order_by("domain")
    return render(request, "demostore/index.html", {"shops": shops, "locale": "en"})


@require_GET
def home(request: HttpRequest, domain: str) -> HttpResponse:
    if "customer" in request.GET:  # a stand-in for logging in: the page then vouches for this customer id
        request.session["demo_customer"] = request.GET["customer"][:64]
    shop = _shop(domain)
    locale = _locale(request, shop)
    ctx = _context(request, shop, locale, products=catalog.home_products(shop, locale), placed=placed_on(shop, "home"))
    return render(request, "demostore/home.html", ctx)


@require_GET
def collection(request: HttpRequest, domain: str, handle: str) -> HttpResponse:
    shop = _shop(domain)
    locale = _locale(request, shop)
    found = catalog.collection_page(shop, handle, locale)
    if found is None:
        raise Http404("no such collection")
    coll, cards = found
    ctx = _context(request, shop, locale, collection=coll, products=cards, placed=placed_on(shop, "collection"))
    return render(request, "demostore/collection.html", ctx)


@require_GET
def product(request: HttpRequest, domain: str, handle: str) -> HttpResponse:
    shop = _shop(domain)
    locale = _locale(request, shop)
    item = catalog.product(shop, handle)
    if item is None:
        raise Http404("no such product")
    price, was = catalog.price_of(shop, item, locale)
    first_collection = next(iter(item.collections.all()), None)
    ctx = _context(request, shop, locale, product=item, price=price, was=was, collection=first_collection,
                   placed=placed_on(shop, "product"))
    return render(request, "demostore/product.html", ctx)


@require_GET
def cart(request: HttpRequest, domain: str) -> HttpResponse:
    shop = _shop(domain)
    locale = _locale(request, shop)
    lines = request.session.get("demo_cart", [])
    qty = dict(lines)
    cards = catalog.products_by_id(shop, [pid for pid, _ in lines], locale)
    rows = [(card, qty[card.platform_id]) for card in cards]
    return render(request, "demostore/cart.html",
                  _context(request, shop, locale, rows=rows, placed=placed_on(shop, "cart")))


@require_POST
def cart_add(request: HttpRequest, domain: str) -> HttpResponse:
    shop = _shop(domain)
    product_id = request.POST.get("product-id", "")[:64]
    if catalog.products_by_id(shop, [product_id], "en"):
        lines = dict(request.session.get("demo_cart", []))
        lines[product_id] = min(99, lines.get(product_id, 0) + 1)
        request.session["demo_cart"] = list(lines.items())[-CART_MAX_LINES:]
    return redirect("demostore-cart", domain=shop.domain)


def _cart_error(status: int, description: str) -> JsonResponse:
    """Shopify's AJAX cart error shape: {status, message, description}."""
    return JsonResponse({"status": status, "message": "Cart Error", "description": description}, status=status)


def _cart_lines(shop: Shop, body: object) -> list[tuple[str, int, dict[str, str]]] | str:
    """(product id, quantity, properties) per requested line, or why the request is refused."""
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= CART_ADD_MAX_ITEMS:
        return f"items must be a list of 1..{CART_ADD_MAX_ITEMS} lines"
    ids = []
    for item in items:
        if not isinstance(item, dict):
            return "each line must be an object"
        raw = item.get("id")
        variant = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
        if not isinstance(variant, str) or not variant.isascii() or not variant.isdigit() or len(variant) > 20:
            return "id must be a variant id"
        ids.append(variant)
    variants = dict(Variant.objects.for_shop(shop).filter(platform_id__in=ids, product__deleted_at__isnull=True)
                    .values_list("platform_id", "product__platform_id"))
    lines = []
    for item, variant in zip(items, ids, strict=True):
        quantity = item.get("quantity", 1)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 99:
            return "quantity must be 1..99"
        props = item.get("properties") or {}
        if not isinstance(props, dict) or len(props) > 10 or not all(
            isinstance(k, str) and isinstance(v, str) and 0 < len(k) <= 64 and len(v) <= 255 for k, v in props.items()
        ):
            return "properties must be up to 10 short text values"
        if variant not in variants:
            return "Cannot find variant"
        lines.append((variants[variant], quantity, props))
    return lines


@csrf_exempt  # JSON only: a cross-site form cannot send application/json without a CORS preflight we never allow
@require_POST
def cart_add_js(request: HttpRequest, domain: str) -> JsonResponse:
    """A stand-in for Shopify's AJAX cart API (`POST /cart/add.js` with `{"items": [{id, quantity, properties}]}`),
    so the widgets' add-to-cart buttons work on the demo store as on a Shopify theme."""
    shop = _shop(domain)
    if request.content_type != "application/json":
        return _cart_error(415, "send application/json")
    if len(request.body) > CART_JSON_MAX:
        return _cart_error(413, "request too large")
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _cart_error(400, "malformed JSON")
    lines = _cart_lines(shop, body)
    if isinstance(lines, str):
        return _cart_error(404 if lines == "Cannot find variant" else 422, lines)
    cart = dict(request.session.get("demo_cart", []))
    attribution = dict(request.session.get("demo_cart_widget", {}))
    for product_id, quantity, props in lines:
        cart[product_id] = min(99, cart.get(product_id, 0) + quantity)
        widget = props.get("_personalize_widget", "")
        if widget:  # the hidden line property, as Shopify keeps it on the line item
            attribution[product_id] = widget[:32]
    request.session["demo_cart"] = list(cart.items())[-CART_MAX_LINES:]
    request.session["demo_cart_widget"] = {k: v for k, v in attribution.items() if k in cart}
    items = [{"product_id": pid, "quantity": cart[pid], "properties": props} for pid, _, props in lines]
    return JsonResponse({"items": items})


@require_GET
def asset(request: HttpRequest, name: str) -> HttpResponse:
    """The built storefront script (widgets/dist), as the theme app extension's assets/ serves it on Shopify."""
    return assets.serve(request, name)


@require_GET
def placeholder_image(request: HttpRequest, seed: str) -> HttpResponse:
    """A product picture without internet: shapes derived from the seed, as detailed as a small photo.

    Chromium skips nearly empty images (under 0.05 bits per pixel) when it picks the Largest Contentful Paint, so
    a plain square would let page text win LCP and make Lighthouse judge the wrong element.
    """
    digest = hashlib.sha256(seed.encode()).digest()
    hue = int.from_bytes(digest[:2], "big") % 360
    shapes = []
    for i in range(96):
        d = hashlib.sha256(digest + bytes([i])).digest()
        x, y, r = d[0] * 600 // 255, d[1] * 600 // 255, 8 + d[2] % 60
        h, light = (hue + d[3] % 90 - 45) % 360, 45 + d[4] % 40
        shapes.append(f'<circle cx="{x}" cy="{y}" r="{r}" fill="hsl({h},{40 + d[5] % 40}%,{light}%)" opacity=".8"/>')
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600" viewBox="0 0 600 600">'
        f'<rect width="600" height="600" fill="hsl({hue},55%,85%)"/>{"".join(shapes)}</svg>'
    )
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response

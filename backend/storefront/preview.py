"""The widgets screen's live preview: the real storefront script, in a frame, on a product the merchant picks,
showing the settings being edited before they are saved.

The preview page (`/admin/widgets/preview/<widget>/`, merchant only) validates the form's values with the same
serializer as a save, then signs them into the address the script fetches its payload from
(`/admin/widgets/preview/api/<signed>/widgets/<widget>`). That endpoint trusts nothing but the signature: shop,
widget, product and rule come out of it, and the payload is built by the storefront's own `build_items`, never
cached, never counted (the script's events sent there are dropped).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from django.core import signing
from django.db.models import Count

from backend.catalog.models import Product
from backend.orders.models import LineItem
from backend.shops.models import Shop

from .access import ShopInfo
from .models import MAX_ITEMS, CardStyle, Layout, Widget
from .payload import WidgetRequest, build_items
from .rules import WidgetRuleData

SALT = "storefront.widget-preview"
MAX_AGE = 15 * 60  # seconds a preview address keeps working: the screen makes a new one on every change
PREVIEWABLE = (Widget.ALSO_BOUGHT, Widget.RECENTLY_VIEWED, Widget.BESTSELLERS)  # the ones the script renders
RULE_FIELDS = ("title_en", "title_es", "limit", "algorithm", "min_stock", "layout", "card_style")
LIST_FIELDS = {"excluded_products": "excluded_product_ids", "excluded_collections": "excluded_collection_ids",
               "pinned_products": "pinned_product_ids", "rebuyable_products": "rebuyable_product_ids"}


@dataclass(frozen=True)
class Preview:
    shop_id: int
    widget: str
    product_id: int | None
    rule: WidgetRuleData


def default_product(shop: Shop) -> Product | None:
    """The product a preview starts on: the one in most order lines (it has the most to show), else the first."""
    live = Product.objects.for_shop(shop).filter(deleted_at__isnull=True).exclude(status="archived")
    top = (LineItem.objects.for_shop(shop).filter(product__in=live).values("product")
           .annotate(n=Count("id")).order_by("-n", "product").first())
    if top:
        return live.filter(pk=top["product"]).first()
    return live.order_by("title").first()


def sign(shop: Shop, widget: str, product_id: int | None, validated: dict) -> str:
    """The preview's credential and settings in one string (validated data: our pks, checked to be the shop's)."""
    rule = {name: validated.get(name) for name in RULE_FIELDS if validated.get(name) is not None}
    rule.update({name: list(validated.get(name, []))[:200] for name in LIST_FIELDS})
    return signing.dumps({"s": shop.pk, "w": widget, "p": product_id, "r": rule}, salt=SALT, compress=True)


def unsign(token: str) -> Preview | None:
    """The preview a signed string describes, or None (forged, altered, expired, malformed)."""
    try:
        data = signing.loads(token[:8192], salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("w") not in PREVIEWABLE or not isinstance(data.get("s"), int):
        return None
    raw = data.get("r") if isinstance(data.get("r"), dict) else {}
    rule = WidgetRuleData(
        shop_id=data["s"], widget=data["w"],
        title_en=str(raw.get("title_en", ""))[:120], title_es=str(raw.get("title_es", ""))[:120],
        limit=max(1, min(MAX_ITEMS, int(raw.get("limit", 8)))), algorithm=str(raw.get("algorithm", ""))[:40],
        min_stock=max(0, int(raw.get("min_stock", 0))),
        layout=raw.get("layout") if raw.get("layout") in Layout.values else Layout.CAROUSEL.value,
        card_style=raw.get("card_style") if raw.get("card_style") in CardStyle.values else CardStyle.STANDARD.value,
        **{attr: _ids(raw.get(name), ordered=name == "pinned_products") for name, attr in LIST_FIELDS.items()},
    )
    product = data.get("p") if isinstance(data.get("p"), int) else None
    return Preview(shop_id=data["s"], widget=data["w"], product_id=product, rule=rule)


def _ids(values: object, ordered: bool) -> tuple[int, ...] | frozenset[int]:
    ints = [v for v in values if isinstance(v, int)] if isinstance(values, list) else []
    return tuple(dict.fromkeys(ints)) if ordered else frozenset(ints)


def payload(preview: Preview, shop: Shop, locale: str) -> bytes:
    """The widget's payload as the storefront API would answer it with these settings.

    "Continue shopping" lists each shopper's own recently viewed products: the preview has no shopper, so it shows
    the shop's bestsellers in their place (same cards, same rules)."""
    info = ShopInfo(id=shop.pk, domain=shop.domain, platform=shop.platform, currency=shop.currency or "USD",
                    locale=shop.locale or "en", origins=frozenset(), model=shop)
    engine = Widget.BESTSELLERS if preview.widget == Widget.RECENTLY_VIEWED else preview.widget
    req = WidgetRequest(widget=engine, locale=locale, limit=preview.rule.limit, product_id=preview.product_id)
    items = build_items(info, req, preview.rule)
    head = {"widget": preview.widget, "enabled": True, "title": preview.rule.title(locale), "locale": locale,
            "currency": info.currency, "platform": info.platform, "layout": preview.rule.layout,
            "style": preview.rule.card_style}
    return json.dumps({**head, "items": items}, ensure_ascii=False, separators=(",", ":")).encode()

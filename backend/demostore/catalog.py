"""What the demo storefront shows of one shop's synced catalog: plain rows for the templates, always scoped."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Min, Prefetch

from backend.catalog.models import Collection, Product, Variant
from backend.shops.models import Shop
from backend.storefront.pricing import format_price

PAGE_SIZE = 24


@dataclass(frozen=True)
class Card:
    platform_id: str
    handle: str
    title: str
    image: str
    price: str
    available: bool


def _cards(shop: Shop, products, locale: str) -> list[Card]:  # noqa: ANN001 - a Product queryset
    rows = products.filter(deleted_at__isnull=True, status="active").annotate(min_price=Min("variants__price"))
    rows = rows[:PAGE_SIZE]
    return [
        Card(
            platform_id=p.platform_id,
            handle=p.handle or p.platform_id,
            title=p.title,
            image=p.image_url,
            price=format_price(p.min_price or Decimal(0), shop.currency, locale, shop.locale),
            available=p.available_for_sale,
        )
        for p in rows
    ]


def active_shop(domain: str) -> Shop | None:
    return Shop.objects.filter(domain=domain, state=Shop.State.INSTALLED).order_by("pk").first()


def collections(shop: Shop) -> list[Collection]:
    return list(Collection.objects.for_shop(shop).order_by("title")[:20])


def home_products(shop: Shop, locale: str) -> list[Card]:
    return _cards(shop, Product.objects.for_shop(shop).order_by("-platform_created_at", "pk"), locale)


def collection_page(shop: Shop, handle: str, locale: str) -> tuple[Collection, list[Card]] | None:
    collection = Collection.objects.for_shop(shop).filter(handle=handle).first()
    if collection is None:
        collection = Collection.objects.for_shop(shop).filter(platform_id=handle).first()
    if collection is None:
        return None
    members = (
        Product.objects.for_shop(shop)
        .filter(collectionmembership__collection=collection)
        .order_by("collectionmembership__position", "pk")
    )
    cards = _cards(shop, members, locale)
    return collection, cards


def product(shop: Shop, handle: str) -> Product | None:
    variants = Prefetch("variants", queryset=Variant.all_shops.order_by("price", "pk"))
    rows = Product.objects.for_shop(shop).filter(deleted_at__isnull=True).prefetch_related(variants, "collections")
    return rows.filter(handle=handle).first() or rows.filter(platform_id=handle).first()


def price_of(shop: Shop, product: Product, locale: str) -> tuple[str, str]:
    """The cheapest variant's price and its compare-at price (when higher), formatted for the shop."""
    variant = next(iter(product.variants.all()), None)
    if variant is None:
        return "", ""
    price = format_price(variant.price, shop.currency, locale, shop.locale)
    compare = variant.compare_at_price
    was = format_price(compare, shop.currency, locale, shop.locale) if compare and compare > variant.price else ""
    return price, was


def products_by_id(shop: Shop, platform_ids: list[str], locale: str) -> list[Card]:
    rows = Product.objects.for_shop(shop).filter(platform_id__in=platform_ids)
    cards = {c.platform_id: c for c in _cards(shop, rows, locale)}
    return [cards[i] for i in platform_ids if i in cards]

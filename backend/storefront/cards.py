"""Product cards: a product as a widget shows it (title, link, image, cheapest sellable price, stock), kept in each
worker's memory for a few seconds and in the shared cache (one MGET answers a worker's misses).

Every widget payload is a list of cards, and the same popular products appear in most lists, so a personal payload
(built on every request: continue shopping) reads remembered cards instead of a query each time. A stock or
price change reaches personal widgets within CARD_TTL, the same minute a shared payload (and a CDN) may keep it:
views.PUBLIC_TTL. Shared payloads are built from cards read afresh, which also refreshes the memory.

A worker's miss (each worker holds only the cards it served this minute, and a visitor's recent views span the whole
catalogue) was a catalogue read plus Babel formatting, ~15x a hit: profiled, it was most of a personal request's cost.
So a card read from the database goes to the shared cache too, with its item bytes for every locale already
formatted, stamped with when it was read: whoever takes it keeps it only until CARD_TTL after that read, so the
bound on stale stock is the same as before.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router

from backend.catalog.models import Product, Variant

from . import hotcache
from .access import ShopInfo
from .fields import LOCALES
from .pricing import format_price

CARD_TTL = 60.0  # seconds


@dataclass(frozen=True)
class Card:
    pk: int
    platform_id: str = ""
    variant_id: str = ""  # the platform's id of the variant priced here: what an add-to-cart button adds
    title: str = ""
    url: str = ""
    image: str = ""
    price: Decimal | None = None
    compare_at_price: Decimal | None = None
    showable: bool = False  # active, not deleted, sellable now
    units: float = 0.0  # units on hand; inf when some variant does not track stock
    _items: dict[tuple, dict | bytes] = field(default_factory=dict, compare=False, repr=False)

    def item(self, shop: ShopInfo, locale: str) -> dict:
        """The payload entry in `locale`; formatted once per worker and card (Babel formatting is the slow part)."""
        memo_key = (locale, shop.currency, shop.locale)
        cached = self._items.get(memo_key)
        if cached is None:
            price, compare = self.price, self.compare_at_price
            cached = {
                "id": self.platform_id,
                "variant": self.variant_id or self.platform_id,
                "title": self.title,
                "url": self.url,
                "image": self.image,
                "price": f"{price:.2f}" if price is not None else None,
                "compare_at_price": f"{compare:.2f}" if compare is not None else None,
                "price_formatted": (
                    format_price(price, shop.currency, locale, shop.locale) if price is not None else None
                ),
                "compare_at_price_formatted": (
                    format_price(compare, shop.currency, locale, shop.locale) if compare is not None else None
                ),
                "available": True,
            }
            self._items[memo_key] = cached
        return cached


    def item_json(self, shop: ShopInfo, locale: str) -> bytes:
        """item() serialised once per worker and card: a personal payload (built on every request) joins these
        bytes instead of encoding the same dicts again and again."""
        memo_key = (locale, shop.currency, shop.locale, "json")
        cached = self._items.get(memo_key)
        if cached is None:
            cached = json.dumps(self.item(shop, locale), ensure_ascii=False, separators=(",", ":")).encode()
            self._items[memo_key] = cached
        return cached


def _stock(product: Product, variants: list[Variant]) -> tuple[bool, float]:
    """(sellable now, units on hand); untracked or oversold-allowed stock counts as unlimited."""
    if not product.available_for_sale:
        return False, 0
    if not variants:
        return product.total_inventory > 0, float(product.total_inventory)
    units = 0.0
    for v in variants:
        if not v.available_for_sale:
            continue
        if not v.inventory_tracked:
            units = float("inf")
        elif v.inventory_quantity > 0:
            units += v.inventory_quantity
    return units > 0, units


def _card(product: Product, variants: list[Variant]) -> Card:
    """The card of a product and its variants: model rows, or the plain rows _load reads (same attribute names)."""
    sellable_variants = [
        v for v in variants if v.available_for_sale and (v.inventory_quantity > 0 or not v.inventory_tracked)
    ]
    pool = sellable_variants or variants
    cheapest = min(pool, key=lambda v: (v.price, v.pk)) if pool else None
    price = cheapest.price if cheapest else None
    compare = cheapest.compare_at_price if cheapest else None
    if compare is not None and (price is None or compare <= price):
        compare = None  # a "was" price no higher than the price is not a discount
    sellable, units = _stock(product, variants)
    return Card(
        pk=product.pk,
        platform_id=product.platform_id,
        variant_id=cheapest.platform_id if cheapest else "",
        title=product.title,
        url=product.url or (f"/products/{product.handle}" if product.handle else ""),
        image=product.image_url,
        price=price,
        compare_at_price=compare,
        showable=sellable and product.status == "active" and product.deleted_at is None,
        units=units,
    )


# One statement for the products and their variants. It was the ORM's two (products, then a prefetch of variants)
# with model instances: on a personal request whose cards are nowhere yet, compiling and instantiating cost more
# than the database's answer. Table names come from model meta; every value is a bound parameter.
_PRODUCT_COLUMNS = ("pk", "platform_id", "title", "handle", "url", "image_url", "available_for_sale",
                    "total_inventory", "status", "deleted_at")
_VARIANT_COLUMNS = ("pk", "platform_id", "price", "compare_at_price", "inventory_quantity", "inventory_tracked",
                    "available_for_sale")
_CARDS_SQL = (
    f"SELECT p.id, p.platform_id, p.title, p.handle, p.url, p.image_url, p.available_for_sale,"  # noqa: S608
    " p.total_inventory, p.status, p.deleted_at, v.id, v.platform_id, v.price, v.compare_at_price,"
    " v.inventory_quantity, v.inventory_tracked, v.available_for_sale"
    f' FROM "{Product._meta.db_table}" p LEFT JOIN "{Variant._meta.db_table}" v'
    " ON v.product_id = p.id AND v.shop_id = %s"
    " WHERE p.shop_id = %s AND p.id IN ({pks})"
)


class _Row:
    """A product or variant as _card reads it, without a model instance."""

    __slots__ = (*{*_PRODUCT_COLUMNS, *_VARIANT_COLUMNS},)

    def __init__(self, columns: tuple[str, ...], values: tuple) -> None:  # noqa: ANN001
        for name, value in zip(columns, values, strict=True):
            setattr(self, name, value)


def _money(value: object) -> Decimal | None:
    """A money column as the ORM gives it: a 2-place Decimal (SQLite hands back a float or a string)."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _load(shop_id: int, pks: list[int]) -> dict[int, Card]:
    """The cards of the shop's products among `pks`, read in one query (absent ones are left out)."""
    products: dict[int, _Row] = {}
    variants: dict[int, list[_Row]] = {}
    with connections[router.db_for_read(Product)].cursor() as cursor:
        cursor.execute(_CARDS_SQL.format(pks=", ".join(["%s"] * len(pks))), [shop_id, shop_id, *pks])
        rows = cursor.fetchall()
    for row in rows:
        pk = row[0]
        if pk not in products:
            products[pk] = _Row(_PRODUCT_COLUMNS, row[:10])
            variants[pk] = []
        if row[10] is not None:
            variant = _Row(_VARIANT_COLUMNS, row[10:])
            variant.price, variant.compare_at_price = _money(variant.price), _money(variant.compare_at_price)
            variants[pk].append(variant)
    return {pk: _card(product, variants[pk]) for pk, product in products.items()}


def _shared() -> bool:
    """Only a Redis shared cache: the database cache of a small install would turn one read into several writes."""
    return isinstance(caches["default"], RedisCache)


def _shared_key(shop_id: int, pk: int) -> str:
    return f"storefront:card:{shop_id}:{pk}"


def _from_shared(shop_id: int, pks: list[int]) -> dict[int, Card]:
    """The cards among `pks` another worker read from the database less than CARD_TTL ago (one MGET)."""
    entries = hotcache.shared_get_many([_shared_key(shop_id, pk) for pk in pks])
    now = time.time()
    out: dict[int, Card] = {}
    for pk in pks:
        entry = entries.get(_shared_key(shop_id, pk))
        if entry is None:
            continue
        read_at, card = entry
        left = read_at + CARD_TTL - now
        if left > 0:  # kept only until CARD_TTL after the database read, as if this worker had made it
            hotcache.cards.set(f"{shop_id}:{pk}", card, left)
            out[pk] = card
    return out


def cards(shop_id: int, pks: Iterable[int], reload: bool = False, shop: ShopInfo | None = None) -> dict[int, Card]:
    """Cards for the shop's products among `pks` (another shop's or a deleted product comes back not showable).

    `reload` reads them all from the database (and refreshes the memory): a shared payload, which is itself kept
    for a minute, is built from fresh cards, so its stock is never older than PUBLIC_TTL. With `shop`, the cards
    read from the database go to the shared cache with their items formatted in every locale.
    """
    wanted = list(dict.fromkeys(pks))
    found: dict[int, Card] = {}
    missing: list[int] = []
    for pk in wanted:
        card = None if reload else hotcache.cards.get(f"{shop_id}:{pk}")
        if card is None:
            missing.append(pk)
        else:
            found[pk] = card
    if missing and not reload and shop is not None and _shared():
        found.update(_from_shared(shop_id, missing))
        missing = [pk for pk in missing if pk not in found]
    if missing:
        read_at = time.time()
        loaded = _load(shop_id, missing)
        shared: dict[str, tuple[float, Card]] = {}
        share = shop is not None and _shared()
        for pk in missing:
            card = loaded.get(pk) or Card(pk=pk)  # remembered too, so an unknown id costs one query per TTL
            if share:
                if card.showable:
                    for locale in LOCALES:  # formatted once here (before other threads see it), not per worker
                        card.item_json(shop, locale)
                shared[_shared_key(shop_id, pk)] = (read_at, card)
            hotcache.cards.set(f"{shop_id}:{pk}", card, CARD_TTL)
            found[pk] = card
        hotcache.shared_set_many(shared, CARD_TTL)
    return found


def in_stock(shop: ShopInfo, pks: Iterable[int]) -> set[int]:
    """The showable ones among `pks`: the engines' stock check when the widget API asks (see eligibility.keep)."""
    return {pk for pk, card in cards(shop.id, pks, shop=shop).items() if card.showable}

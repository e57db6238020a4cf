"""What an email shows, gathered at send time: the cart or the order, and a recommendations block from the
engines (also-bought of the cart or order, then "recommended for you", then the shopper's segment bestsellers).

Only sellable products appear (the engines' own eligibility and the widget cards' stock rule); prices are the
shop's currency in the shopper's language.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from backend.customers.models import CustomerProfile, Identity
from backend.orders.models import Order
from backend.recommendations.eligibility import not_to_rebuy
from backend.recommendations.registry import RecommendationContext, recommend
from backend.shops.models import Shop
from backend.storefront.cards import Card, cards
from backend.storefront.hotcache import LocalCache
from backend.storefront.pricing import format_price

RECOMMENDATIONS = 4
SHARED_TTL = 60.0  # seconds: the same minute the widget API keeps a shared payload
_memo = LocalCache(max_entries=20_000)


@dataclass(frozen=True)
class Item:
    product_id: int | None
    title: str
    url: str
    image: str
    price: str  # formatted in the shop's currency and the shopper's language
    quantity: int = 1


def absolute(shop: Shop, url: str) -> str:
    if url.startswith(("http://", "https://")):
        return url
    return f"https://{shop.domain}{url if url.startswith('/') else '/' + url}"


def _item(shop: Shop, card: Card, language: str, quantity: int = 1) -> Item:
    price = format_price(card.price, shop.currency, language, shop.locale) if card.price is not None else ""
    return Item(card.pk, card.title, absolute(shop, card.url or "/"), card.image, price, quantity)


def customer_ids(profile: CustomerProfile) -> list[int]:
    return [int(v) for v in Identity.objects.for_shop(profile.shop_id).filter(
        profile=profile, kind=Identity.Kind.CUSTOMER).values_list("customer_id", flat=True) if v]


def cart_items(shop: Shop, product_ids: list[int], language: str) -> list[Item]:
    """The cart as it can still be bought: sold-out or removed products are left out."""
    found = cards(shop.pk, product_ids)  # the widget cards: stock at most CARD_TTL (a minute) old
    return [_item(shop, found[p], language) for p in dict.fromkeys(product_ids) if p in found and found[p].showable]


def order_items(shop: Shop, order_id: int | None, language: str) -> tuple[Order | None, list[Item]]:
    order = Order.objects.for_shop(shop).filter(pk=order_id).first() if order_id else None
    if order is None:
        return None, []
    items = []
    for line in order.line_items.all():
        amount = format_price(Decimal(line.price), shop.currency, language, shop.locale)
        items.append(Item(line.product_id, line.title, "", "", amount, line.quantity))
    return order, items


def bestseller_segment(profile: CustomerProfile | None) -> str:
    """The bestsellers counter this person belongs to (recommendations.bestsellers.segments_for_order's keys)."""
    if profile is None:
        return ""
    if profile.orders_count:
        return "buyers:repeat" if profile.orders_count >= 2 else "buyers:first"
    return f"country:{profile.country.upper()}" if profile.country else ""


def _shared(key: str, build: Callable[[], list[int]]) -> list[int]:
    """A list every shopper with the same seed (or segment) gets, kept in this worker for SHARED_TTL: a recipe
    step that mails thousands of carts holding the same bestseller computes its neighbours once, not per email."""
    found = _memo.get(key)
    if found is None:
        found = build()
        _memo.set(key, found, SHARED_TTL)
    return found


def recommendations(shop: Shop, profile: CustomerProfile | None, seeds: list[int], language: str,
                    limit: int = RECOMMENDATIONS) -> list[Item]:
    """Also-bought of the seeds (merged by rank), then for-you, then the profile's segment bestsellers; never
    the seeds, nor what the customer bought before (unless re-buyable), only what is sellable now."""
    cust = customer_ids(profile) if profile is not None else []
    customer_id = cust[0] if cust else None
    skip = set(seeds) | not_to_rebuy(shop, customer_id)
    wanted = limit + len(skip)  # room to drop what this shopper must not see
    chosen: list[int] = []
    per_seed = [_shared(f"{shop.pk}:ab:{p}:{wanted}", lambda p=p: recommend(shop, "also_bought", RecommendationContext(
        product_id=p, limit=wanted))) for p in seeds[:5]]
    for rank in range(wanted):  # round-robin: each cart product contributes its best neighbours first
        for ranked in per_seed:
            if rank < len(ranked) and ranked[rank] not in chosen and ranked[rank] not in skip:
                chosen.append(ranked[rank])
    chosen = chosen[:limit]
    has_history = profile is not None and bool(profile.orders_count or profile.events_count)
    if len(chosen) < limit and customer_id and has_history:  # personal (never shared); without history for-you
        # would only repeat the bestsellers below
        chosen += [p for p in recommend(shop, "for_you", RecommendationContext(
            customer_id=customer_id, limit=limit, exclude=frozenset(skip | set(chosen)))) if p not in chosen]
    if len(chosen) < limit:
        segment = bestseller_segment(profile)
        chosen += [p for p in _shared(f"{shop.pk}:bs:{segment}:{wanted}", lambda: recommend(
            shop, "bestsellers", RecommendationContext(segment=segment, limit=wanted)))
            if p not in chosen and p not in skip]
    found = cards(shop.pk, chosen[: limit * 2])
    return [_item(shop, found[p], language) for p in chosen if p in found and found[p].showable][:limit]


def forget() -> None:
    """Drop the shared lists this worker holds (tests reuse ids across rolled-back shops)."""
    _memo.clear()

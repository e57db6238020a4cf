"""Recommended for you: the shopper's own history (purchases, cart, views) through the shop's co-purchase lists,
topped up with the bestsellers of their segment. Callable for one customer (emails) or one visitor (widgets).

Each history product weighs by kind (a purchase or a cart add says more than a view) and recency
(`cooccurrence.personal_weight`); its stored also-bought list (the "auto" list the shop's backtest chose, see
also_bought.py) is scaled to its best neighbour and added up with that weight: `cooccurrence.personal_scores`,
the same function bench/bench_for_you.py measures on UCI Online Retail.
What is left out: products the shopper viewed or put in the cart in the last SEEN_DAYS (they know those; the
"continue shopping" widget shows them), and purchases that are not re-buyable. A re-buyable purchase (coffee,
socks: `eligibility.not_to_rebuy`) may come back, and does when the shopper's other products point to it.
Consent: without analytics consent no event (views, cart adds) is read; a known customer's orders still count
(the shop holds them to fulfil them, not from tracking). A storefront request without consent (ctx.personal False)
gets the segment's bestsellers only.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from backend.events.identity import customer_for_visitor, visitor_ids_for_customer
from backend.events.models import Event, EventType
from backend.recommendations import cooccurrence as co
from backend.recommendations import eligibility
from backend.recommendations.also_bought import AUTO, DEFAULT_PARAMS
from backend.recommendations.bestsellers import bestsellers_with_fallback
from backend.recommendations.models import AlsoBoughtList
from backend.recommendations.registry import MAX_LIMIT, RecommendationContext
from backend.shops.models import Shop

MAX_HISTORY = 30  # most recent distinct products used: older ones add little and each costs a list read
EVENT_SCAN = 300
EVENT_DAYS = 90
SEEN_DAYS = 30  # a view or cart add this recent is left out of the list; an older one only steers it


def history(shop: Shop, customer_id: int | None, visitor_id: str, consent: bool) -> tuple[dict[int, float], set[int]]:
    """(product pk -> weight of the shopper's own signals, strongest kind and most recent time winning;
    products they viewed or carted in the last SEEN_DAYS)."""
    now = timezone.now()
    weights: dict[int, float] = {}
    seen: set[int] = set()

    def add(product_id: int, kind: str, at: datetime | None) -> None:
        w = co.personal_weight(kind, (now - at).total_seconds() if at else None)
        if w > weights.get(product_id, 0.0):
            weights[product_id] = w

    if customer_id:
        for product_id, at in eligibility.purchased(shop, customer_id).items():
            add(product_id, "purchase", at)
    if consent and (customer_id or visitor_id):
        visitors = set(visitor_ids_for_customer(shop, customer_id)) if customer_id else set()
        if visitor_id:
            visitors.add(visitor_id)
        who = Q(visitor_id__in=sorted(visitors)) if visitors else Q()
        if customer_id:
            who |= Q(customer_id=customer_id)
        events = (
            Event.objects.for_shop(shop)
            .filter(who, type__in=[EventType.PRODUCT_VIEWED, EventType.ADDED_TO_CART], product__isnull=False,
                    created_at__gte=now - timedelta(days=EVENT_DAYS))
            .order_by("-created_at", "-pk").values_list("product_id", "type", "created_at")[:EVENT_SCAN]
        )
        for product_id, kind, at in events:
            add(product_id, "cart" if kind == EventType.ADDED_TO_CART else "view", at)
            if at >= now - timedelta(days=SEEN_DAYS):
                seen.add(product_id)
    strongest = sorted(weights.items(), key=lambda kv: -kv[1])[:MAX_HISTORY]
    return dict(strongest), seen


def _lists(shop: Shop, products: Iterable[int]) -> dict[int, tuple[list[int], list[float]]]:
    """The stored auto list of each product (the offline default's where a shop has no auto list yet)."""
    found: dict[int, tuple[list[int], list[float]]] = {}
    rows = (AlsoBoughtList.objects.for_shop(shop)
            .filter(product_id__in=list(products), algorithm__in=[AUTO, DEFAULT_PARAMS.algorithm])
            .values_list("product_id", "algorithm", "neighbour_ids", "scores"))
    for product_id, algorithm, ids, scores in rows:
        if algorithm == AUTO or product_id not in found:
            found[product_id] = (list(ids or []), [float(s) for s in scores or []])
    return found


def recommend_for(shop: Shop | int, customer_id: int | None = None, visitor_id: str = "", limit: int = 8,
                  consent: bool = True, segment: str = "", exclude: Iterable[int] = (),
                  sellable: Callable[[Iterable[int]], set[int]] | None = None) -> list[int]:
    """Product pks for one shopper, best first, at most `limit` (capped at MAX_LIMIT); never empty while anything
    is sellable. `consent` False: no analytics history (views, cart) is read, nor the visitor's link to a customer."""
    shop = shop if isinstance(shop, Shop) else Shop.objects.get(pk=shop)
    limit = max(1, min(int(limit or 8), MAX_LIMIT))
    visitor_id = (visitor_id or "")[:64]
    if not customer_id and visitor_id and consent:
        customer_id = customer_for_visitor(shop, visitor_id)
    signals, seen = history(shop, customer_id, visitor_id, consent)
    skip = {int(e) for e in exclude} | eligibility.not_to_rebuy(shop, customer_id) | seen
    scores = co.personal_scores(_lists(shop, signals), signals)
    ranked = sorted(scores, key=lambda p: (-scores[p], p))
    result = eligibility.keep(shop, ranked, skip, sellable)[:limit]
    if len(result) < limit:
        ctx = RecommendationContext(customer_id=customer_id, visitor_id=visitor_id if consent else "",
                                    segment=segment, limit=limit - len(result), personal=consent,
                                    exclude=frozenset(skip | set(result)), sellable=sellable)
        result += bestsellers_with_fallback(shop, ctx)
    return result[:limit]


def for_you(shop: Shop, ctx: RecommendationContext) -> list[int]:
    """The widget: the shopper's history when consent allows, else the bestsellers of their segment."""
    if not ctx.personal:
        return bestsellers_with_fallback(shop, replace(ctx, algorithm=""))
    exclude = set(ctx.exclude) | ({ctx.product_id} if ctx.product_id else set())
    return recommend_for(shop, ctx.customer_id, ctx.visitor_id, ctx.limit, consent=True, segment=ctx.segment,
                         exclude=exclude, sellable=ctx.sellable)

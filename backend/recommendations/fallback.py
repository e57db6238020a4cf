"""The also-bought widget end to end: co-purchases mixed with the merchant's complementary rules, then, when data
is thin, co-viewed -> same collection -> bestsellers, so the widget is never empty while anything is sellable."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from itertools import zip_longest

from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from backend.catalog.models import CollectionMembership
from backend.events.models import Event, EventType
from backend.recommendations import eligibility
from backend.recommendations.also_bought import stored_neighbours
from backend.recommendations.bestsellers import bestsellers_with_fallback
from backend.recommendations.complementary import collection_products, complementary_for
from backend.recommendations.registry import RecommendationContext
from backend.shops.models import Shop

CO_VIEW_DAYS = 30
CO_VIEW_SESSIONS = 500  # most recent sessions that viewed the product
CO_VIEW_TTL = 300
CO_VIEW_CANDIDATES = 200


def co_viewed(shop: Shop, product_id: int, limit: int = 30) -> list[int]:
    """Products viewed in the same sessions as this one, by Jaccard over sessions (shared sessions / sessions
    viewing either): raw counts let the most viewed products top every list. Jaccard won on YooChoose validation
    (bench/bench_session_next_click.py). Cached for minutes: it is the thin-data fallback, not the hot path."""
    key = f"reco:coview:{shop.pk}:{product_id}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    since = timezone.now() - timedelta(days=CO_VIEW_DAYS)
    views = Event.objects.for_shop(shop).filter(type=EventType.PRODUCT_VIEWED, created_at__gte=since)
    sessions = list(
        views.filter(product_id=product_id).exclude(session_id="").order_by("-created_at")
        .values_list("session_id", flat=True)[: CO_VIEW_SESSIONS * 3]
    )
    sessions = list(dict.fromkeys(sessions))[:CO_VIEW_SESSIONS]
    shared: Counter[int] = Counter()
    if sessions:
        pairs = set(views.filter(session_id__in=sessions, product__isnull=False).exclude(product_id=product_id)
                    .values_list("session_id", "product_id"))
        shared.update(p for _, p in pairs)
    candidates = [p for p, _ in shared.most_common(CO_VIEW_CANDIDATES)]
    totals = dict(
        views.filter(product_id__in=candidates).exclude(session_id="").values("product_id")
        .annotate(n=Count("session_id", distinct=True)).values_list("product_id", "n")
    ) if candidates else {}
    mine = len(sessions)
    score = {p: shared[p] / max(mine + totals.get(p, shared[p]) - shared[p], 1) for p in candidates}
    result = sorted(candidates, key=lambda p: (-score[p], -shared[p], p))[:limit]
    cache.set(key, result, CO_VIEW_TTL)
    return result


def same_collection(shop: Shop, product_id: int, limit: int = 30) -> list[int]:
    collections = list(CollectionMembership.objects.for_shop(shop).filter(product_id=product_id)
                       .values_list("collection_id", flat=True)[:10])
    return list(dict.fromkeys(collection_products(shop, collections, limit)))


def _interleave(first: list[int], second: list[int]) -> list[int]:
    return [x for pair in zip_longest(first, second) for x in pair if x is not None]


def also_bought_with_fallback(shop: Shop, ctx: RecommendationContext) -> list[int]:
    if not ctx.product_id:
        return bestsellers_with_fallback(shop, ctx)
    customer = eligibility.customer_of(shop, ctx)
    exclude = {ctx.product_id, *ctx.exclude, *eligibility.not_to_rebuy(shop, customer)}
    want = ctx.limit
    # The merchant's complementary picks take turns with co-purchases, the merchant's first.
    mixed = _interleave(complementary_for(shop, ctx.product_id, want), stored_neighbours(shop, ctx.product_id,
                                                                                          ctx.algorithm))
    result = eligibility.keep(shop, mixed, exclude, ctx.sellable)
    for source in (co_viewed, same_collection):
        if len(result) >= want:
            break
        result += eligibility.keep(shop, source(shop, ctx.product_id), exclude | set(result), ctx.sellable)
    if len(result) < want:
        rest = replace(ctx, exclude=frozenset(exclude | set(result)), algorithm="", segment="")
        result += bestsellers_with_fallback(shop, replace(rest, limit=want - len(result)))
    return result[:want]

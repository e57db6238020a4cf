"""The one door into the recommendation engines: the widget API asks `recommend(shop, widget, ctx)`.

Engines return Product primary keys, best first, already stripped of what must never show (the product itself,
out-of-stock products, what a known customer already bought unless re-buyable). Merchant rules from the storefront
app (exclusions, pins, minimum stock) are applied by the caller; `exclude` lets it pass exclusions in so the engine
can fill the list past them instead of returning short.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.shops.models import Shop

WIDGETS = ("also_bought", "recently_viewed", "bestsellers", "for_you")
# Widgets whose list depends on who asks (their own history): never cached as a shared payload.
PERSONAL_WIDGETS = ("recently_viewed", "for_you")

# The merchant's choice of similarity for also-bought; the first is the default, chosen by the offline evaluation
# in bench/bench_offline_quality.py (UCI Online Retail, validation split carved from the training period).
ALSO_BOUGHT_ALGORITHMS: list[str] = ["bm25", "cosine", "lift", "jaccard"]
DEFAULT_ALSO_BOUGHT_ALGORITHM = ALSO_BOUGHT_ALGORITHMS[0]

# Bestsellers: metric and window the merchant can pick through `algorithm` ("units_7d", "revenue_30d", ...).
BESTSELLER_METRICS = ("units", "revenue")
BESTSELLER_WINDOWS = ("24h", "7d", "30d")
DEFAULT_BESTSELLER_ALGORITHM = "units_7d"

MAX_LIMIT = 50


@dataclass(frozen=True)
class RecommendationContext:
    product_id: int | None = None  # Product pk the shopper is looking at (also_bought)
    collection_id: int | None = None  # Collection pk (bestsellers per collection; fallback for also_bought)
    visitor_id: str = ""  # anonymous first-party id, already validated by the caller
    customer_id: int | None = None  # Customer pk when known (logged in or stitched)
    segment: str = ""  # bestsellers segment key: "country:ES", "buyers:repeat", "tag:vip", "visitors:new", ...
    limit: int = 8
    algorithm: str = ""  # also_bought: one of ALSO_BOUGHT_ALGORITHMS; bestsellers: "units_7d", "revenue_24h", ...
    exclude: frozenset[int] = field(default_factory=frozenset)  # Product pks the merchant excluded
    personal: bool = True  # False when consent forbids personal data: no visitor/customer history is used
    # The caller's own stock check (the widget API's in-memory product cards); None asks the database.
    sellable: Callable[[Iterable[int]], set[int]] | None = field(default=None, compare=False)


def _also_bought(shop: Shop, ctx: RecommendationContext) -> list[int]:
    from backend.recommendations.fallback import also_bought_with_fallback

    return also_bought_with_fallback(shop, ctx)


def _recently_viewed(shop: Shop, ctx: RecommendationContext) -> list[int]:
    from backend.recommendations.recently_viewed import recently_viewed

    return recently_viewed(shop, ctx)


def _bestsellers(shop: Shop, ctx: RecommendationContext) -> list[int]:
    from backend.recommendations.bestsellers import bestsellers_with_fallback

    return bestsellers_with_fallback(shop, ctx)


def _for_you(shop: Shop, ctx: RecommendationContext) -> list[int]:
    from backend.recommendations.for_you import for_you

    return for_you(shop, ctx)


_ENGINES: dict[str, Callable[[Shop, RecommendationContext], list[int]]] = {
    "also_bought": _also_bought,
    "recently_viewed": _recently_viewed,
    "bestsellers": _bestsellers,
    "for_you": _for_you,
}


def recommend(shop: Shop, widget: str, ctx: RecommendationContext) -> list[int]:
    """Product pks for one widget, best first, at most ctx.limit (capped at MAX_LIMIT).

    Never empty for also_bought / bestsellers / for_you when the shop has any sellable product; recently_viewed may
    be empty (nothing viewed yet, or no consent). Raises ValueError for an unknown widget.
    """
    engine = _ENGINES.get(widget)
    if engine is None:
        raise ValueError(f"unknown widget {widget!r}")
    limit = max(1, min(int(ctx.limit or 8), MAX_LIMIT))
    if limit != ctx.limit:
        ctx = RecommendationContext(**{**ctx.__dict__, "limit": limit})
    return engine(shop, ctx)[:limit]

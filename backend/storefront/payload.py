"""Builds a widget's payload: engine picks → merchant rules → products as the shopper will see them.

Products come as cards (cards.py: one MGET, then one query, for those this worker has not in memory), plus one
query only when the rule excludes collections.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from itertools import zip_longest

from backend.catalog.models import CollectionMembership

from .access import ShopInfo
from .cards import Card, cards, in_stock
from .rules import WidgetRuleData


@dataclass(frozen=True)
class WidgetRequest:
    widget: str
    locale: str
    limit: int
    product_id: int | None = None
    collection_id: int | None = None
    exclude_collection_id: int | None = None  # a collection page's grid, which the widget must not repeat
    cart_ids: tuple[int, ...] = ()  # the cart's products: also-bought of the whole cart
    visitor_id: str = ""
    customer_id: int | None = None
    segment: str = ""
    personal: bool = False


def excluded_products(shop_id: int, rule: WidgetRuleData) -> frozenset[int]:
    if not rule.excluded_collection_ids:
        return rule.excluded_product_ids
    in_collections = (
        CollectionMembership.objects.for_shop(shop_id)
        .filter(collection_id__in=rule.excluded_collection_ids)
        .values_list("product_id", flat=True)
    )
    return rule.excluded_product_ids | frozenset(in_collections)


CART_LOOKUPS = 5  # cart lines whose also-bought lists are merged: a longer cart adds little, and each line is an
# engine lookup a made-up cart (an uncached combination) could make us repeat


def collection_members(shop_id: int, collection_id: int | None) -> frozenset[int]:
    if not collection_id:
        return frozenset()
    rows = CollectionMembership.objects.for_shop(shop_id).filter(collection_id=collection_id)
    return frozenset(rows.values_list("product_id", flat=True))


def _engine_picks(shop: ShopInfo, req: WidgetRequest, rule: WidgetRuleData, exclude: frozenset[int]) -> list[int]:
    from backend.recommendations.registry import RecommendationContext, recommend

    # Ask for more than we show: stock and merchant filters below may still drop a few.
    ctx = RecommendationContext(
        product_id=req.product_id,
        collection_id=req.collection_id,
        visitor_id=req.visitor_id,
        customer_id=req.customer_id,
        segment=req.segment,
        limit=min(50, req.limit * 2 + 4),
        algorithm=rule.algorithm,
        exclude=exclude,
        personal=req.personal,
        # Personal lists are built on every request: they check stock on remembered cards, shared ones in the db.
        sellable=partial(in_stock, shop) if req.personal else None,
    )
    if req.widget == "also_bought" and req.cart_ids:
        # The cart's also-bought: each line's list, taken in turns so every product in the cart contributes.
        ctx = replace(ctx, exclude=exclude | frozenset(req.cart_ids))
        lines = req.cart_ids[:CART_LOOKUPS]
        lists = [recommend(shop.model, "also_bought", replace(ctx, product_id=pk)) for pk in lines]
        return [pk for turn in zip_longest(*lists) for pk in turn if pk is not None]
    return recommend(shop.model, req.widget, ctx)


def shown_cards(shop: ShopInfo, req: WidgetRequest, rule: WidgetRuleData) -> list[Card]:
    """The cards the widget shows, in order: engine picks after pins, exclusions, stock and the limit."""
    exclude = excluded_products(shop.id, rule) | collection_members(shop.id, req.exclude_collection_id)
    exclude |= frozenset(req.cart_ids)
    picks = _engine_picks(shop, req, rule, exclude)
    # Pins lead on every widget except "continue shopping", whose whole point is the shopper's own history.
    pinned = list(rule.pinned_product_ids) if req.widget != "recently_viewed" else []
    order: list[int] = []
    for pk in [*pinned, *picks]:
        if pk not in exclude and pk != req.product_id and pk not in order:
            order.append(pk)
    shown = cards(shop.id, order, reload=not req.personal, shop=shop)
    out: list[Card] = []
    for pk in order:
        card = shown[pk]
        if not card.showable or card.units < max(rule.min_stock, 1):
            continue
        out.append(card)
        if len(out) >= req.limit:
            break
    return out


def build_items(shop: ShopInfo, req: WidgetRequest, rule: WidgetRuleData) -> list[dict]:
    return [card.item(shop, req.locale) for card in shown_cards(shop, req, rule)]


def items_json(shop: ShopInfo, req: WidgetRequest, rule: WidgetRuleData) -> bytes:
    """The items as a JSON array, joined from each card's bytes (serialised once per worker and card)."""
    return b"[" + b",".join(card.item_json(shop, req.locale) for card in shown_cards(shop, req, rule)) + b"]"

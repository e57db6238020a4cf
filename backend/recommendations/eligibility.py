"""What may be shown: sellable products only, never the merchant's exclusions, never what a known customer already
bought (unless the merchant marked it re-buyable). Every engine filters its candidates through here."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from django.db.models import F, Q

from backend.catalog.models import Product
from backend.orders.models import LineItem
from backend.recommendations.models import ProductPreference
from backend.recommendations.registry import RecommendationContext
from backend.shops.models import Shop

log = logging.getLogger(__name__)


def sellable(shop: Shop):
    """Active, not deleted, available for sale and in stock (or with a variant for sale that tracks no stock):
    the same rule as the widget's product cards (storefront/cards.py)."""
    return Product.objects.for_shop(shop).filter(
        Q(total_inventory__gt=0) | Q(variants__inventory_tracked=False, variants__available_for_sale=True),
        status="active", deleted_at__isnull=True, available_for_sale=True,
    )


def sellable_among(shop: Shop, candidates: Iterable[int]) -> set[int]:
    ids = {int(c) for c in candidates}
    if not ids:
        return set()
    return set(sellable(shop).filter(pk__in=ids).values_list("pk", flat=True).distinct())


def customer_of(shop: Shop, ctx: RecommendationContext) -> int | None:
    """The known customer behind this request: given, or stitched from the visitor id by the events app."""
    if not ctx.personal:
        return None
    if ctx.customer_id:
        return ctx.customer_id
    if not ctx.visitor_id:
        return None
    from backend.events.identity import customer_for_visitor

    customer = customer_for_visitor(shop, ctx.visitor_id)
    return getattr(customer, "pk", customer)


def purchased(shop: Shop, customer_id: int, since: datetime | None = None) -> dict[int, datetime | None]:
    """Products the customer bought (not cancelled, not fully refunded) -> when they last bought each."""
    qs = LineItem.objects.for_shop(shop).filter(
        order__customer_id=customer_id, order__cancelled_at__isnull=True, product__isnull=False,
        quantity__gt=F("refunded_quantity"),
    )
    if since is not None:
        qs = qs.filter(order__processed_at__gte=since)
    out: dict[int, datetime | None] = {}
    for product_id, when in qs.values_list("product_id", "order__processed_at"):
        prev = out.get(product_id)
        out[product_id] = when if prev is None or (when and when > prev) else prev
    return out


def not_to_rebuy(shop: Shop, customer_id: int | None) -> set[int]:
    """What this customer bought and the merchant did not mark re-buyable."""
    if not customer_id:
        return set()
    bought = set(purchased(shop, customer_id))
    if not bought:
        return set()
    rebuyable = set(
        ProductPreference.objects.for_shop(shop).filter(product_id__in=bought, rebuyable=True)
        .values_list("product_id", flat=True)
    )
    return bought - rebuyable - _rule_rebuyable(shop)


def _rule_rebuyable(shop: Shop) -> set[int]:
    """Re-buyables the merchant listed on the widget rule (storefront app), besides ProductPreference rows."""
    from backend.storefront.rules import rule_for

    return set(getattr(rule_for(shop, "also_bought"), "rebuyable_product_ids", ()) or ())


def keep(
    shop: Shop,
    candidates: Iterable[int],
    exclude: set[int],
    sellable: Callable[[Iterable[int]], set[int]] | None = None,
) -> list[int]:
    """Candidates in order, deduplicated, minus `exclude`, minus anything not sellable (by `sellable` when the
    caller has its own stock check, else by the database)."""
    ordered: list[int] = []
    seen = set(exclude)
    for c in candidates:
        c = int(c)
        if c not in seen:
            seen.add(c)
            ordered.append(c)
    ok = sellable(ordered) if sellable is not None else sellable_among(shop, ordered)
    return [c for c in ordered if c in ok]

"""Continue shopping: the visitor's last viewed products, newest first, deduplicated, without what they bought
since viewing it or what is out of stock; for a known customer every device (visitor id) they used is merged."""
from __future__ import annotations

from django.db.models import Q

from backend.events.identity import visitor_ids_for_customer
from backend.events.models import Event, EventType
from backend.recommendations import eligibility
from backend.recommendations.registry import RecommendationContext
from backend.shops.models import Shop

SCAN = 300  # newest product views read per request: plenty for a list of at most 50 distinct products


def recently_viewed(shop: Shop, ctx: RecommendationContext) -> list[int]:
    if not ctx.personal or not (ctx.visitor_id or ctx.customer_id):
        return []
    customer = eligibility.customer_of(shop, ctx)
    visitors = {ctx.visitor_id} if ctx.visitor_id else set()
    if customer:
        visitors.update(visitor_ids_for_customer(shop, customer))
    who = Q(visitor_id__in=sorted(visitors)) if visitors else Q(pk__in=[])
    if customer:
        who |= Q(customer_id=customer)
    views = (
        Event.objects.for_shop(shop).filter(who, type=EventType.PRODUCT_VIEWED, product__isnull=False)
        .order_by("-created_at", "-pk").values_list("product_id", "created_at")[:SCAN]
    )
    last_view: dict[int, object] = {}
    for product_id, at in views:
        last_view.setdefault(product_id, at)  # newest view wins: the list is already newest first
    bought = eligibility.purchased(shop, customer) if customer else {}
    exclude = set(ctx.exclude)
    if ctx.product_id:
        exclude.add(ctx.product_id)  # the page the shopper is on is not "continue shopping"
    for product_id, at in last_view.items():
        bought_at = bought.get(product_id)
        if bought_at is not None and bought_at >= at:
            exclude.add(product_id)
    return eligibility.keep(shop, last_view, exclude)[: ctx.limit]

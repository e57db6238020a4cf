"""Continue shopping: the visitor's last viewed products, newest first, deduplicated, without what they bought
since viewing it or what is out of stock; for a known customer every device (visitor id) they used is merged."""
from __future__ import annotations

from django.db import connection
from django.db.models import Q

from backend.events import recent_views
from backend.events.identity import visitor_ids_for_customer
from backend.events.models import Event, EventType, VisitorIdentity
from backend.events.partitions import recent_since
from backend.recommendations import eligibility
from backend.recommendations.registry import RecommendationContext
from backend.shops.models import Shop

# Views older than this do not count as "continue shopping"; the bound also lets PostgreSQL read only the newest
# monthly partitions of the events table (backend/events/partitions.py) instead of probing every month's index.
RECENT_DAYS = recent_views.DAYS  # the Redis copy of a visitor's views (events/recent_views.py) keeps the same bound
SCAN = 300  # newest product views read per request: plenty for a list of at most 50 distinct products

# The storefront asks this on every page of every shopper, so an anonymous visitor costs one round trip: their own
# views and, in the same statement, whether the visitor id is linked to a customer. Hand-written because the ORM
# spent more time compiling the two queries it took than the database spent answering them.
# Table names come from model meta; every value is a bound parameter.
_OWN_VIEWS = (
    f"SELECT e.product_id, (SELECT i.customer_id FROM {VisitorIdentity._meta.db_table} i"  # noqa: S608
    " WHERE i.shop_id = %s AND i.visitor_id = %s), e.created_at"
    f" FROM {Event._meta.db_table} e"
    " WHERE e.shop_id = %s AND e.visitor_id = %s AND e.type = %s AND e.product_id IS NOT NULL"
    " AND e.created_at >= %s"
    " ORDER BY e.created_at DESC, e.id DESC LIMIT %s"
)


def recently_viewed(shop: Shop, ctx: RecommendationContext) -> list[int]:
    if not ctx.personal or not (ctx.visitor_id or ctx.customer_id):
        return []
    exclude = set(ctx.exclude)
    if ctx.product_id:
        exclude.add(ctx.product_id)  # the page the shopper is on is not "continue shopping"
    customer = ctx.customer_id
    if not customer:
        # One round trip to Redis for the visitor's views and link (events/recent_views.py); the database only
        # when Redis has no complete list for them, which is then stored for the next page.
        cached = recent_views.read(shop.pk, ctx.visitor_id)
        if cached is recent_views.MISS:
            with connection.cursor() as cursor:
                cursor.execute(_OWN_VIEWS, [shop.pk, ctx.visitor_id, shop.pk, ctx.visitor_id,
                                            EventType.PRODUCT_VIEWED.value, recent_since(RECENT_DAYS), SCAN])
                rows = cursor.fetchall()
            linked = rows[0][1] if rows else eligibility.customer_of(shop, ctx)
            own = [product_id for product_id, _, _ in rows]
            recent_views.fill(shop.pk, ctx.visitor_id, [(product_id, at) for product_id, _, at in rows], linked)
        else:
            own, linked = cached
        if not linked:
            return eligibility.keep(shop, own, exclude, ctx.sellable)[: ctx.limit]
        customer = linked
    return _customer_history(shop, ctx, customer, exclude)


def _customer_history(shop: Shop, ctx: RecommendationContext, customer: int, exclude: set[int]) -> list[int]:
    """A known customer: views from every device they used, minus what they bought after viewing it."""
    visitors = set(visitor_ids_for_customer(shop, customer))
    if ctx.visitor_id:
        visitors.add(ctx.visitor_id)
    who = Q(customer_id=customer) | Q(visitor_id__in=sorted(visitors)) if visitors else Q(customer_id=customer)
    views = (
        Event.objects.for_shop(shop).filter(who, type=EventType.PRODUCT_VIEWED, product__isnull=False,
                                            created_at__gte=recent_since(RECENT_DAYS))
        .order_by("-created_at", "-pk").values_list("product_id", "created_at")[:SCAN]
    )
    last_view: dict[int, object] = {}
    for product_id, at in views:
        last_view.setdefault(product_id, at)  # newest view wins: the list is already newest first
    bought = eligibility.purchased(shop, customer)
    for product_id, at in last_view.items():
        bought_at = bought.get(product_id)
        if bought_at is not None and bought_at >= at:
            exclude.add(product_id)
    return eligibility.keep(shop, last_view, exclude, ctx.sellable)[: ctx.limit]

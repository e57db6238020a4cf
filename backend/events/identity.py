"""Visitor → customer stitching: an anonymous visitor id is linked to the customer once they are known.

The link lets history follow a shopper across devices: every visitor id a customer has used maps to them, and
events recorded anonymously before the login are attributed to the customer when the link is made.
"""
from __future__ import annotations

import contextlib

from django.core.cache import cache
from django.utils import timezone

from backend.core.outage import SHARED_CACHE_ERRORS
from backend.customers.models import Customer
from backend.shops.models import Shop

from . import recent_views
from .models import Event, VisitorIdentity

# A link seen within this window is not rewritten: one write per visitor per hour instead of one per batch.
_STITCH_TTL = 3600


def _shop_id(shop: Shop | int) -> int:
    return shop if isinstance(shop, int) else shop.pk


def _customer_id(customer: Customer | int) -> int:
    return customer if isinstance(customer, int) else customer.pk


def stitch(shop: Shop | int, visitor_id: str, customer: Customer | int) -> None:
    """Link visitor_id to customer (latest login wins) and attribute the visitor's anonymous events to them."""
    shop_id, customer_id = _shop_id(shop), _customer_id(customer)
    if not visitor_id or not customer_id:
        return
    memo = f"events:stitched:{shop_id}:{visitor_id}"
    try:
        if cache.get(memo) == customer_id:
            return
    except SHARED_CACHE_ERRORS:  # the memo only saves a write; the events are already stored
        memo = ""
    now = timezone.now()
    VisitorIdentity.objects.bulk_create(
        [
            VisitorIdentity(
                shop_id=shop_id, visitor_id=visitor_id, customer_id=customer_id, first_seen=now, last_seen=now
            )
        ],
        update_conflicts=True,
        unique_fields=["shop", "visitor_id"],
        update_fields=["customer", "last_seen"],
    )
    Event.objects.for_shop(shop_id).filter(visitor_id=visitor_id, customer__isnull=True).update(
        customer_id=customer_id
    )
    # Continue shopping now answers for the customer (every device): the visitor's own list in Redis must go.
    recent_views.forget(shop_id, [visitor_id])
    if memo:
        with contextlib.suppress(*SHARED_CACHE_ERRORS):
            cache.set(memo, customer_id, _STITCH_TTL)


def customer_for_visitor(shop: Shop | int, visitor_id: str) -> int | None:
    """The pk of the customer this visitor id is linked to, or None for a still-anonymous visitor."""
    if not visitor_id:
        return None
    return (
        VisitorIdentity.objects.for_shop(_shop_id(shop))
        .filter(visitor_id=visitor_id)
        .values_list("customer_id", flat=True)
        .first()
    )


def visitor_ids_for_customer(shop: Shop | int, customer: Customer | int) -> list[str]:
    """Every visitor id the customer has used on this shop, most recently seen first."""
    return list(
        VisitorIdentity.objects.for_shop(_shop_id(shop))
        .filter(customer_id=_customer_id(customer))
        .order_by("-last_seen")
        .values_list("visitor_id", flat=True)
    )

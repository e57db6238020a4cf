"""GDPR for storefront events: a customer's redaction unlinks and anonymises their events, an export lists them.

The events themselves stay (with no visitor, session or customer) so product popularity and widget click-through
keep counting; nothing left in them points back to the person.
"""
from __future__ import annotations

from django.db.models import Q

from backend.shops.models import Shop
from backend.shops.redaction import CustomerRef, customers_of

from . import recent_views
from .models import Event, VisitorIdentity


def _customer_ids(shop: Shop, ref: CustomerRef) -> list[int]:
    return list(customers_of(shop, ref).values_list("pk", flat=True))


def _their_events(shop: Shop, customer_ids: list[int]):  # noqa: ANN202
    visitors = list(
        VisitorIdentity.objects.for_shop(shop).filter(customer_id__in=customer_ids).values_list("visitor_id", flat=True)
    )
    return Event.objects.for_shop(shop).filter(Q(customer_id__in=customer_ids) | Q(visitor_id__in=visitors)), visitors


def redact_events(shop: Shop, ref: CustomerRef) -> None:
    customer_ids = _customer_ids(shop, ref)
    if not customer_ids:
        return
    events, visitors = _their_events(shop, customer_ids)
    events.update(customer=None, visitor_id="", session_id="")
    VisitorIdentity.objects.for_shop(shop).filter(customer_id__in=customer_ids).delete()
    # Their recent views in Redis (continue shopping's fast path) go with the rows.
    recent_views.forget(shop.pk, visitors)


def export_events(shop: Shop, ref: CustomerRef) -> dict:
    customer_ids = _customer_ids(shop, ref)
    if not customer_ids:
        return {"visitor_ids": [], "events": []}
    events, visitors = _their_events(shop, customer_ids)
    rows = events.order_by("created_at").values_list("type", "product__platform_id", "collection__platform_id",
                                                     "widget", "created_at")[:10_000]
    return {
        "visitor_ids": visitors,
        "events": [
            {"type": t, "product": p or "", "collection": c or "", "widget": w, "at": at.isoformat()}
            for t, p, c, w, at in rows
        ],
    }

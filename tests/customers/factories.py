"""Customers, orders and events for profile and segment tests (always scoped to a shop)."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from backend.customers.models import Customer
from backend.orders.models import Order

_seq = itertools.count(1)


def make_customer(shop, platform_id: str | None = None, **kw) -> Customer:
    return Customer.objects.create(shop=shop, platform_id=platform_id or f"c{next(_seq)}", **kw)


def make_order(shop, customer: Customer | None, total: str | Decimal = "50.00", days_ago: float = 0,
               at: datetime | None = None, **kw) -> Order:
    when = at or timezone.now() - timedelta(days=days_ago)
    return Order.objects.create(
        shop=shop, platform_id=kw.pop("platform_id", f"o{next(_seq)}"), customer=customer,
        total_price=Decimal(str(total)), processed_at=when, platform_created_at=when, **kw,
    )


def make_event(shop, type: str = "product_viewed", visitor_id: str = "v1", session_id: str = "s1",  # noqa: A002
               customer=None, days_ago: float = 0, at: datetime | None = None, **kw):
    from backend.events.models import Event

    return Event.objects.create(
        shop=shop, type=type, visitor_id=visitor_id, session_id=session_id, customer=customer,
        created_at=at or timezone.now() - timedelta(days=days_ago), **kw,
    )

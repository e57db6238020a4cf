"""Catalog, customers, orders and views for the engine tests, always inside one shop."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from backend.catalog.models import Collection, CollectionMembership, Product, Variant
from backend.customers.models import Customer
from backend.events.models import Event, EventType
from backend.orders.models import LineItem, Order

_seq = itertools.count(1)


def product(shop, title: str = "Product", stock: int = 10, price: str = "10.00", **kw) -> Product:
    n = next(_seq)
    p = Product.objects.create(shop=shop, platform_id=f"p{n}", title=title, total_inventory=stock,
                               platform_created_at=kw.pop("created", timezone.now()), **kw)
    Variant.objects.create(shop=shop, product=p, platform_id=f"v{n}", price=Decimal(price), inventory_quantity=stock)
    return p


def collection(shop, products=(), title: str = "Collection") -> Collection:
    c = Collection.objects.create(shop=shop, platform_id=f"c{next(_seq)}", title=title)
    for pos, p in enumerate(products):
        CollectionMembership.objects.create(shop=shop, collection=c, product=p, position=pos)
    return c


def customer(shop, **kw) -> Customer:
    kw.setdefault("platform_created_at", timezone.now() - timedelta(days=400))
    return Customer.objects.create(shop=shop, platform_id=f"cu{next(_seq)}", **kw)


def order(shop, products, customer=None, when: datetime | None = None, quantity: int = 1, **kw) -> Order:
    """An order with one line per product (a product listed twice = two variants of it)."""
    n = next(_seq)
    o = Order.objects.create(shop=shop, platform_id=f"o{n}", customer=customer,
                             processed_at=when or timezone.now(), **kw)
    for i, p in enumerate(products):
        LineItem.objects.create(shop=shop, order=o, platform_id=f"l{n}-{i}", product=p, quantity=quantity,
                                price=p.variants.first().price)
    return o


def view(shop, visitor: str, p: Product, at: datetime | None = None, session: str = "", customer=None) -> Event:
    return Event.objects.create(shop=shop, visitor_id=visitor, session_id=session or f"s-{visitor}",
                                type=EventType.PRODUCT_VIEWED, product=p, customer=customer,
                                created_at=at or timezone.now())

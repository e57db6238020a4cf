"""Catalog, customer and order rows for storefront/event tests, always inside one shop."""
from __future__ import annotations

import itertools
from decimal import Decimal

from django.utils import timezone

from backend.catalog.models import Collection, CollectionMembership, Product, Variant
from backend.customers.models import Customer
from backend.orders.models import LineItem, Order

_seq = itertools.count(1000)


def make_product(shop, title: str = "Product", price: str = "10.00", stock: int = 5, **kw) -> Product:
    n = next(_seq)
    compare_at = kw.pop("compare_at_price", None)
    tracked = kw.pop("tracked", True)
    product = Product.objects.create(
        shop=shop,
        platform_id=kw.pop("platform_id", str(n)),
        title=title,
        handle=kw.pop("handle", f"product-{n}"),
        image_url=kw.pop("image_url", f"https://cdn.example/{n}.jpg"),
        total_inventory=stock,
        **kw,
    )
    Variant.objects.create(
        shop=shop,
        product=product,
        platform_id=f"v{n}",
        price=Decimal(price),
        compare_at_price=Decimal(compare_at) if compare_at else None,
        inventory_quantity=stock,
        inventory_tracked=tracked,
        available_for_sale=True,
    )
    return product


def make_collection(shop, products=(), title: str = "Collection", **kw) -> Collection:
    n = next(_seq)
    collection = Collection.objects.create(shop=shop, platform_id=kw.pop("platform_id", f"c{n}"), title=title, **kw)
    for pos, product in enumerate(products):
        CollectionMembership.objects.create(shop=shop, collection=collection, product=product, position=pos)
    return collection


def make_customer(shop, platform_id: str | None = None, **kw) -> Customer:
    return Customer.objects.create(shop=shop, platform_id=platform_id or f"cust{next(_seq)}", **kw)


def make_order(shop, products, customer=None, quantity: int = 1, record: bool = False, **kw) -> Order:
    n = next(_seq)
    order = Order.objects.create(
        shop=shop,
        platform_id=f"o{n}",
        customer=customer,
        processed_at=kw.pop("processed_at", timezone.now()),
        **kw,
    )
    for i, product in enumerate(products):
        LineItem.objects.create(
            shop=shop,
            order=order,
            platform_id=f"li{n}-{i}",
            product=product,
            product_platform_id=product.platform_id,
            title=product.title,
            quantity=quantity,
            price=product.variants.first().price if product.variants.exists() else Decimal("1"),
        )
    if record:
        # What the order sync's after-commit hook does; called directly because tests never commit.
        from backend.recommendations.tasks import order_recorded

        order_recorded(shop.pk, order.pk)
    return order

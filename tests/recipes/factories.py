"""Catalog, customers and storefront activity for the recipe tests, always inside one shop."""
from __future__ import annotations

import itertools
import json
from decimal import Decimal

from django.utils import timezone

from backend.catalog.models import Product, Variant
from backend.customers.models import Customer
from backend.orders.models import LineItem, Order
from backend.storefront.access import customer_signature

_seq = itertools.count(1)
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def product(shop, title: str, price: str = "10.00", stock: int = 5) -> Product:
    n = next(_seq)
    p = Product.objects.create(shop=shop, platform_id=f"rp{n}", title=title, handle=f"p-{n}",
                               image_url=f"https://cdn.example/{n}.jpg", total_inventory=stock,
                               platform_created_at=timezone.now())
    Variant.objects.create(shop=shop, product=p, platform_id=f"rv{n}", price=Decimal(price), inventory_quantity=stock)
    return p


def customer(shop, email: str, consent: bool = True, country: str = "ES") -> Customer:
    return Customer.objects.create(shop=shop, platform_id=f"rc{next(_seq)}", email=email, accepts_marketing=consent,
                                   country=country, first_name=email.split("@")[0].title())


def order(shop, products, customer=None, when=None) -> Order:
    n = next(_seq)
    total = sum((p.variants.first().price for p in products), Decimal(0))
    o = Order.objects.create(shop=shop, platform_id=f"ro{n}", customer=customer,
                             email=customer.email if customer else "", currency=shop.currency,
                             total_price=total, subtotal_price=total,
                             processed_at=when or timezone.now())
    for i, p in enumerate(products):
        LineItem.objects.create(shop=shop, order=o, platform_id=f"rl{n}-{i}", product=p, title=p.title,
                                quantity=1, price=p.variants.first().price)
    return o


def history(shop, baskets, when) -> None:
    """Past orders written in bulk, the way a sync writes them (no post_save: no followers run per order), so a
    test can give the engines co-purchases without paying for live order processing. `baskets`: (customer,
    [products]) pairs; `when(i)` gives the i-th order's time."""
    orders = Order.objects.bulk_create([
        Order(shop=shop, platform_id=f"ro{next(_seq)}", customer=who, email=who.email if who else "",
              currency=shop.currency, processed_at=when(i)) for i, (who, _items) in enumerate(baskets)])
    LineItem.objects.bulk_create([
        LineItem(shop=shop, order=o, platform_id=f"rl{o.pk}-{k}", product=p, title=p.title, quantity=1,
                 price=p.variants.first().price)
        for o, (_who, items) in zip(orders, baskets, strict=True) for k, p in enumerate(items)])


def add_to_cart(client, shop, customer, product, visitor: str):
    """The storefront script's request when a signed-in shopper adds to cart (real endpoint, real checks)."""
    body = {"key": shop.public_key, "visitor": visitor, "session": f"s-{visitor}", "consent": {"analytics": True},
            "events": [{"type": "added_to_cart", "product": product.platform_id}]}
    if customer is not None:  # signed in: the page carries the customer id and its signature
        body |= {"customer": customer.platform_id, "customer_sig": customer_signature(shop, customer.platform_id)}
    response = client.post("/api/storefront/events", json.dumps(body), content_type="text/plain",
                           HTTP_USER_AGENT=UA)
    assert response.status_code == 202, response.content
    return response

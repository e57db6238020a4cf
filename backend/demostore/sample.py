"""A small deterministic sample store (browser tests, Lighthouse bench, `manage.py seed_demostore`): catalog, orders.

Orders make the co-purchases unambiguous: the jacket is bought with the hat (4 orders) and the gloves (3), never
with the bottle, which is the overall bestseller on its own. The bottle, socks and scarf are accessories, outside the
Outdoor collection, so bestsellers under the Outdoor grid have something the grid does not already show.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from backend.catalog.models import Collection, CollectionMembership, Product, Variant
from backend.orders.models import LineItem, Order
from backend.recommendations import also_bought, bestsellers
from backend.shops.models import Shop
from backend.storefront.models import AllowedOrigin

XSS_TITLE = "<img src=x onerror=alert(1)>"

# handle, title, price, compare-at price
CATALOG = [
    ("trail-jacket", "Trail Jacket", "129.00", "159.00"),
    ("wool-hat", "Wool Hat", "24.50", None),
    ("winter-gloves", "Winter Gloves", "19.90", None),
    ("silk-scarf", "Silk Scarf", "35.00", None),
    ("hiking-socks", "Hiking Socks", "9.95", None),
    ("water-bottle", "Water Bottle", "14.00", None),
    ("xss-product", XSS_TITLE, "5.00", None),
    ("day-backpack", "Day Backpack", "59.00", None),
]

ACCESSORIES = ("silk-scarf", "hiking-socks", "water-bottle")

# (handles bought together, how many such orders)
BASKETS = [
    (("trail-jacket", "wool-hat", "winter-gloves"), 3),
    (("trail-jacket", "wool-hat"), 1),
    (("silk-scarf", "hiking-socks"), 3),
    (("water-bottle",), 6),
    (("water-bottle", "hiking-socks"), 1),
    (("day-backpack", "xss-product"), 3),
]


@dataclass
class Store:
    shop: Shop
    products: dict[str, Product]
    collection: Collection

    def pid(self, handle: str) -> str:
        return self.products[handle].platform_id


def seed_store(
    domain: str = "widgets-demo.myshopify.com",
    origin: str = "",
    currency: str = "EUR",
    locale: str = "en",
) -> Store:
    shop = Shop(platform=Shop.Platform.SHOPIFY, domain=domain, name="Widgets Demo", currency=currency, locale=locale)
    shop.mark_installed()
    shop.save()
    if origin:
        AllowedOrigin.objects.create(shop=shop, origin=origin.rstrip("/").lower())
    collection = Collection.objects.create(shop=shop, platform_id="500", title="Outdoor", handle="outdoor")
    accessories = Collection.objects.create(shop=shop, platform_id="501", title="Accessories", handle="accessories")
    products: dict[str, Product] = {}
    created = timezone.now() - timedelta(days=30)
    for n, (handle, title, price, compare) in enumerate(CATALOG):
        product = Product.objects.create(
            shop=shop,
            platform_id=str(9001 + n),
            title=title,
            handle=handle,
            url=f"/demo/{domain}/products/{handle}",
            image_url=f"/demo/img/{handle}.svg",
            total_inventory=20,
            platform_created_at=created + timedelta(hours=n),
        )
        Variant.objects.create(
            shop=shop,
            product=product,
            platform_id=str(19001 + n),
            price=Decimal(price),
            compare_at_price=Decimal(compare) if compare else None,
            inventory_quantity=20,
            available_for_sale=True,
        )
        home = accessories if handle in ACCESSORIES else collection
        CollectionMembership.objects.create(shop=shop, collection=home, product=product, position=n)
        products[handle] = product
    # Bulk inserts send no per-order signals: the one recompute below does what they would have done.
    when = timezone.now() - timedelta(days=2)
    baskets = [handles for handles, count in BASKETS for _ in range(count)]
    orders = Order.objects.bulk_create(
        Order(
            shop=shop,
            platform_id=str(70001 + n),
            currency=currency,
            processed_at=when + timedelta(minutes=n),
            platform_created_at=when + timedelta(minutes=n),
        )
        for n in range(len(baskets))
    )
    variants = {v.product_id: v for v in Variant.objects.for_shop(shop)}
    LineItem.objects.bulk_create(
        LineItem(
            shop=shop,
            order=order,
            platform_id=f"{order.platform_id}-{i}",
            product=products[handle],
            variant=variants[products[handle].pk],
            product_platform_id=products[handle].platform_id,
            title=products[handle].title,
            quantity=1,
            price=variants[products[handle].pk].price,
        )
        for order, handles in zip(orders, baskets, strict=True)
        for i, handle in enumerate(handles)
    )
    # What the scheduled jobs would do next: rebuild the also-bought lists and bestseller counters from all orders,
    # so the sample does not depend on per-order updates having run (they may be queued on a broker).
    also_bought.full_recompute(shop)
    bestsellers.rebuild(shop)
    return Store(shop=shop, products=products, collection=collection)

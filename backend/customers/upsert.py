"""Write platform customers into our models: batched, idempotent, order-safe.

A customer whose personal data was redacted (customers/redact) keeps only non-personal fields on later syncs:
the platform may still list them for a while, and redaction must stick.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from backend.catalog.upsert import cut, ids_by_platform_id, select_fresh, upsert_rows
from backend.orders.signals import REALTIME_BATCH_MAX
from backend.shops.models import Shop
from integrations.base.types import CustomerData

from .models import Customer
from .signals import customers_recorded

PERSONAL_FIELDS = ["email", "phone", "first_name", "last_name", "province", "city", "tags"]
OTHER_FIELDS = ["country", "accepts_marketing", "orders_count", "total_spent", "platform_created_at",
                "platform_updated_at"]


def upsert_customers(shop: Shop, items: Iterable[CustomerData]) -> int:
    with transaction.atomic():
        fresh, stored = select_fresh(Customer, shop, items)
        if not fresh:
            return 0
        redacted = set(
            Customer.objects.for_shop(shop).filter(platform_id__in=list(stored), redacted_at__isnull=False)
            .values_list("platform_id", flat=True)
        ) if stored else set()
        rows = [
            {
                "shop_id": shop.pk,
                "platform_id": cut(c.platform_id, 64),
                "email": cut(c.email, 320).strip().lower(),
                "phone": cut(c.phone, 40),
                "first_name": cut(c.first_name, 255),
                "last_name": cut(c.last_name, 255),
                "country": cut(c.country, 2).upper(),
                "province": cut(c.province, 255),
                "city": cut(c.city, 255),
                "tags": [cut(t, 255) for t in c.tags][:250],
                "accepts_marketing": c.accepts_marketing,
                "orders_count": c.orders_count,
                "total_spent": c.total_spent,
                "platform_created_at": c.created_at,
                "platform_updated_at": c.updated_at or stored.get(c.platform_id, (0, None))[1],
            }
            for c in fresh
        ]
        unique = ["shop", "platform_id"]
        upsert_rows(Customer, [r for r in rows if r["platform_id"] not in redacted], unique,
                    PERSONAL_FIELDS + OTHER_FIELDS)
        upsert_rows(Customer, [r for r in rows if r["platform_id"] in redacted], unique, OTHER_FIELDS)
        from backend.orders.upsert import link_orders_to_customers

        link_orders_to_customers(shop, [c.platform_id for c in fresh])
        written = list(ids_by_platform_id(Customer, shop, [c.platform_id for c in fresh]).values())
        bulk = len(fresh) > REALTIME_BATCH_MAX
        transaction.on_commit(
            lambda: customers_recorded.send(sender=Customer, shop_id=shop.pk, customer_ids=written, bulk=bulk),
            robust=True,
        )
    return len(fresh)


def delete_customers(shop: Shop, platform_ids: Iterable[str]) -> int:
    """The platform deleted these customers: drop the rows (their orders stay, unlinked)."""
    ids = [cut(p, 64) for p in platform_ids if p]
    if not ids:
        return 0
    deleted, _ = Customer.objects.for_shop(shop).filter(platform_id__in=ids).delete()
    return deleted

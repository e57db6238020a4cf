"""Celery jobs of the merchant cockpit: the analytics rollups."""
from __future__ import annotations

import logging

from celery import shared_task

from backend.shops.models import Shop

from .rollups import rollup_shop

logger = logging.getLogger("personalize.dashboard")


@shared_task
def rollup_one_shop(shop_id: int, days: int | None = None) -> int:
    """Roll up the shop's recent days. Retention is the events' own daily job (backend/events/partitions.py): whole
    partitions dropped, never a sweep of deletes per shop per hour."""
    shop = Shop.objects.filter(pk=shop_id, state=Shop.State.INSTALLED).first()
    if shop is None:
        return 0
    return rollup_shop(shop, days)


@shared_task
def rollup_all_shops() -> int:
    """Beat entry: one task per installed shop so a slow shop does not hold up the rest."""
    ids = list(Shop.objects.filter(state=Shop.State.INSTALLED).values_list("pk", flat=True))
    for shop_id in ids:
        rollup_one_shop.delay(shop_id)
    return len(ids)

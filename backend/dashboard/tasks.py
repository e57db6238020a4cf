"""Celery jobs of the merchant cockpit: the daily analytics rollups, then each shop's data retention."""
from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from backend.events.models import Event
from backend.shops.models import Shop

from .models import ShopSettings
from .rollups import rollup_shop

logger = logging.getLogger("personalize.dashboard")


def prune_events(shop: Shop) -> int:
    """The merchant's data-retention setting: storefront events older than it are deleted (rollups stay)."""
    keep = ShopSettings.of(shop).data_retention_days
    deleted, _ = Event.objects.for_shop(shop).filter(created_at__lt=timezone.now() - timedelta(days=keep)).delete()
    return deleted


@shared_task
def rollup_one_shop(shop_id: int, days: int | None = None) -> int:
    """Roll up the shop's recent days, then apply its data retention (after the rollup has read what it needs)."""
    shop = Shop.objects.filter(pk=shop_id, state=Shop.State.INSTALLED).first()
    if shop is None:
        return 0
    written = rollup_shop(shop, days)
    pruned = prune_events(shop)
    if pruned:
        logger.info("retention shop=%s deleted %s events", shop_id, pruned)
    return written


@shared_task
def rollup_all_shops() -> int:
    """Beat entry: one task per installed shop so a slow shop does not hold up the rest."""
    ids = list(Shop.objects.filter(state=Shop.State.INSTALLED).values_list("pk", flat=True))
    for shop_id in ids:
        rollup_one_shop.delay(shop_id)
    return len(ids)

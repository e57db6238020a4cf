"""The merchant removed the app: forget the credentials, stop the shop's work, keep its data.

Data stays until the platform asks for `shop/redact` (Shopify sends it 48 hours after uninstall), so a merchant
who reinstalls in between finds their settings and history. Safe to re-run: a redelivered uninstall changes nothing.
"""
from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from .models import Shop, SyncRun

logger = logging.getLogger("personalize.shops")


def uninstall_shop(shop: Shop) -> int:
    """Revoke tokens and cancel running syncs; returns how many sync runs were cancelled."""
    with transaction.atomic():
        locked = Shop.objects.select_for_update().get(pk=shop.pk)
        if locked.state != Shop.State.UNINSTALLED or locked.access_token or locked.refresh_token:
            locked.revoke()
            locked.save()
        # Sync code re-reads the shop's state between batches and stops; marking the runs cancelled tells it so
        # and tells the admin why the progress bar stopped.
        cancelled = SyncRun.objects.for_shop(locked).filter(status=SyncRun.Status.RUNNING).update(
            status=SyncRun.Status.CANCELLED, finished_at=timezone.now(), error="app uninstalled"
        )
    shop.refresh_from_db()
    logger.info("shop uninstalled shop=%s cancelled_syncs=%d", shop.domain, cancelled)
    return cancelled

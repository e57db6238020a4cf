"""Sync and reconciliation tasks (queue: sync). Thin: load ids, call the tested function, declare retries."""
from __future__ import annotations

import logging

from celery import shared_task

from backend.shops.models import Shop, SyncRun
from integrations.base.errors import IntegrationError
from integrations.base.http import backoff_delay

logger = logging.getLogger("personalize.shopify.tasks")

__all__ = ["sync_shop", "reconcile_shop_task", "reconcile_all_shops"]


@shared_task(name="integrations.shopify.tasks.sync_shop", bind=True, acks_late=True, max_retries=8)
def sync_shop(self, shop_id: int, run_id: int) -> str:  # noqa: ANN001
    """Drive one full sync; a redelivered or retried task resumes from the run's recorded progress."""
    from integrations.shopify.sync import SyncFailed, fail_run, run_sync

    shop = Shop.objects.filter(pk=shop_id).first()
    run = SyncRun.objects.for_shop(shop_id).filter(pk=run_id).first() if shop else None
    if shop is None or run is None or run.status != SyncRun.Status.RUNNING:
        return "nothing to do"
    if not shop.is_active:
        run.status = SyncRun.Status.CANCELLED
        run.save(update_fields=["status"])
        return "shop not installed"
    try:
        run_sync(shop, run)
    except IntegrationError as exc:
        if exc.retryable and self.request.retries < self.max_retries:
            logger.warning("sync shop=%s will retry: %s", shop.domain, exc)
            raise self.retry(exc=exc, countdown=backoff_delay(self.request.retries, base=5, cap=300)) from exc
        fail_run(run, f"{exc.__class__.__name__}: {exc}")
        return "failed"
    except SyncFailed as exc:
        fail_run(run, str(exc))
        return "failed"
    return "done"


@shared_task(name="integrations.shopify.tasks.reconcile_shop", bind=True, acks_late=True,
             max_retries=3)
def reconcile_shop_task(self, shop_id: int) -> dict:  # noqa: ANN001
    from backend.upkeep.tasks import record_reconcile
    from integrations.shopify.reconcile import reconcile_shop
    from integrations.shopify.sync import current_run

    shop = Shop.objects.filter(pk=shop_id, platform=Shop.Platform.SHOPIFY, state=Shop.State.INSTALLED).first()
    if shop is None or current_run(shop) is not None:
        return {}  # uninstalled, or its first sync is still running (it sets the cursors when done)
    try:
        applied = reconcile_shop(shop)
    except IntegrationError as exc:
        if exc.retryable and self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=backoff_delay(self.request.retries, base=30, cap=600)) from exc
        logger.warning("reconcile shop=%s failed: %s", shop.domain, exc)
        return {}
    record_reconcile(shop_id, sum(applied.values()))  # nothing missed by the webhooks: the next one can wait longer
    return applied


@shared_task(name="integrations.shopify.tasks.reconcile_all_shops")
def reconcile_all_shops() -> int:
    """Beat entry point: one reconcile task per installed Shopify shop."""
    ids = list(Shop.objects.filter(platform=Shop.Platform.SHOPIFY, state=Shop.State.INSTALLED)
               .values_list("pk", flat=True))
    for shop_id in ids:
        reconcile_shop_task.delay(shop_id)
    return len(ids)


@shared_task(name="integrations.shopify.tasks.publish_storefront_config", bind=True, acks_late=True,
             max_retries=5)
def publish_storefront_config_task(self, shop_id: int) -> bool:  # noqa: ANN001
    """After each install: the theme app extension needs the shop's public key in an app metafield."""
    from integrations.shopify.storefront_config import StorefrontConfigError, publish_storefront_config

    shop = Shop.objects.filter(pk=shop_id, platform=Shop.Platform.SHOPIFY, state=Shop.State.INSTALLED).first()
    if shop is None:
        return False
    try:
        publish_storefront_config(shop)
    except (IntegrationError, StorefrontConfigError) as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=backoff_delay(self.request.retries, base=10, cap=300)) from exc
        logger.warning("publishing storefront config failed shop=%s: %s", shop.domain, exc)
        return False
    return True

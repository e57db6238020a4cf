"""Connect follow-up, sync and reconciliation tasks (queue: sync)."""
from __future__ import annotations

import logging

from celery import shared_task

from integrations.base.errors import IntegrationError

__all__ = ["sync_after_connect", "sync_shop", "reconcile_woocommerce_shops", "reconcile_woocommerce_shop"]

logger = logging.getLogger("personalize.woocommerce.tasks")


@shared_task(name="integrations.woocommerce.tasks.sync_after_connect", acks_late=True,
             autoretry_for=(IntegrationError,), retry_backoff=10, retry_jitter=True, max_retries=5)
def sync_after_connect(shop_id: int) -> int:
    """After the keys arrive: subscribe to webhooks, then start the first full sync."""
    from backend.shops.models import Shop
    from integrations.woocommerce.auth import finish_connect as subscribe
    from integrations.woocommerce.sync import start_sync

    shop = Shop.objects.filter(pk=shop_id, state=Shop.State.INSTALLED).first()
    if shop is None:
        return 0
    subscribe(shop)
    run = start_sync(shop, kind="full")
    sync_shop.delay(run.pk)
    return run.pk


@shared_task(name="integrations.woocommerce.tasks.sync_shop", acks_late=True,
             # The run is resumable: a retry continues from the page each stage reached.
             autoretry_for=(IntegrationError,), retry_backoff=30, retry_backoff_max=900, retry_jitter=True,
             max_retries=6)
def sync_shop(run_id: int) -> str:
    from backend.shops.models import SyncRun
    from integrations.woocommerce.sync import resume_sync, run_sync

    run = SyncRun.all_shops.filter(pk=run_id).first()
    if run is None or run.status in (SyncRun.Status.DONE, SyncRun.Status.CANCELLED):
        return "nothing to do"
    run = resume_sync(run)
    return run_sync(run).status


def _reconcile(shop) -> bool:  # noqa: ANN001 - a Shop
    from backend.shops.models import SyncRun
    from integrations.woocommerce.sync import start_sync

    if SyncRun.objects.for_shop(shop).filter(status=SyncRun.Status.RUNNING).exists():
        return False  # a sync is under way (its own task drives it); a second task would race it
    run = start_sync(shop, kind="incremental")
    sync_shop.delay(run.pk)
    return True


@shared_task(name="integrations.woocommerce.tasks.reconcile_woocommerce_shop", acks_late=True)
def reconcile_woocommerce_shop(shop_id: int) -> bool:
    """One store's incremental sync, when backend.upkeep says its reconciliation is due."""
    from backend.shops.models import Shop

    shop = Shop.objects.filter(pk=shop_id, platform=Shop.Platform.WOOCOMMERCE, state=Shop.State.INSTALLED).first()
    return _reconcile(shop) if shop is not None else False


@shared_task(name="integrations.woocommerce.tasks.reconcile_woocommerce_shops", acks_late=True)
def reconcile_woocommerce_shops() -> int:
    """Beat (PERIODIC_BY_NEED off): an incremental sync per connected store heals any webhook WooCommerce failed to
    deliver."""
    from backend.shops.models import Shop

    started = 0
    for shop in Shop.objects.filter(platform=Shop.Platform.WOOCOMMERCE, state=Shop.State.INSTALLED):
        started += _reconcile(shop)
    return started

"""Order saves schedule `order_recorded_task` after commit, once per order per transaction.

Lines are usually saved after their order, so both Order and LineItem saves schedule; the task is idempotent
(RecordedLine markers), and duplicates inside one transaction are collapsed here.
"""
from __future__ import annotations

import logging

from django.db import connection, transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from backend.orders.models import LineItem, Order
from backend.orders.signals import orders_recorded
from backend.shops.signals import sync_finished

log = logging.getLogger(__name__)


def schedule(shop_id: int, order_id: int) -> None:
    key = (shop_id, order_id)
    if key in _queued():
        return

    def send() -> None:
        from backend.recommendations.tasks import order_recorded_task

        try:
            order_recorded_task.delay(shop_id, order_id)
        except Exception:  # a broker outage must not fail the order save; the nightly recompute heals
            log.exception("could not schedule order_recorded for shop=%s order=%s", shop_id, order_id)

    send.reco_key = key  # type: ignore[attr-defined]
    transaction.on_commit(send)
    if connection.in_atomic_block:
        _queued().add(key)


def _queued() -> set[tuple[int, int]]:
    """Orders already queued in this transaction. Django replaces its callback list on commit and on a
    savepoint rollback, so the set is rebuilt from the list whenever the list object changed: a bulk sync of
    thousands of orders stays linear and a rolled-back order is scheduled again."""
    pending = connection.run_on_commit
    memo = getattr(connection, "_reco_queued", None)
    if memo is None or memo[0] is not pending:
        memo = (pending, {getattr(e[1], "reco_key", None) for e in pending})
        connection._reco_queued = memo
    return memo[1]


@receiver(post_save, sender=Order, dispatch_uid="recommendations-order-saved")
def _order_saved(sender, instance: Order, raw: bool = False, **kwargs) -> None:  # noqa: ANN001
    if not raw:
        schedule(instance.shop_id, instance.pk)


@receiver(post_save, sender=LineItem, dispatch_uid="recommendations-line-saved")
def _line_saved(sender, instance: LineItem, raw: bool = False, **kwargs) -> None:  # noqa: ANN001
    if not raw:
        schedule(instance.shop_id, instance.order_id)


def _orders_recorded(sender, shop_id: int, order_ids: list[int], bulk: bool, **kwargs) -> None:  # noqa: ANN001
    """Upserted orders (webhooks) update pairs at once; a bulk sync batch waits for `sync_finished`."""
    if not bulk:
        for order_id in order_ids:
            schedule(shop_id, order_id)


def _sync_finished(sender, shop_id: int, **kwargs) -> None:  # noqa: ANN001
    from backend.recommendations.tasks import recompute_shop_task

    try:
        recompute_shop_task.delay(shop_id)
    except Exception:  # the scheduled recompute heals it
        log.exception("could not schedule recompute for shop=%s", shop_id)


orders_recorded.connect(_orders_recorded, dispatch_uid="recommendations-orders-recorded")
sync_finished.connect(_sync_finished, dispatch_uid="recommendations-sync-finished")

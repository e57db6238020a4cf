"""The hot paths leave a mark on their shop's upkeep row; periodic jobs run only where a mark is newer than their
last run. Events mark at most once a minute per shop (a cache flag), so a busy storefront adds one UPDATE a minute."""
from __future__ import annotations

import logging
from datetime import datetime

from django.core.cache import cache
from django.db import DatabaseError
from django.utils import timezone

from .models import ShopUpkeep
from .spread import offset

logger = logging.getLogger("personalize.upkeep")

EVENT_MARK_SECONDS = 60


def row_for(shop_id: int) -> ShopUpkeep:
    row, _ = ShopUpkeep.objects.for_shop(shop_id).get_or_create(shop_id=shop_id,
                                                                defaults={"spread": offset(shop_id)})
    return row


def _update(shop_id: int, **values) -> None:
    try:
        if not ShopUpkeep.objects.for_shop(shop_id).update(**values):
            row_for(shop_id)
            ShopUpkeep.objects.for_shop(shop_id).update(**values)
    except DatabaseError:  # a mark is a hint for the scheduler: it must never fail the write that made it
        logger.exception("could not mark upkeep for shop=%s", shop_id)


def note_events(shop_id: int, now: datetime | None = None) -> None:
    if cache.add(f"upkeep:events:{shop_id}", 1, EVENT_MARK_SECONDS):
        _update(shop_id, activity_at=now or timezone.now())


def note_orders(shop_id: int, count: int, bulk: bool, now: datetime | None = None) -> None:
    now = now or timezone.now()
    # Counting for refits is the order sweep's (backend.upkeep.tasks.count_new_orders): it sees every row, even
    # one written without a signal.
    values = {"activity_at": now, "orders_at": now}
    if bulk:
        values["catch_up_since"] = now
    _update(shop_id, **values)


def on_events(shop_id: int, events: list) -> None:
    note_events(shop_id)


def on_orders_recorded(sender, shop_id: int, order_ids: list[int], bulk: bool, **kwargs) -> None:  # noqa: ANN001
    note_orders(shop_id, len(order_ids), bulk)


def on_customers_recorded(sender, shop_id: int, customer_ids: list[int], bulk: bool, **kwargs) -> None:  # noqa: ANN001
    if bulk:
        _update(shop_id, catch_up_since=timezone.now())


def on_order_saved(sender, instance, created: bool = False, **kwargs) -> None:  # noqa: ANN001
    note_orders(instance.shop_id, 1 if created else 0, bulk=False)

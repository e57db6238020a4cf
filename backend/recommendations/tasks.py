"""Celery entry points of the engines (queue "compute"): thin wrappers over tested functions.

`order_recorded(shop_id, order_id)` is what the order sync / webhook path calls (directly or through
`order_recorded_task`); a post_save hook on Order and LineItem (signals.py) schedules it after commit, so a new
order moves bestsellers and also-bought pairs within seconds. The beat schedule runs `recompute_all_shops`.
"""
from __future__ import annotations

import logging

from celery import shared_task

from backend.orders.models import Order
from backend.recommendations import also_bought, bestsellers
from backend.shops.models import Shop

log = logging.getLogger(__name__)


def order_recorded(shop_id: int, order_id: int) -> dict:
    """Count a new (or newly-lined) order in the sales buckets and refresh the touched also-bought lists."""
    order = Order.objects.for_shop(shop_id).select_related("customer", "shop").filter(pk=order_id).first()
    if order is None:
        return {"lines": 0, "lists": 0}
    counted = bestsellers.record_order(order)
    touched = 0
    if counted and order.cancelled_at is None:
        products = order.line_items.filter(product__isnull=False).values_list("product_id", flat=True)
        touched = also_bought.update_for_products(order.shop, products)
    return {"lines": counted, "lists": touched}


@shared_task(name="backend.recommendations.tasks.order_recorded_task", acks_late=True,
             autoretry_for=(Exception,), retry_backoff=2, retry_backoff_max=60, retry_jitter=True, max_retries=5)
def order_recorded_task(shop_id: int, order_id: int) -> dict:
    return order_recorded(shop_id, order_id)


def recompute_shop(shop_id: int) -> dict:
    """Full nightly rebuild of one shop: also-bought lists and the bestseller counters (heals refunds/cancels)."""
    shop = Shop.objects.get(pk=shop_id)
    result = also_bought.full_recompute(shop)
    result["sales_lines"] = bestsellers.rebuild(shop)
    bestsellers.prune(shop)
    return result


@shared_task(name="backend.recommendations.tasks.recompute_shop_task", acks_late=True,
             autoretry_for=(Exception,), retry_backoff=30, max_retries=3)
def recompute_shop_task(shop_id: int) -> dict:
    return recompute_shop(shop_id)


@shared_task(name="backend.recommendations.tasks.recompute_all_shops")
def recompute_all_shops() -> int:
    """Fan out one recompute per installed shop, so shops run in parallel on the compute workers."""
    ids = list(Shop.objects.filter(state=Shop.State.INSTALLED).values_list("pk", flat=True))
    for shop_id in ids:
        recompute_shop_task.delay(shop_id)
    return len(ids)

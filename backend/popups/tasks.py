"""Popups' background jobs: keep discount code pools filled, and match redemptions from orders."""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.core.cache import cache
from django.db import IntegrityError, OperationalError
from django.utils import timezone

from backend.orders.models import Order
from integrations.base.errors import RateLimited, ServerError, TransportError

from . import codes
from .models import Budget, Campaign

RETRY = {"autoretry_for": (OperationalError, IntegrityError, TransportError, ServerError, RateLimited),
         "retry_backoff": True, "retry_jitter": True, "max_retries": 5}
REDEMPTION_WINDOW = timedelta(hours=2)


@shared_task(**RETRY)
def refill_campaign(shop_id: int, campaign_id: int) -> int:
    try:
        campaign = Campaign.objects.for_shop(shop_id).filter(pk=campaign_id).first()
        return codes.refill(campaign) if campaign is not None else 0
    finally:
        cache.delete(codes.refill_key(campaign_id))  # the pools are topped up: a later low pool may queue again


@shared_task
def refill_all_pools() -> int:
    """Beat: every active unique-code campaign gets its pools topped up (the API also queues this when low), and
    budgets of past days are dropped (a day's counts matter only on that day)."""
    Budget.all_shops.filter(day__lt=codes.budget_day(timezone.now()) - timedelta(days=1)).delete()
    rows = Campaign.all_shops.filter(status=Campaign.Status.ACTIVE, code_mode=Campaign.CodeMode.UNIQUE)
    for shop_id, campaign_id in rows.values_list("shop_id", "pk"):
        refill_campaign.delay(shop_id, campaign_id)
    return rows.count()


@shared_task(**RETRY)
def match_recent_redemptions() -> int:
    """Beat: orders written in bulk (sync, no post_save) that used a popup code within the window."""
    since = timezone.now() - REDEMPTION_WINDOW
    # One query across every shop with a campaign (was one per such shop every five minutes): only shops with a
    # coded order in the window get any further work.
    shops = Campaign.all_shops.values("shop_id")
    orders = (Order.all_shops.filter(shop_id__in=shops, processed_at__gte=since).exclude(discount_codes=[])
              .order_by("shop_id", "pk"))
    by_shop: dict[int, list[Order]] = {}
    for order in orders:
        by_shop.setdefault(order.shop_id, []).append(order)
    return sum(codes.mark_redeemed(shop_id, found) for shop_id, found in by_shop.items())


def on_order_saved(sender, instance, **kwargs) -> None:  # noqa: ANN001 - Django signal signature
    if instance.discount_codes:
        codes.mark_redeemed(instance.shop_id, [instance])


def on_orders_recorded(sender, shop_id: int, order_ids: list[int], bulk: bool, **kwargs) -> None:  # noqa: ANN001
    """Webhook orders mark their popup codes used at once; sync batches are matched by the beat job."""
    if bulk or not order_ids:
        return
    orders = list(Order.objects.for_shop(shop_id).filter(pk__in=order_ids).exclude(discount_codes=[]))
    if orders:
        codes.mark_redeemed(shop_id, orders)

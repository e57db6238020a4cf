"""The beat's ticks for work by need. Each tick is one or two indexed queries across all shops and enqueues a task
only for the shops that need one now: a mark newer than the job's last run, and the shop's slot (spread) in this
tick's share of the period. A quiet shop gets no task at all, except reconciliation, which only backs off.

Every tick takes `now` (ISO text through Celery) so tests and the many-shop bench move time forward without sleeping.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from celery import shared_task
from django.db.models import F, Q
from django.utils import timezone

from backend.shops.models import Shop, WebhookDelivery

from .models import RECONCILE_BASE_SECONDS, ShopUpkeep
from .spread import offset, window

logger = logging.getLogger("personalize.upkeep")

ROLLUP_PERIOD, ROLLUP_TICK = timedelta(hours=1), timedelta(minutes=5)
DAILY_PERIOD, DAILY_TICK = timedelta(days=1), timedelta(hours=1)
# A refit is worth its cost once this many orders arrived since the last one; fewer wait (up to REFIT_MAX_AGE).
REFIT_MIN_NEW_ORDERS = 20
REFIT_MAX_AGE = timedelta(days=7)
RECONCILE_MAX_SECONDS = 4 * 3600  # a quiet, healthy shop is still reconciled at least this often


def _now(now_iso: str | None) -> datetime:
    return datetime.fromisoformat(now_iso) if now_iso else timezone.now()


def _installed() -> Q:
    return Q(shop__state=Shop.State.INSTALLED)


def _in_slot(now: datetime, tick: timedelta, period: timedelta) -> Q:
    q = Q(pk__in=[])
    for low, high in window(now, tick, period):
        q |= Q(spread__gte=low, spread__lt=high)
    return q


def ensure_rows() -> int:
    """Installed shops without an upkeep row get one (new installs); one anti-join across shops."""
    have = ShopUpkeep.all_shops.values("shop_id")
    missing = list(Shop.objects.filter(state=Shop.State.INSTALLED).exclude(pk__in=have).values_list("pk", flat=True))
    ShopUpkeep.all_shops.bulk_create([ShopUpkeep(shop_id=pk, spread=offset(pk)) for pk in missing],
                                     ignore_conflicts=True)
    return len(missing)


# ------------------------------------------------------------------ segments


def catch_up(now: datetime) -> list[int]:
    """Shops with orders or customers written in bulk since the last catch-up (was: every shop, every minute)."""
    from backend.segments.tasks import catch_up_shop

    rows = list(ShopUpkeep.all_shops.filter(_installed(), catch_up_since__isnull=False)
                .values_list("shop_id", "catch_up_since"))
    for shop_id, since in rows:
        # Cleared only if no newer bulk write marked it meanwhile: that one is caught up on the next tick.
        ShopUpkeep.objects.for_shop(shop_id).filter(catch_up_since=since).update(catch_up_since=None)
        catch_up_shop.delay(shop_id)
    return [shop_id for shop_id, _ in rows]


def count_new_orders(now: datetime) -> dict[int, int]:
    """Cross-shop: new order rows since the last sweep, per shop (one range scan on the primary key). Counts what
    refits wait for and marks the shop active, whether or not the write that made the rows sent a signal."""
    from django.db import transaction
    from django.db.models import Count, Max

    from backend.orders.models import Order

    from .models import JobCursor

    with transaction.atomic():
        # The first sweep counts every stored order once: each shop with orders then gets one refit at its slot.
        cursor, _ = JobCursor.objects.select_for_update().get_or_create(name="orders")
        rows = list(Order.all_shops.filter(pk__gt=cursor.value).values("shop_id")
                    .annotate(n=Count("pk"), top=Max("pk")).order_by())
        for row in rows:
            ShopUpkeep.all_shops.filter(shop_id=row["shop_id"]).update(
                orders_since_refit=F("orders_since_refit") + row["n"], orders_at=now, activity_at=now)
        if rows:
            cursor.value = max(r["top"] for r in rows)
            cursor.save(update_fields=["value"])
    return {r["shop_id"]: r["n"] for r in rows}


# ------------------------------------------------------------------ rollups, refits, recommendations


def _changed_since_last(mark: str, last: str) -> Q:
    return Q(**{f"{mark}__isnull": False}) & (Q(**{f"{last}__isnull": True}) | Q(**{f"{mark}__gt": F(last)}))


def _due_in_slot(now: datetime, tick: timedelta, period: timedelta, need: Q, stamp: str,
                 task: Callable[[int], object]) -> list[int]:
    ids = list(ShopUpkeep.all_shops.filter(_installed(), _in_slot(now, tick, period), need)
               .values_list("shop_id", flat=True))
    if ids:
        ShopUpkeep.all_shops.filter(shop_id__in=ids).update(**{stamp: now})
    for shop_id in ids:
        task(shop_id)
    return ids


def rollups(now: datetime, tick: timedelta = ROLLUP_TICK) -> list[int]:
    """Hourly per shop at its slot, only with new events or orders since its last rollup."""
    from backend.dashboard.tasks import rollup_one_shop

    return _due_in_slot(now, tick, ROLLUP_PERIOD, _changed_since_last("activity_at", "rollup_at"), "rollup_at",
                        rollup_one_shop.delay)


def refits(now: datetime, tick: timedelta = DAILY_TICK) -> list[int]:
    """Daily per shop at its slot, only when enough new orders arrived (or a few, and the fit is a week old)."""
    from backend.segments.tasks import refit_shop_task

    need = Q(orders_since_refit__gte=REFIT_MIN_NEW_ORDERS) | (
        Q(orders_since_refit__gt=0) & (Q(refit_at__isnull=True) | Q(refit_at__lt=now - REFIT_MAX_AGE)))
    ids = list(ShopUpkeep.all_shops.filter(_installed(), _in_slot(now, tick, DAILY_PERIOD), need)
               .values_list("shop_id", "orders_since_refit"))
    for shop_id, seen in ids:
        # Orders recorded while we read stay counted for the next refit.
        ShopUpkeep.objects.for_shop(shop_id).update(refit_at=now, orders_since_refit=F("orders_since_refit") - seen)
        refit_shop_task.delay(shop_id)
    return [shop_id for shop_id, _ in ids]


def recommendations(now: datetime, tick: timedelta = DAILY_TICK) -> list[int]:
    """The nightly also-bought / bestseller rebuild, only for shops with orders since the last one."""
    from backend.recommendations.tasks import recompute_shop_task

    return _due_in_slot(now, tick, DAILY_PERIOD, _changed_since_last("orders_at", "recommend_at"), "recommend_at",
                        recompute_shop_task.delay)


# ------------------------------------------------------------------ reconciliation


def next_interval(previous: int, *, deliveries: int, failures: int, applied: int | None) -> int:
    """Seconds until the next reconciliation. Webhooks failing, or a quiet shop where the last pass found changes
    the webhooks never brought: back to the base interval. Quiet and nothing missed: double it, up to the cap.
    A shop receiving webhooks keeps the base interval (there is something to heal if one is lost)."""
    if failures or deliveries or applied:
        return RECONCILE_BASE_SECONDS
    return min(max(previous, RECONCILE_BASE_SECONDS) * 2, RECONCILE_MAX_SECONDS)


def _health(shop_id: int, since: datetime | None) -> tuple[int, int]:
    rows = WebhookDelivery.objects.for_shop(shop_id)
    if since is not None:
        rows = rows.filter(received_at__gte=since)
    counts = rows.aggregate(n=_count(), bad=_count(Q(failed=True) | ~Q(error="")))
    return counts["n"] or 0, counts["bad"] or 0


def _count(condition: Q | None = None):  # noqa: ANN202
    from django.db.models import Count

    return Count("pk", filter=condition) if condition is not None else Count("pk")


def _reconcile_task(platform: str) -> Callable[[int], object] | None:
    if platform == Shop.Platform.SHOPIFY:
        from integrations.shopify.tasks.sync import reconcile_shop_task

        return reconcile_shop_task.delay
    if platform == Shop.Platform.WOOCOMMERCE:
        from integrations.woocommerce.tasks.sync import reconcile_woocommerce_shop

        return reconcile_woocommerce_shop.delay
    return None


def reconcile(now: datetime) -> list[int]:
    """Shops whose reconciliation is due; each gets its next moment from its webhooks' health."""
    ensure_rows()
    fresh = ShopUpkeep.all_shops.filter(_installed(), reconcile_next_at__isnull=True)
    for row in fresh.only("pk", "spread", "shop_id"):  # first slot: spread over the base interval
        ShopUpkeep.all_shops.filter(pk=row.pk).update(
            reconcile_next_at=now + timedelta(seconds=row.spread * RECONCILE_BASE_SECONDS))
    due = list(ShopUpkeep.all_shops.filter(_installed(), reconcile_next_at__lte=now)
               .values_list("pk", "shop_id", "shop__platform", "reconcile_at", "reconcile_interval",
                            "reconcile_applied", "spread"))
    for pk, shop_id, platform, last, previous, applied, spread in due:
        deliveries, failures = _health(shop_id, last)
        interval = next_interval(previous, deliveries=deliveries, failures=failures, applied=applied)
        # A longer wait is shortened by up to half, by the shop's own slot: shops that backed off together (a
        # deploy, an outage) drift apart instead of all coming due in the same quarter hour every four hours.
        wait = interval if interval <= RECONCILE_BASE_SECONDS else interval * (1 - spread / 2)
        ShopUpkeep.all_shops.filter(pk=pk).update(reconcile_at=now, reconcile_interval=interval,
                                                  reconcile_next_at=now + timedelta(seconds=wait),
                                                  reconcile_applied=None)
        task = _reconcile_task(platform)
        if task is not None:
            task(shop_id)
    return [shop_id for _, shop_id, *_ in due]


def record_reconcile(shop_id: int, applied: int) -> None:
    """A platform's reconcile task reports how many records it applied (0: the webhooks had brought everything)."""
    ShopUpkeep.objects.for_shop(shop_id).update(reconcile_applied=applied)


# ------------------------------------------------------------------ beat entry points


@shared_task(name="backend.upkeep.tasks.tick_minute")
def tick_minute(now_iso: str | None = None) -> dict:
    now = _now(now_iso)
    ensure_rows()
    return {"new_orders": len(count_new_orders(now)), "catch_up": len(catch_up(now)),
            "reconcile": len(reconcile(now))}


@shared_task(name="backend.upkeep.tasks.tick_five_minutes")
def tick_five_minutes(now_iso: str | None = None) -> dict:
    from backend.segments.tasks import due_all_shops

    now = _now(now_iso)
    return {"segments_due": due_all_shops(now.isoformat()), "rollups": len(rollups(now))}


@shared_task(name="backend.upkeep.tasks.tick_hour")
def tick_hour(now_iso: str | None = None) -> dict:
    now = _now(now_iso)
    return {"refits": len(refits(now)), "recommendations": len(recommendations(now))}

"""Celery tasks that keep profiles, memberships and value scores current. Thin: each loads ids and calls a function.

Real time: an order (post_save, or `orders_changed` from a bulk upsert) or a storefront event (events hook)
refreshes one profile and re-evaluates its memberships in Python, without touching the rest of the shop.
Every task runs on the "compute" queue (CELERY_TASK_DEFAULT_QUEUE).
Scheduled: `full_pass_all_shops` re-runs every segment as one query per segment (time-based rules), and
`refit_all_shops` rebuilds profiles from scratch, refits the CLV models and rescores every profile.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import contextmanager

from celery import shared_task
from django.core.cache import cache
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from backend.customers.identities import link_new_customers, resolve_customer, resolve_visitor
from backend.customers.models import Customer, CustomerProfile
from backend.customers.profiles import prune_collection_views, refresh_order_facts, refresh_profile
from backend.shops.models import Shop

from . import due, membership, valuation
from .models import SegmentSettings
from .presets import ensure_presets

logger = logging.getLogger("personalize.segments")

PENDING_TTL = 30
# Transient database trouble (a lock timeout, a lost race on a new identity) is retried with backoff.
RETRY = {"autoretry_for": (OperationalError, IntegrityError), "retry_backoff": True, "retry_jitter": True,
         "max_retries": 5}


def update_profile(profile: CustomerProfile) -> tuple[list[str], list[str]]:
    """Refresh one profile's facts and scores, then its memberships: the whole real-time path."""
    settings = membership.settings_for(profile.shop_id)
    refresh_profile(profile, viewed_window_days=settings.viewed_window_days, save=False)
    if profile.is_known or profile.orders_count:
        valuation.score_profile(profile, vip_top_percent=settings.vip_top_percent)
    else:  # an anonymous visitor has no purchase history to value: skip the fit lookup on the hot path
        valuation.ShopValuation(None).apply([profile], {}, settings.vip_top_percent)
    due.stamp(profile)
    profile.save()
    return membership.update_profile_memberships(profile)


def _absorbed_profiles(profile: CustomerProfile) -> list[CustomerProfile]:
    """Profiles merged into this one that still hold memberships (they must leave their segments)."""
    return list(CustomerProfile.objects.for_shop(profile.shop_id).filter(merged_into=profile, memberships__isnull=False)
                .distinct())


@contextmanager
def _derived_write():
    """One transaction per real-time update. On PostgreSQL its commit does not wait for the WAL flush: profiles,
    identities and memberships are derived from orders and events and rebuilt by the next event or the nightly
    pass, and waiting on fsync three times was most of a task's time on a busy disk."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def _settle(profile: CustomerProfile | None) -> None:
    if profile is None:
        return
    if getattr(profile, "absorbed_now", False):
        for gone in _absorbed_profiles(profile):
            membership.update_profile_memberships(gone)
    update_profile(profile)


def _shop_is_active(shop_id: int) -> bool:
    """A task can outlive its shop (uninstalled, redacted): then there is nothing to do, and nothing to retry."""
    key = f"segments:shop-active:{shop_id}"
    active = cache.get(key)
    if active is None:
        active = Shop.objects.filter(pk=shop_id, state=Shop.State.INSTALLED).exists()
        cache.set(key, active, 60)
    return active


@shared_task(acks_late=True, **RETRY)
def profile_changed(shop_id: int, customer_id: int, channel: str = "") -> None:
    """An order or the customer changed: refresh that person's profile and memberships."""
    cache.delete(f"segments:pending:{shop_id}:c:{customer_id}")
    if not _shop_is_active(shop_id):
        return
    customer = Customer.objects.for_shop(shop_id).filter(pk=customer_id).first()
    if customer is None:
        return
    with _derived_write():
        _settle(resolve_customer(customer, channel))


@shared_task(acks_late=True, **RETRY)
def visitor_changed(shop_id: int, visitor_id: str, customer_id: int | None = None) -> None:
    """New storefront events from a visitor (perhaps now known as a customer)."""
    cache.delete(f"segments:pending:{shop_id}:v:{visitor_id}")
    if not _shop_is_active(shop_id):
        return
    with _derived_write():
        _settle(resolve_visitor(shop_id, visitor_id, customer_id))


def _enqueue_once(key: str, task, *args) -> None:  # noqa: ANN001 - a Celery task
    # A burst from one shopper becomes one task: the flag is cleared when the task starts reading, so any event
    # stored after that start enqueues a fresh task and nothing is missed.
    if cache.add(key, 1, PENDING_TTL):
        try:
            task.delay(*args)
        except Exception:  # broker down: the next event (or the scheduled pass) tries again
            cache.delete(key)
            logger.exception("could not enqueue %s", getattr(task, "name", task))


def orders_changed(shop_id: int, customer_ids: Iterable[int | None], channel: str = "") -> None:
    """Call after orders were written (e.g. at the end of a bulk upsert): one task per customer, after commit."""
    ids = sorted({c for c in customer_ids if c})

    def send() -> None:
        for cid in ids:
            _enqueue_once(f"segments:pending:{shop_id}:c:{cid}", profile_changed, shop_id, cid, channel)

    transaction.on_commit(send, robust=True)  # a broker outage must not fail the write that called us


def customers_changed(shop_id: int, customer_ids: Iterable[int | None]) -> None:
    """Call after customers were written (an email or phone may now join two profiles): same path as orders."""
    orders_changed(shop_id, customer_ids)


def on_events(shop_id: int, events: list) -> None:
    """backend.events hook: one refresh per visitor in the batch (events without consent carry no visitor)."""
    seen: dict[str, int | None] = {}
    for e in events:
        if e.visitor_id:
            seen[e.visitor_id] = e.customer_id or seen.get(e.visitor_id)
    for visitor_id, customer_id in seen.items():
        _enqueue_once(f"segments:pending:{shop_id}:v:{visitor_id}", visitor_changed, shop_id, visitor_id,
                      customer_id)


def on_order_saved(sender, instance, **kwargs) -> None:  # noqa: ANN001 - Django signal signature
    if instance.customer_id:
        orders_changed(instance.shop_id, [instance.customer_id], instance.channel)


# ------------------------------------------------------------------ scheduled

CATCH_UP_BATCH = 2000


def _changed_since(model, shop_id: int, cursor_pk: int | None, cursor_ts):  # noqa: ANN001, ANN202
    """Rows of `model` created (pk) or changed on the platform (platform_updated_at) after the cursors."""
    changed = Q(pk__gt=cursor_pk)
    if cursor_ts is not None:
        changed |= Q(platform_updated_at__gt=cursor_ts)
    return model.objects.for_shop(shop_id).filter(changed).order_by("pk")


def _cursor_start(model, shop_id: int) -> tuple[int, object]:  # noqa: ANN001
    rows = model.objects.for_shop(shop_id)
    last = rows.order_by("-pk").values_list("pk", flat=True).first() or 0
    newest = rows.order_by(F("platform_updated_at").desc(nulls_last=True)).values_list(
        "platform_updated_at", flat=True).first()
    return last, newest


def _advance(old_pk: int, old_ts, rows: list[tuple]) -> tuple[int, object]:  # noqa: ANN001
    stamps = [ts for _, _, ts in rows if ts is not None] + ([old_ts] if old_ts is not None else [])
    return max(old_pk, max(pk for pk, _, _ in rows)), (max(stamps) if stamps else None)


def catch_up_orders(shop_id: int) -> int:
    """Refresh the profiles of customers whose orders or own records were written without a signal (bulk upserts)
    since the last run: new rows by pk, changed ones by the platform's updated_at. Returns how many customers
    were refreshed. The first run only places the cursors: the nightly rebuild covers everything before them."""
    from backend.orders.models import Order

    settings, _ = SegmentSettings.objects.for_shop(shop_id).get_or_create(shop_id=shop_id)
    scoped = SegmentSettings.objects.for_shop(shop_id).filter(pk=settings.pk)
    if settings.order_cursor_pk is None or settings.customer_cursor_pk is None:
        o_pk, o_ts = _cursor_start(Order, shop_id)
        c_pk, c_ts = _cursor_start(Customer, shop_id)
        scoped.update(order_cursor_pk=o_pk, order_cursor_updated_at=o_ts, customer_cursor_pk=c_pk,
                      customer_cursor_updated_at=c_ts)
        return 0
    orders = list(_changed_since(Order, shop_id, settings.order_cursor_pk, settings.order_cursor_updated_at)
                  .values_list("pk", "customer_id", "platform_updated_at")[:CATCH_UP_BATCH])
    customers = list(_changed_since(Customer, shop_id, settings.customer_cursor_pk,
                                    settings.customer_cursor_updated_at)
                     .values_list("pk", "pk", "platform_updated_at")[:CATCH_UP_BATCH])
    customer_ids = sorted({cid for _, cid, _ in orders + customers if cid})
    for customer in Customer.objects.for_shop(shop_id).filter(pk__in=customer_ids):
        with _derived_write():
            _settle(resolve_customer(customer))
    update = {}
    if orders:
        update["order_cursor_pk"], update["order_cursor_updated_at"] = _advance(
            settings.order_cursor_pk, settings.order_cursor_updated_at, orders)
    if customers:
        update["customer_cursor_pk"], update["customer_cursor_updated_at"] = _advance(
            settings.customer_cursor_pk, settings.customer_cursor_updated_at, customers)
    if update:
        scoped.update(**update)
    return len(customer_ids)


@shared_task(acks_late=True, **RETRY)
def catch_up_shop(shop_id: int) -> None:
    if _shop_is_active(shop_id):
        catch_up_orders(shop_id)


@shared_task
def catch_up_all_shops() -> None:
    for shop_id in Shop.objects.filter(state=Shop.State.INSTALLED).values_list("pk", flat=True):
        catch_up_shop.delay(shop_id)



def rebuild_shop(shop_id: int) -> int:
    """Give every customer a profile and recompute every profile's order facts (after a bulk sync, nightly)."""
    link_new_customers(shop_id)
    prune_collection_views(shop_id)
    return refresh_order_facts(shop_id)


def refit_shop(shop_id: int) -> None:
    ensure_presets(shop_id)
    rebuild_shop(shop_id)
    fit = valuation.fit_shop(shop_id)
    valuation.score_shop(shop_id, membership.settings_for(shop_id).vip_top_percent, fit)
    membership.full_pass(shop_id)
    logger.info("shop %s refit: %s %s", shop_id, fit.method, fit.reason or "")


@shared_task(acks_late=True, **RETRY)
def refit_shop_task(shop_id: int) -> None:
    if not _shop_is_active(shop_id):
        return
    refit_shop(shop_id)


@shared_task(acks_late=True, **RETRY)
def full_pass_shop(shop_id: int) -> None:
    if not _shop_is_active(shop_id):
        return
    ensure_presets(shop_id)
    membership.full_pass(shop_id)


@shared_task
def full_pass_all_shops() -> None:
    for shop_id in Shop.objects.filter(state=Shop.State.INSTALLED).values_list("pk", flat=True):
        full_pass_shop.delay(shop_id)


@shared_task(acks_late=True, **RETRY)
def refresh_due_task(shop_id: int) -> int:
    """Every profile's next time-based flip, recomputed (a segment's rules changed)."""
    if not _shop_is_active(shop_id):
        return 0
    return due.refresh_shop(shop_id)


def schedule_due_refresh(shop_id: int) -> None:
    def send() -> None:
        try:
            refresh_due_task.delay(shop_id)
        except Exception:  # broker down: the next full pass (refit, sync) recomputes every moment
            logger.exception("could not schedule refresh_due for shop=%s", shop_id)

    transaction.on_commit(send, robust=True)


@shared_task(acks_late=True, **RETRY)
def due_shop(shop_id: int, profile_ids: list[int], now_iso: str | None = None) -> int:
    """Profiles of one shop whose time-based conditions have come due: only they are evaluated."""
    from datetime import datetime

    if not _shop_is_active(shop_id):
        return 0
    now = datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    return due.run_due(shop_id, profile_ids, now)


@shared_task
def due_all_shops(now_iso: str | None = None) -> int:
    """Beat (work by need): one indexed scan finds the profiles due across every shop; one task per shop that
    has any. A shop where no condition comes due gets no task at all."""
    from datetime import datetime

    now = datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    found = due.due_shops(now)
    for shop_id, ids in found.items():
        due_shop.delay(shop_id, ids, now.isoformat())
    return sum(len(v) for v in found.values())


@shared_task
def refit_all_shops() -> None:
    for shop_id in Shop.objects.filter(state=Shop.State.INSTALLED).values_list("pk", flat=True):
        refit_shop_task.delay(shop_id)


def on_orders_recorded(sender, shop_id: int, customer_ids: list[int], bulk: bool, **kwargs) -> None:  # noqa: ANN001
    """backend.orders.signals: a webhook's orders refresh their customers now; a sync batch waits for its end."""
    if not bulk:
        orders_changed(shop_id, customer_ids)


def on_customers_recorded(sender, shop_id: int, customer_ids: list[int], bulk: bool, **kwargs) -> None:  # noqa: ANN001
    if not bulk:
        customers_changed(shop_id, customer_ids)


@shared_task(acks_late=True, **RETRY)
def after_sync(shop_id: int) -> None:
    """A full sync landed: profiles, the value model and every membership, once, instead of per order."""
    if not _shop_is_active(shop_id):
        return
    rebuild_shop(shop_id)
    refit_shop(shop_id)
    ensure_presets(shop_id)
    membership.full_pass(shop_id)


def on_sync_finished(sender, shop_id: int, **kwargs) -> None:  # noqa: ANN001
    try:
        after_sync.delay(shop_id)
    except Exception:  # the nightly pass heals it
        logger.exception("could not schedule after_sync for shop=%s", shop_id)

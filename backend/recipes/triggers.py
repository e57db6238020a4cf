"""How people enter recipes: storefront events (cart, browse), orders, and scans over time (days since the last
order reached, segment entered). Entering only writes a run row with its first due time; nothing is sent here.

A person is in at most one active run of a recipe (a partial unique index), the same trigger never starts two runs
(trigger_key), and a new run waits for the recipe's cool-down after the previous one began.
"""
from __future__ import annotations

import calendar
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, JSONField, Q, Value
from django.utils import timezone

from backend.customers.identities import profile_for, resolve_visitor
from backend.customers.models import CustomerProfile, Identity
from backend.events.hooks import StoredEvent
from backend.segments.evaluator import matches, to_q
from backend.segments.membership import context_for
from backend.segments.models import SegmentMembershipChange

from .models import Recipe, RecipeRun
from .timing import due_at

logger = logging.getLogger("personalize.recipes")

EVENT_TRIGGERS = {"added_to_cart": Recipe.Trigger.CART_ABANDONED, "product_viewed": Recipe.Trigger.BROWSE_ABANDONED}
BULK_CHUNK = 5000
MAX_CONTEXT_PRODUCTS = 20


def _first_due(recipe: Recipe, started_at: datetime) -> datetime:
    return due_at(started_at, int(recipe.steps[0]["after_minutes"])) if recipe.steps else started_at


def _cooling(recipe: Recipe, profile_ids: Iterable[int], now: datetime) -> set[int]:
    """Profiles that may not enter now: an active run, or one begun within the cool-down."""
    since = now - timedelta(hours=recipe.cooldown_hours)
    ids = list(profile_ids)
    busy: set[int] = set()
    for i in range(0, len(ids), BULK_CHUNK):
        chunk = ids[i:i + BULK_CHUNK]
        busy |= set(RecipeRun.objects.for_shop(recipe.shop_id).filter(recipe=recipe, profile_id__in=chunk).filter(
            state=RecipeRun.State.ACTIVE).values_list("profile_id", flat=True))
        if recipe.cooldown_hours:
            busy |= set(RecipeRun.objects.for_shop(recipe.shop_id).filter(
                recipe=recipe, profile_id__in=chunk, started_at__gt=since).values_list("profile_id", flat=True))
    return busy


def enter(recipe: Recipe, profile: CustomerProfile, trigger_key: str, context: dict,
          now: datetime | None = None) -> RecipeRun | None:
    """Start one person's run of the recipe, or None (conditions not met, cooling down, already in it)."""
    now = now or timezone.now()
    if not recipe.enabled or not recipe.steps or _cooling(recipe, [profile.pk], now):
        return None
    if recipe.conditions and not matches(recipe.conditions, profile, context_for(recipe.shop_id, now)):
        return None
    try:
        with transaction.atomic():
            return RecipeRun.objects.create(shop_id=recipe.shop_id, recipe=recipe, profile=profile,
                                            trigger_key=trigger_key[:100], started_at=now, context=context,
                                            next_due_at=_first_due(recipe, now))
    except IntegrityError:  # already in it (a parallel delivery of the same trigger, or an active run)
        return None


def enter_many(recipe: Recipe, profile_ids: list[int], trigger_key: str, now: datetime | None = None,
               context: dict | None = None) -> int:
    """Start runs for many people at once (scans, a segment's members); returns how many started.

    Each chunk is one INSERT ... SELECT in the database: the profiles (their conditions as the segment evaluator's
    SQL), minus those cooling down or already in the recipe, become runs without a row passing through Python;
    ON CONFLICT DO NOTHING leaves whoever a parallel trigger entered first (either unique index).
    """
    now = now or timezone.now()
    if not recipe.enabled or not recipe.steps:
        return 0
    ids = list(dict.fromkeys(profile_ids))
    q = to_q(recipe.conditions, context_for(recipe.shop_id, now)) if recipe.conditions else Q()
    since = now - timedelta(hours=recipe.cooldown_hours)
    cooling = Q(state=RecipeRun.State.ACTIVE) | Q(started_at__gt=since) if recipe.cooldown_hours else Q(
        state=RecipeRun.State.ACTIVE)
    columns = ["shop_id", "recipe_id", "profile_id", "trigger_key", "state", "step", "started_at", "next_due_at",
               "context", "exit_reason"]
    table = connection.ops.quote_name(RecipeRun._meta.db_table)
    started = 0
    for i in range(0, len(ids), BULK_CHUNK):
        chunk = ids[i:i + BULK_CHUNK]
        # NOT IN over this chunk's own runs (a hashed subplan): no per-row probe, whatever the table statistics.
        busy = RecipeRun.objects.for_shop(recipe.shop_id).filter(cooling, recipe=recipe, profile_id__in=chunk)
        select = (CustomerProfile.objects.for_shop(recipe.shop_id).filter(q, pk__in=chunk)
                  .exclude(pk__in=busy.values("profile_id")).annotate(
                      r_recipe=Value(recipe.pk), r_key=Value(trigger_key[:100]),
                      r_state=Value(RecipeRun.State.ACTIVE.value), r_step=Value(0),
                      r_started=Value(now, output_field=DateTimeField()),
                      r_due=Value(_first_due(recipe, now), output_field=DateTimeField()),
                      r_context=Value(context or {}, output_field=JSONField()), r_exit=Value(""))
                  .values_list("shop_id", "r_recipe", "pk", "r_key", "r_state", "r_step", "r_started", "r_due",
                               "r_context", "r_exit"))
        sql, params = select.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) {sql} ON CONFLICT DO NOTHING", params)
            started += max(cursor.rowcount, 0)
    return started


# ------------------------------------------------------------------ storefront events


def _profile(shop_id: int, customer_id: int | None, visitor_id: str) -> CustomerProfile | None:
    profile = profile_for(shop_id, customer_id, visitor_id)
    if profile is None and (customer_id or visitor_id):
        profile = resolve_visitor(shop_id, visitor_id, customer_id)
    return profile


def _reachable(profile: CustomerProfile) -> bool:
    """Someone we could ever email (a platform customer or an address): anonymous visitors don't start runs,
    which would only pile up rows that end in "no consent"."""
    return bool(profile.email) or Identity.objects.for_shop(profile.shop_id).filter(
        profile=profile, kind__in=[Identity.Kind.CUSTOMER, Identity.Kind.EMAIL]).exists()


def enter_from_events(shop_id: int, events: list[list]) -> int:
    """[type, customer_id, visitor_id, product_id, iso time] rows from one stored batch: start or extend runs."""
    recipes = {r.trigger: r for r in Recipe.objects.for_shop(shop_id).filter(
        enabled=True, trigger__in=list(EVENT_TRIGGERS.values()))}
    started = 0
    for kind, customer_id, visitor_id, product_id, at in events:
        recipe = recipes.get(EVENT_TRIGGERS.get(kind))
        if recipe is None or not product_id:
            continue
        profile = _profile(shop_id, customer_id, visitor_id or "")
        if profile is None or not _reachable(profile):
            continue
        moment = datetime.fromisoformat(at)
        active = RecipeRun.objects.for_shop(shop_id).filter(recipe=recipe, profile=profile,
                                                            state=RecipeRun.State.ACTIVE).first()
        if active is not None:  # the same cart (or browsing session) grows: the email shows all of it
            products = [p for p in active.context.get("products", []) if p != product_id] + [product_id]
            active.context = {**active.context, "products": products[-MAX_CONTEXT_PRODUCTS:]}
            active.save(update_fields=["context"])
            continue
        run = enter(recipe, profile, f"{kind}:{at}", {"products": [product_id]}, now=moment)
        started += run is not None
    return started


def on_events(shop_id: int, events: list[StoredEvent]) -> None:
    """Events hook: quick, it only queues entry (and only for a shop with such a recipe switched on)."""
    if not Recipe.objects.for_shop(shop_id).filter(enabled=True, trigger__in=list(EVENT_TRIGGERS.values())).exists():
        return
    rows = [[e.type, e.customer_id, e.visitor_id, e.product_id, e.created_at.isoformat()] for e in events
            if e.product_id and (e.customer_id or e.visitor_id)]
    if rows:  # ingestion has committed the events (autocommit): the task can read them at once
        from .tasks import enter_from_events_task

        enter_from_events_task.delay(shop_id, rows)


# ------------------------------------------------------------------ orders


def enter_from_orders(shop_id: int, order_ids: list[int]) -> int:
    from backend.orders.models import Order

    recipes = list(Recipe.objects.for_shop(shop_id).filter(enabled=True, trigger=Recipe.Trigger.ORDER_PLACED))
    if not recipes:
        return 0
    started = 0
    for order in Order.objects.for_shop(shop_id).filter(pk__in=order_ids, cancelled_at__isnull=True,
                                                        customer__isnull=False):
        profile = profile_for(shop_id, order.customer_id)
        if profile is None:
            continue
        moment = order.processed_at or timezone.now()
        for recipe in recipes:
            started += enter(recipe, profile, f"order:{order.pk}", {"order": order.pk}, now=moment) is not None
    return started


def _queue_orders(shop_id: int, order_ids: list[int]) -> None:
    from .tasks import orders_placed_task

    transaction.on_commit(lambda: orders_placed_task.delay(shop_id, order_ids))


def on_order_saved(sender: object, instance: object, created: bool = False, raw: bool = False,
                   **kwargs: object) -> None:
    if raw:
        return
    _queue_orders(instance.shop_id, [instance.pk])  # type: ignore[attr-defined]


def on_orders_recorded(sender: object, shop_id: int, order_ids: list[int], bulk: bool = False,
                       **kwargs: object) -> None:
    if not bulk:  # a sync's thousands of old orders are history, not "order placed" moments
        _queue_orders(shop_id, list(order_ids))


# ------------------------------------------------------------------ scans

# Dates a recipe can count from: the profile column each one reads.
DATE_PROPERTIES = ("first_order_at", "first_seen_at")
MAX_SCAN_DAYS = 400  # a scan after a long outage catches up at most this far back


def date_property_ids(recipe: Recipe, since: datetime, now: datetime) -> list[tuple[str, list[int]]]:
    """Who reaches "N days before/after a date property" (or its yearly anniversary) on each of the shop's local
    days in (since, now]: [(trigger key, profile ids)], one entry per day. A day is handed out once its local
    midnight has passed, so a beat every few minutes sees each day once; the key names the day, so a run
    never starts twice for the same date."""
    from backend.shops.models import Shop

    from .timing import shop_zone

    config = recipe.trigger_config
    column = config.get("property")
    if column not in DATE_PROPERTIES:
        return []
    offset = timedelta(days=int(config.get("offset_days", 0)))
    yearly = bool(config.get("yearly"))
    zone = shop_zone(Shop.objects.filter(pk=recipe.shop_id).values_list("timezone", flat=True).first() or "")
    last = now.astimezone(zone).date()
    day = max(since.astimezone(zone).date(), last - timedelta(days=MAX_SCAN_DAYS)) + timedelta(days=1)
    profiles = CustomerProfile.objects.for_shop(recipe.shop_id).filter(is_active=True)
    out = []
    with timezone.override(zone):  # dates of the column as the shop's calendar has them
        while day <= last:
            target = day - offset  # the property's date (or anniversary) that is reached today
            if yearly:
                dates = Q(**{f"{column}__month": target.month, f"{column}__day": target.day})
                if target.month == 2 and target.day == 28 and not calendar.isleap(target.year):
                    dates |= Q(**{f"{column}__month": 2, f"{column}__day": 29})  # 29 February, in other years
                found = profiles.filter(dates, **{f"{column}__year__lt": target.year})
            else:
                found = profiles.filter(**{f"{column}__date": target})
            ids = list(found.values_list("pk", flat=True))
            if ids:
                out.append((f"date:{column}:{offset.days}:{target.isoformat()}", ids))
            day += timedelta(days=1)
    return out


def scan(recipe: Recipe, now: datetime | None = None) -> int:
    """Scanned triggers since the recipe's cursor: who crossed "N days since the last order", who entered the
    segment. The cursor moves to `now`, so each crossing is seen once."""
    now = now or timezone.now()
    since = recipe.scan_cursor or recipe.enabled_at or now
    if since >= now:
        return 0
    profiles = CustomerProfile.objects.for_shop(recipe.shop_id).filter(is_active=True)
    if recipe.trigger == Recipe.Trigger.DAYS_SINCE_LAST_ORDER:
        days = timedelta(days=int(recipe.trigger_config.get("days", 60)))
        ids = list(profiles.filter(last_order_at__gt=since - days, last_order_at__lte=now - days)
                   .values_list("pk", flat=True))
        key = f"lapse:{int(days.days)}:{now.date().isoformat()}"
    elif recipe.trigger == Recipe.Trigger.DATE_PROPERTY:
        started = sum(enter_many(recipe, ids, key, now=now) for key, ids in date_property_ids(recipe, since, now))
        Recipe.objects.for_shop(recipe.shop_id).filter(pk=recipe.pk).update(scan_cursor=now)
        return started
    elif recipe.trigger in (Recipe.Trigger.SEGMENT_ENTERED, Recipe.Trigger.SEGMENT_LEFT):
        change = (SegmentMembershipChange.Change.ENTERED if recipe.trigger == Recipe.Trigger.SEGMENT_ENTERED
                  else SegmentMembershipChange.Change.LEFT)
        ids = list(SegmentMembershipChange.objects.for_shop(recipe.shop_id).filter(
            segment__slug=recipe.trigger_config.get("segment", ""), change=change, at__gt=since, at__lte=now)
            .values_list("profile_id", flat=True))
        key = f"{change}:{now.isoformat()}"
    else:
        return 0
    started = enter_many(recipe, ids, key, now=now)
    Recipe.objects.for_shop(recipe.shop_id).filter(pk=recipe.pk).update(scan_cursor=now)
    return started

"""Periodic work by need: a day of simulated time (the clock moves, nothing sleeps) on a quiet shop and a busy one."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Max
from django.utils import timezone

from backend.customers.models import CustomerProfile
from backend.dashboard.models import DailyRollup
from backend.segments import tasks as segment_tasks
from backend.segments.membership import forget_segments
from backend.segments.models import ClvFit, Segment, SegmentMembership
from backend.upkeep import tasks as upkeep
from backend.upkeep.models import RECONCILE_BASE_SECONDS, ShopUpkeep
from tests.customers.factories import make_customer, make_order
from tests.factories import make_shop

pytestmark = pytest.mark.django_db
STEP = timedelta(minutes=5)


@pytest.fixture(autouse=True)
def _eager(settings):
    from backend.config.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def reconciles(monkeypatch):
    """Reconciliation calls the platform; here we count the calls the scheduler makes (the platform side has its
    own tests against the stand-in stores)."""
    calls: list[int] = []
    monkeypatch.setattr(upkeep, "_reconcile_task", lambda platform: calls.append)
    return calls


def _run(start, end, log=None):  # noqa: ANN001
    """Every beat tick between start and end, as beat would call them, with the simulated clock."""
    now = start
    while now < end:
        now += STEP
        iso = now.isoformat()
        upkeep.tick_minute(iso)
        upkeep.tick_five_minutes(iso)
        if now.minute < STEP.seconds // 60:
            upkeep.tick_hour(iso)
        if log is not None:
            log(now)
    return now


def _buyer(shop, name, last_order_at):  # noqa: ANN001
    customer = make_customer(shop, email=f"{name}@example.com")
    make_order(shop, customer, at=last_order_at - timedelta(days=30))
    make_order(shop, customer, at=last_order_at)
    return customer


def test_a_quiet_shop_costs_nothing_but_a_flip_lands_within_the_hour(reconciles):
    t0 = timezone.now().replace(microsecond=0)
    shop = make_shop("quiet.myshopify.com")
    Segment.objects.create(shop=shop, slug="lapsed-60", name="No order in 60 days", rules={"all": [
        {"field": "orders_count", "op": "gte", "value": 1},
        {"field": "days_since_last_order", "op": "gt", "value": 60}]})
    Segment.objects.create(shop=shop, slug="recent", name="Ordered in the last 60 days",
                           rules={"field": "days_since_last_order", "op": "lt", "value": 60})
    forget_segments(shop)
    flip = t0 + timedelta(days=1, hours=10, minutes=7)  # during the second simulated day
    _buyer(shop, "rita", flip - timedelta(days=60))
    for i in range(5):  # others whose conditions flip months away
        _buyer(shop, f"other{i}", t0 - timedelta(days=5 + i))
    segment_tasks.rebuild_shop(shop.pk)

    # Day 1 digests the setup (its orders are news): one refit, rollups, the first reconciliations.
    _run(t0, t0 + timedelta(days=1))
    lapsed, recent = Segment.objects.for_shop(shop).get(slug="lapsed-60"), Segment.objects.for_shop(shop).get(
        slug="recent")
    profile = CustomerProfile.objects.for_shop(shop).get(email="rita@example.com")
    assert ClvFit.objects.for_shop(shop).count() == 1
    assert not SegmentMembership.objects.for_shop(shop).filter(segment=lapsed, profile=profile).exists()
    assert SegmentMembership.objects.for_shop(shop).filter(segment=recent, profile=profile).exists()
    evaluated = {s.slug: s.evaluated_at for s in Segment.objects.for_shop(shop)}
    rolled = DailyRollup.objects.for_shop(shop).aggregate(m=Max("computed_at"))["m"]
    assert rolled is not None
    reconciles.clear()

    # Day 2: nothing happens in the shop.
    seen = {}

    def watch(now):  # noqa: ANN001
        inside = SegmentMembership.objects.for_shop(shop).filter(segment=lapsed, profile=profile).exists()
        if inside and "entered" not in seen:
            seen["entered"] = now
        if not SegmentMembership.objects.for_shop(shop).filter(segment=recent, profile=profile).exists():
            seen.setdefault("left", now)

    _run(t0 + timedelta(days=1), t0 + timedelta(days=2), watch)

    # The profile whose "no order in 60 days" flipped today moved within the hour of the flip, not before it.
    assert flip < seen["entered"] <= flip + timedelta(hours=1)
    assert flip < seen["left"] <= flip + timedelta(hours=1)
    # No full segment pass (it stamps every segment), no rollup, no refit.
    assert {s.slug: s.evaluated_at for s in Segment.objects.for_shop(shop)} == evaluated
    assert DailyRollup.objects.for_shop(shop).aggregate(m=Max("computed_at"))["m"] == rolled
    assert ClvFit.objects.for_shop(shop).count() == 1
    # Reconciliation backed off (quiet, healthy webhooks) but never stopped: every 2 to 4 hours (the shop's slot
    # shortens its wait by up to half, so shops that backed off together drift apart) instead of 96 times a day.
    assert 5 <= len(reconciles) <= 13, reconciles
    assert ShopUpkeep.objects.for_shop(shop).get().reconcile_interval == upkeep.RECONCILE_MAX_SECONDS


def test_a_busy_shop_gets_its_rollup_and_refit_at_its_own_slot(reconciles):
    t0 = timezone.now().replace(microsecond=0)
    shops = [make_shop(f"busy{i}.myshopify.com") for i in range(3)]
    upkeep.ensure_rows()
    _run(t0, t0 + timedelta(hours=1))
    for shop in shops:  # a burst of orders in each (webhooks: post_save marks the shop)
        customer = make_customer(shop, email="ana@example.com")
        for _ in range(upkeep.REFIT_MIN_NEW_ORDERS):
            make_order(shop, customer, days_ago=1)
    runs: dict[int, list] = {s.pk: [] for s in shops}

    def watch(now):  # noqa: ANN001
        for row in ShopUpkeep.all_shops.filter(shop__in=shops):
            if row.rollup_at == now:
                runs[row.shop_id].append(now)

    end = _run(t0 + timedelta(hours=1), t0 + timedelta(hours=25), watch)
    for shop in shops:
        # One rollup (the activity came once), within the hour after it; spread: not every shop at once.
        assert len(runs[shop.pk]) == 1
        assert runs[shop.pk][0] <= t0 + timedelta(hours=2, minutes=5)
        assert ClvFit.objects.for_shop(shop).count() == 1  # twenty new orders: refit once, at the shop's slot
    assert len({tuple(r) for r in runs.values()}) > 1
    assert end > t0


def test_reconciliation_returns_to_base_when_webhooks_fail_or_something_was_missed():
    base, cap = RECONCILE_BASE_SECONDS, upkeep.RECONCILE_MAX_SECONDS
    assert upkeep.next_interval(base, deliveries=0, failures=0, applied=0) == 2 * base
    assert upkeep.next_interval(cap, deliveries=0, failures=0, applied=None) == cap
    assert upkeep.next_interval(cap, deliveries=0, failures=0, applied=3) == base  # a webhook was missed
    assert upkeep.next_interval(cap, deliveries=4, failures=1, applied=0) == base
    assert upkeep.next_interval(cap, deliveries=4, failures=0, applied=0) == base  # busy: keep watching


def test_fan_out_is_spread_over_the_period():
    from backend.upkeep.spread import offset, window

    slots = [offset(i) for i in range(1, 2001)]
    assert slots == [offset(i) for i in range(1, 2001)]  # deterministic
    now = timezone.now()
    per_tick = []
    for k in range(12):  # the twelve five-minute ticks of an hour
        ranges = window(now + timedelta(minutes=5 * k), timedelta(minutes=5), timedelta(hours=1))
        per_tick.append(sum(1 for s in slots if any(lo <= s < hi for lo, hi in ranges)))
    assert sum(per_tick) == 2000  # each shop exactly once per period
    assert max(per_tick) < 2000 / 12 * 1.5

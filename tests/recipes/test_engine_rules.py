"""The engine's rules one at a time, on the real database and a real SMTP server, with the clock passed in:
quiet hours in the shop's zone, the frequency cap across recipes, cool-down before re-entry, scanned triggers
(win-back, VIP), post-purchase and browse abandonment, and a code tiered by the cart's value from a popup pool."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.customers.identities import resolve_customer
from backend.emails.models import EmailSend
from backend.events.models import Event, EventType
from backend.popups.models import Campaign, DiscountCode
from backend.recipes import engine, scheduler, triggers
from backend.recipes.models import Recipe, RecipeRun, RecipeSettings
from backend.recipes.presets import enable_preset
from backend.recipes.timing import after_quiet_hours, in_quiet_hours, shop_zone
from backend.segments.models import Segment, SegmentMembershipChange
from tests.recipes.conftest import html_part
from tests.recipes.factories import customer, order, product

pytestmark = pytest.mark.django_db


def _shop(shop, **kw):
    for k, v in {"currency": "EUR", "timezone": "America/Mexico_City", **kw}.items():
        setattr(shop, k, v)
    shop.save()
    return shop


def test_quiet_hours_follow_the_shops_zone_across_midnight():
    zone = shop_zone("America/Mexico_City")  # UTC-6
    late = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)  # 22:30 local
    assert in_quiet_hours(late, zone, 21, 8)
    assert after_quiet_hours(late, zone, 21, 8) == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 08:00 local
    assert not in_quiet_hours(datetime(2026, 3, 2, 16, 0, tzinfo=UTC), zone, 21, 8)
    assert not in_quiet_hours(late, zone, 0, 0)  # start == end: no quiet hours
    assert shop_zone("Not/AZone").key == "UTC"


def test_a_step_due_at_night_waits_for_morning_then_sends(shop, smtp):
    _shop(shop)
    recipe, _ = enable_preset(shop, "abandoned-cart")
    mug = product(shop, "Mug", "12.00")
    profile = resolve_customer(customer(shop, "ana@example.com"))
    night = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
    run = triggers.enter(recipe, profile, "cart:1", {"products": [mug.pk]}, now=night - timedelta(hours=1))
    assert engine.advance(run.pk, now=night) == engine.WAITING
    run.refresh_from_db()
    assert run.next_due_at == datetime(2026, 3, 2, 14, 0, tzinfo=UTC) and smtp.messages == []
    assert engine.advance(run.pk, now=run.next_due_at) == engine.SENT
    assert len(smtp.to("ana@example.com")) == 1


def test_frequency_cap_counts_every_recipe_and_cool_down_blocks_re_entry(shop, smtp):
    _shop(shop, timezone="UTC")
    RecipeSettings.objects.for_shop(shop).update_or_create(shop=shop, defaults={
        "cap_emails": 1, "cap_hours": 24, "quiet_start_hour": 0, "quiet_end_hour": 0})
    cart, _ = enable_preset(shop, "abandoned-cart")
    browse, _ = enable_preset(shop, "browse-abandonment")
    mug = product(shop, "Mug", "12.00")
    profile = resolve_customer(customer(shop, "ana@example.com"))
    now = timezone.now()
    first = triggers.enter(cart, profile, "cart:1", {"products": [mug.pk]}, now=now - timedelta(hours=2))
    second = triggers.enter(browse, profile, "browse:1", {"products": [mug.pk]}, now=now - timedelta(hours=5))
    assert engine.advance(first.pk, now=now) == engine.SENT
    assert engine.advance(second.pk, now=now) == engine.DONE  # capped: skipped, the run moves on
    assert EmailSend.objects.for_shop(shop).get(run=second).reason == "frequency cap"
    assert len(smtp.to("ana@example.com")) == 1
    # Still in the cart recipe (active): a new cart doesn't start a second run; after it ends, the cool-down holds.
    assert triggers.enter(cart, profile, "cart:2", {"products": [mug.pk]}, now=now) is None
    RecipeRun.objects.for_shop(shop).filter(pk=first.pk).update(state="done")
    assert triggers.enter(cart, profile, "cart:3", {"products": [mug.pk]}, now=now + timedelta(days=2)) is None
    assert triggers.enter(cart, profile, "cart:4", {"products": [mug.pk]}, now=now + timedelta(days=8)) is not None


def test_win_back_and_vip_enter_once_from_scans(shop):
    _shop(shop)
    winback, _ = enable_preset(shop, "win-back")
    vip, _ = enable_preset(shop, "vip-welcome")
    start = winback.scan_cursor
    lapsed = resolve_customer(customer(shop, "old@example.com"))
    recent = resolve_customer(customer(shop, "new@example.com"))
    type(lapsed).objects.for_shop(shop).filter(pk=lapsed.pk).update(last_order_at=start - timedelta(days=59, hours=23))
    type(lapsed).objects.for_shop(shop).filter(pk=recent.pk).update(last_order_at=start - timedelta(days=10))
    segment = Segment.objects.create(shop=shop, slug="vip", name="VIP", rules={})
    SegmentMembershipChange.objects.create(shop=shop, segment=segment, profile=recent, change="entered",
                                           at=start + timedelta(minutes=5))
    at_risk = Recipe.objects.create(shop=shop, key="left-vip", name="Left VIP", trigger="segment_left",
                                    trigger_config={"segment": "vip"}, enabled=True, scan_cursor=start,
                                    steps=[{"after_minutes": 0, "action": "email", "template": "winback"}])
    SegmentMembershipChange.objects.create(shop=shop, segment=segment, profile=lapsed, change="left",
                                           at=start + timedelta(minutes=7))
    later = start + timedelta(hours=1)
    assert scheduler.scan_all(now=later) == 3
    assert scheduler.scan_all(now=later + timedelta(minutes=10)) == 0  # each crossing is seen once
    assert RecipeRun.objects.for_shop(shop).get(recipe=winback).profile_id == lapsed.pk
    assert RecipeRun.objects.for_shop(shop).get(recipe=vip).profile_id == recent.pk
    assert RecipeRun.objects.for_shop(shop).get(recipe=at_risk).profile_id == lapsed.pk


def test_post_purchase_mails_also_bought_of_the_order_fourteen_days_later(shop, smtp):
    _shop(shop, timezone="UTC")
    RecipeSettings.objects.for_shop(shop).update_or_create(shop=shop, defaults={"quiet_start_hour": 0,
                                                                                "quiet_end_hour": 0})
    enable_preset(shop, "post-purchase")
    tent = product(shop, "Tent", "120.00")
    product(shop, "Stove", "40.00")
    ana = customer(shop, "ana@example.com", country="US")
    resolve_customer(ana)
    placed = order(shop, [tent], ana, when=timezone.now() - timedelta(days=15))
    triggers.enter_from_orders(shop.pk, [placed.pk])
    assert scheduler.dispatch_due() == 1
    [mail] = smtp.to("ana@example.com")
    assert mail["Subject"].startswith("Picked for you after your order") and "Tent" in html_part(mail)
    assert "Stove" in html_part(mail)  # recommendations never empty: bestsellers/newest fill in


def test_browse_abandonment_exits_when_they_add_to_cart(shop, smtp):
    _shop(shop, timezone="UTC")
    recipe, _ = enable_preset(shop, "browse-abandonment")
    mug = product(shop, "Mug")
    ana = customer(shop, "ana@example.com")
    profile = resolve_customer(ana)
    run = triggers.enter(recipe, profile, "browse:1", {"products": [mug.pk]}, now=timezone.now() - timedelta(hours=5))
    Event.objects.create(shop=shop, type=EventType.ADDED_TO_CART, customer=ana, product=mug,
                         created_at=timezone.now() - timedelta(hours=1))
    assert engine.advance(run.pk) == engine.EXITED
    run.refresh_from_db()
    assert run.exit_reason == "carted" and smtp.messages == []


def test_24h_step_carries_a_unique_code_tiered_by_cart_value(shop, smtp):
    _shop(shop, timezone="UTC")
    RecipeSettings.objects.for_shop(shop).update_or_create(shop=shop, defaults={"quiet_start_hour": 0,
                                                                                "quiet_end_hour": 0})
    recipe, _ = enable_preset(shop, "abandoned-cart")
    campaign = Campaign.objects.create(shop=shop, name="Cart codes", status="active", copy={})
    expires = timezone.now() + timedelta(days=3)
    for pct, code in ((5, "LOW-1"), (10, "MID-1"), (15, "HIGH-1")):
        DiscountCode.objects.create(shop=shop, campaign=campaign, kind="percent", value=Decimal(pct), code=code,
                                    expires_at=expires)
    recipe.steps[1]["code"]["campaign"] = campaign.pk
    recipe.save()
    sofa = product(shop, "Sofa", "180.00")  # cart worth 180: the 100+ tier, 10 %
    profile = resolve_customer(customer(shop, "ana@example.com"))
    run = triggers.enter(recipe, profile, "cart:1", {"products": [sofa.pk]}, now=timezone.now() - timedelta(hours=25))
    RecipeRun.objects.for_shop(shop).filter(pk=run.pk).update(step=1)
    assert engine.advance(run.pk) == engine.SENT
    [mail] = smtp.to("ana@example.com")
    assert "MID-1" in html_part(mail)
    assert DiscountCode.objects.for_shop(shop).get(code="MID-1").status == "reserved"
    assert EmailSend.objects.for_shop(shop).get(run=run).code == "MID-1"

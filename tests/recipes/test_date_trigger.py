"""The date-property trigger: "N days before/after a customer's date" and its yearly anniversary, found by the
beat's scan on the shop's own calendar, each date once, with the clock moved by the test (not slept)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from backend.customers.identities import resolve_customer
from backend.customers.models import CustomerProfile
from backend.recipes import scheduler
from backend.recipes.models import Recipe, RecipeRun
from backend.recipes.presets import enable_preset
from tests.recipes.conftest import html_part
from tests.recipes.factories import customer

pytestmark = pytest.mark.django_db
START = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)  # midday in Madrid


def _person(shop, email: str, first_order: datetime) -> CustomerProfile:
    profile = resolve_customer(customer(shop, email))
    # The date a profile refresh would copy from their orders, and their address (as the refresh fills it in).
    CustomerProfile.objects.for_shop(shop).filter(pk=profile.pk).update(first_order_at=first_order, email=email)
    return profile


def _runs(recipe) -> dict[str, str]:
    return dict(RecipeRun.objects.for_shop(recipe.shop_id).filter(recipe=recipe).values_list(
        "profile__email", "trigger_key"))


def test_the_first_order_anniversary_mails_once_on_the_day_in_the_shops_time_zone(shop, smtp):
    shop.timezone, shop.name = "Europe/Madrid", "Tienda Alfa"
    shop.save()
    with time_machine.travel(START, tick=False) as clock:
        # 3 March 2025 at 23:30 in Madrid is still 3 March there, though it was 22:30 on the 3rd in UTC.
        _person(shop, "ana@example.com", datetime(2025, 3, 3, 22, 30, tzinfo=UTC))
        _person(shop, "bea@example.com", datetime(2026, 3, 4, 10, 0, tzinfo=UTC))  # her day is the 4th
        _person(shop, "cai@example.com", datetime(2027, 3, 2, 10, 0, tzinfo=UTC))  # first order this week
        recipe, _ = enable_preset(shop, "first-order-anniversary")
        assert scheduler.scan_all() == 0  # today (1 March) was under way when it was switched on

        clock.move_to(datetime(2027, 3, 2, 23, 30, tzinfo=UTC))  # 00:30 on 3 March in Madrid
        assert scheduler.scan_all() == 1
        assert _runs(recipe) == {"ana@example.com": "date:first_order_at:0:2027-03-03"}
        scheduler.dispatch_due()
        assert smtp.messages == []  # quiet hours until 08:00 in Madrid
        clock.move_to(datetime(2027, 3, 3, 7, 5, tzinfo=UTC))
        assert scheduler.scan_all() == 0  # the same day is never handed out twice
        assert scheduler.dispatch_due() == 1
        [mail] = smtp.to("ana@example.com")
        assert mail["Subject"] == "Una fecha para celebrar, de Tienda Alfa" and "Feliz aniversario" in html_part(mail)

        # The beat was down for two days: the scan catches up with the 4th (Bea), and nobody else.
        clock.move_to(datetime(2027, 3, 5, 9, 0, tzinfo=UTC))
        assert scheduler.scan_all() == 1
        assert set(_runs(recipe)) == {"ana@example.com", "bea@example.com"}
        scheduler.dispatch_due()
        assert len(smtp.to("bea@example.com")) == 1 and smtp.to("cai@example.com") == []


def test_days_before_a_date_and_a_one_off_date(shop):
    shop.timezone = "UTC"
    shop.save()
    with time_machine.travel(START, tick=False) as clock:
        _person(shop, "ana@example.com", datetime(2024, 3, 10, 9, 0, tzinfo=UTC))
        _person(shop, "bea@example.com", datetime(2027, 2, 20, 9, 0, tzinfo=UTC))
        before = Recipe.objects.create(shop=shop, key="week-before", name="Week before", trigger="date_property",
                                       trigger_config={"property": "first_order_at", "offset_days": -7,
                                                       "yearly": True},
                                       steps=[{"after_minutes": 0, "action": "flow"}], enabled=True,
                                       scan_cursor=START)
        after = Recipe.objects.create(shop=shop, key="fortnight", name="Fortnight", trigger="date_property",
                                      trigger_config={"property": "first_order_at", "offset_days": 14},
                                      steps=[{"after_minutes": 0, "action": "flow"}], enabled=True,
                                      scan_cursor=START)
        clock.move_to(datetime(2027, 3, 3, 0, 1, tzinfo=UTC))  # the 3rd: 7 days before Ana's 10 March
        assert scheduler.scan_all() == 1 and set(_runs(before)) == {"ana@example.com"}
        assert _runs(after) == {}
        clock.move_to(datetime(2027, 3, 6, 0, 1, tzinfo=UTC))  # the 6th: 14 days after Bea's first order
        assert scheduler.scan_all() == 1 and _runs(after) == {"bea@example.com": "date:first_order_at:14:2027-02-20"}
        # A year on, the one-off date is long past; the yearly one comes round again.
        clock.move_to(datetime(2028, 3, 3, 0, 1, tzinfo=UTC))
        Recipe.objects.for_shop(shop).filter(pk__in=[before.pk, after.pk]).update(
            scan_cursor=datetime(2028, 3, 2, 12, 0, tzinfo=UTC))
        RecipeRun.objects.for_shop(shop).filter(recipe=before).update(state="done")
        assert scheduler.scan_all() == 1
        assert RecipeRun.objects.for_shop(shop).filter(recipe=before).count() == 2


def test_a_date_trigger_is_edited_on_screen_and_refused_with_reasons(client, shop):
    from backend.dashboard.auth import login_token

    client.get("/admin/recipes/", {"token": login_token(shop)})
    recipe, _ = enable_preset(shop, "first-order-anniversary")
    page = client.get(f"/admin/recipes/{recipe.pk}/", {"lang": "es"}).content.decode()
    assert "Su primer pedido" in page and "Cada año (su aniversario)" in page
    form = {"conditions": "", "cooldown_hours": "7000", "date_property": "first_seen_at", "offset_days": "-3",
            "step_wait": ["0"], "step_unit": ["hours"], "step_action": ["email"], "step_template": ["anniversary"],
            "step_url": [""], "step_campaign": [""], "step_tiers": [""]}
    assert client.post(f"/admin/recipes/{recipe.pk}/", form).status_code == 302
    recipe.refresh_from_db()
    assert recipe.trigger_config == {"property": "first_seen_at", "offset_days": -3, "yearly": False}
    refused = client.post(f"/admin/recipes/{recipe.pk}/?lang=es", {**form, "date_property": "password",
                                                                  "offset_days": "900"})
    html = refused.content.decode()
    assert refused.status_code == 400
    assert "Elige la fecha desde la que cuenta la automatización." in html
    assert "Los días antes o después de la fecha deben estar entre -365 y 365." in html

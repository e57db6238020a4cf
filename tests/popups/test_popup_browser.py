"""The exit-intent popup in headless Chromium against the live app: real built script, real API, real events."""
from __future__ import annotations

import time

import pytest
from django.db import OperationalError

from backend.events.models import Event

from .factories import fill_pool, make_campaign, returning_visitor

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("popups-browser")]

DIALOG = "[role=dialog][aria-modal=true]"


def after_min_time(page, seconds: float) -> None:
    page.wait_for_function(f"performance.now() > {seconds * 1000 + 150}")


def leave_through_top(page) -> None:
    page.mouse.move(640, 300)
    page.mouse.move(640, 100, steps=4)
    page.mouse.move(640, -8, steps=3)


def leave_sideways(page) -> None:
    page.mouse.move(640, 400)
    page.mouse.move(-8, 400, steps=5)
    page.mouse.move(640, 400, steps=3)
    page.mouse.move(1290, 420, steps=5)


def no_dialog_for(page, ms: int = 400) -> bool:
    page.wait_for_timeout(ms)
    return page.locator(DIALOG).count() == 0


def events(shop, timeout: float = 8.0, **filters) -> list[Event]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            rows = list(Event.objects.for_shop(shop).filter(**filters).order_by("created_at", "pk"))
        except OperationalError:  # SQLite's in-memory test db while the live server writes
            rows = []
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


@pytest.fixture
def campaign(popup_shop):
    c = make_campaign(popup_shop, min_seconds=2)
    fill_pool(c, per_offer=10)
    return c


def test_fires_on_leaving_through_the_top_not_sideways_and_not_twice(open_page, popup_shop, campaign):
    page = open_page()
    assert page.popup_answer["campaign"]["id"] == campaign.pk
    after_min_time(page, 2)
    leave_sideways(page)
    assert no_dialog_for(page), "a sideways exit must not open the popup"

    leave_through_top(page)
    dialog = page.locator(DIALOG)
    dialog.wait_for()
    assert dialog.locator("h2").inner_text() == "Wait! A gift before you go"
    assert dialog.get_attribute("aria-labelledby") == "pz-pop-h"
    overlay = page.locator(".pz-pop")
    assert overlay.evaluate("e => getComputedStyle(e).position") == "fixed"
    assert page.evaluate("window.__cls") == 0, "the popup shifts nothing on the page"
    page.evaluate("document.documentElement.style.setProperty('--pz-popup-bg', 'rgb(1, 2, 3)')")
    assert dialog.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(1, 2, 3)"  # themable
    page.keyboard.press("Escape")
    assert page.locator(DIALOG).count() == 0

    leave_through_top(page)
    assert no_dialog_for(page), "never twice in a session"
    page.reload()
    after_min_time(page, 2)
    leave_through_top(page)
    assert no_dialog_for(page), "never twice in a session, across pages"
    shown = events(popup_shop, type="popup_shown")
    closed = events(popup_shop, type="popup_closed")
    assert len(shown) == 1 and shown[0].widget == campaign.widget and len(closed) == 1
    assert not page.errors


def test_not_before_the_minimum_time_on_the_page(open_page, popup_shop):
    fill_pool(make_campaign(popup_shop, min_seconds=30), per_offer=10)
    page = open_page()
    assert page.popup_answer["trigger"]["min_seconds"] == 30
    page.wait_for_timeout(1200)  # past the first second, well before the campaign's 30 s
    leave_through_top(page)
    assert no_dialog_for(page), "an exit before the minimum time on the page does nothing"


def test_offer_depends_on_who_is_leaving_and_an_excluded_segment_sees_nothing(open_page, popup_shop):
    c = make_campaign(popup_shop, min_seconds=1, exclude_segments=["tier:vip"])
    fill_pool(c, per_offer=10)
    returning_visitor(popup_shop, "returning-visitor-1")
    returning_visitor(popup_shop, "vip-visitor-0001", tier="vip")

    seen = {}
    for who, visitor in (("new", None), ("returning", "returning-visitor-1")):
        page = open_page(visitor=visitor)
        after_min_time(page, 1)
        leave_through_top(page)
        dialog = page.locator(DIALOG)
        dialog.wait_for()
        seen[who] = (dialog.locator("#pz-pop-b").inner_text(), dialog.locator(".pz-pop-code").inner_text())
    assert seen["new"][0] == "Take free shipping on this order."
    assert seen["returning"][0] == "Take 10 % off on this order."
    assert seen["new"][1] != seen["returning"][1]

    vip = open_page(visitor="vip-visitor-0001")
    assert vip.popup_answer == {"campaign": None}
    after_min_time(vip, 1)
    leave_through_top(vip)
    assert no_dialog_for(vip), "an excluded segment never sees the popup"


def test_mobile_fast_scroll_up_fires_after_engagement(open_page, popup_shop, campaign):
    page = open_page(mobile=True)
    assert page.evaluate("matchMedia('(pointer:coarse)').matches")
    page.evaluate("window.scrollTo(0, 200)")  # a small scroll up before any engagement does nothing
    page.wait_for_timeout(150)
    page.evaluate("window.scrollTo(0, 0)")
    assert no_dialog_for(page, 300)
    after_min_time(page, 2)
    page.evaluate("window.scrollTo(0, 1600)")
    page.wait_for_timeout(400)
    page.evaluate("window.scrollTo(0, 1560)")  # a slow nudge up is reading, not leaving
    assert no_dialog_for(page, 500)
    page.evaluate("""async () => {
      const frame = () => new Promise((r) => requestAnimationFrame(r));
      for (const y of [1450, 1300, 1150, 1000]) { window.scrollTo(0, y); await frame(); }
    }""")
    page.locator(DIALOG).wait_for()
    assert page.locator(DIALOG).locator(".pz-pop-code").inner_text() == page.popup_answer["offer"]["code"]


def test_keyboard_only_focus_is_trapped_escape_closes_and_focus_returns(open_page, popup_shop, campaign):
    page = open_page()
    page.focus("#before")
    after_min_time(page, 2)
    leave_through_top(page)
    page.locator(DIALOG).wait_for()
    inside = "document.activeElement.closest('[role=dialog]') !== null"
    assert page.evaluate(inside), "focus moves into the dialog"
    names = []
    for _ in range(4):
        page.keyboard.press("Tab")
        assert page.evaluate(inside), "Tab stays inside the dialog"
        names.append(page.evaluate("document.activeElement.className"))
    assert set(names) == {"pz-pop-x", "pz-pop-cta"}
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(inside)
    page.keyboard.press("Escape")
    assert page.locator(DIALOG).count() == 0
    assert page.evaluate("document.activeElement.id") == "before", "focus returns where it was"
    assert events(popup_shop, type="popup_closed")


def test_email_capture_with_consent_by_keyboard_converts(open_page, popup_shop):
    from backend.popups.models import Consent

    c = make_campaign(popup_shop, min_seconds=1, email_capture=True)
    fill_pool(c, per_offer=10)
    page = open_page(locale="es")
    after_min_time(page, 1)
    leave_through_top(page)
    dialog = page.locator(DIALOG)
    dialog.wait_for()
    assert page.evaluate("document.activeElement.type") == "email"
    page.keyboard.type("ana@example.com")
    page.keyboard.press("Enter")  # without the consent box ticked nothing is sent
    assert dialog.count() == 1 and page.evaluate("document.activeElement.type") == "checkbox"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.locator(DIALOG).count() == 0
    converted = events(popup_shop, type="popup_converted")
    assert converted and converted[0].widget == c.widget
    deadline = time.monotonic() + 8
    while not Consent.objects.for_shop(popup_shop).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    row = Consent.objects.for_shop(popup_shop).get()
    assert row.email == "ana@example.com" and row.locale == "es"
    assert row.text == "Quiero recibir ofertas por email. Puedo darme de baja cuando quiera."


def test_mobile_return_to_the_tab_fires_and_a_days_cap_holds_in_a_new_tab(open_page, popup_shop, live_server):
    c = make_campaign(popup_shop, min_seconds=1, cap="days", cap_days=3)
    fill_pool(c, per_offer=10)
    page = open_page(mobile=True)
    after_min_time(page, 1)
    # The shopper switches to another app and comes back: the page sees hidden, then visible.
    page.evaluate("""() => {
      let state = "hidden";
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
      document.dispatchEvent(new Event("visibilitychange"));
      state = "visible";
      document.dispatchEvent(new Event("visibilitychange"));
    }""")
    page.locator(DIALOG).wait_for()
    page.locator(".pz-pop-x").click()
    assert events(popup_shop, type="popup_shown")

    second = page.context.new_page()  # a new tab: a new session, the same shopper
    second.route(f"{live_server.url}/fixture/popup", lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8", body=page.content()))
    second.goto(f"{live_server.url}/fixture/popup")
    second.wait_for_timeout(1500)
    assert second.evaluate("JSON.parse(localStorage.getItem('_pz_pop_cap'))")[str(c.pk)] > 0
    second.evaluate("window.scrollTo(0, 1600)")
    second.wait_for_timeout(300)
    second.evaluate("""async () => {
      const frame = () => new Promise((r) => requestAnimationFrame(r));
      for (const y of [1400, 1200, 1000]) { window.scrollTo(0, y); await frame(); }
    }""")
    assert no_dialog_for(second, 600), "once per 3 days: not again in a new session"


def test_admin_preview_updates_live_as_the_merchant_types(browser, live_server, popup_shop):
    from backend.dashboard.auth import login_token

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/admin/popups/new/?token={login_token(popup_shop)}&lang=en")
        vip = page.locator("[data-persona='2']")
        assert "20 % off" in vip.inner_text()
        page.fill("input[name=copy_en_headline]", "Don't leave <yet>")
        page.wait_for_function(
            "document.querySelector('[data-persona=\"0\"] h2').textContent === \"Don't leave <yet>\"")
        page.fill("textarea[name=exclude_segments]", "tier:vip")
        page.wait_for_function("document.querySelector('[data-persona=\"2\"] h2') === null")
        assert "No popup for this shopper." in vip.inner_text()
    finally:
        context.close()

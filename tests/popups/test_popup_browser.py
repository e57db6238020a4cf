"""The exit-intent popup in headless Chromium against the live app: real built script, real API, real events."""
from __future__ import annotations

import time

import pytest
from django.db import OperationalError

from backend.events.models import Event
from backend.popups.models import Claim, DiscountCode

from .factories import COPY, fill_pool, make_campaign, returning_visitor

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
    shown = page.locator(DIALOG).locator(".pz-pop-code").inner_text()
    visitor = page.evaluate("localStorage.getItem('_pz_v')")
    assert shown == DiscountCode.objects.for_shop(popup_shop).get(visitor_id=visitor).code, "the code claimed on show"


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


WORDS = {
    "en": {"label": "Email", "bad_email": "Enter a valid email address.", "agree": "Tick the box to agree first.",
           "copied": "Copied", "consent": COPY["en"]["consent"]},
    "es": {"label": "Correo electrónico", "bad_email": "Introduce un correo electrónico válido.",
           "agree": "Marca la casilla para aceptar.", "copied": "Copiado", "consent": COPY["es"]["consent"]},
}


def rows(query, timeout: float = 8.0, want: int = 1) -> list:
    """Rows the live server writes, polled (its thread commits on its own)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = list(query.all())
        except OperationalError:
            found = []
        if len(found) >= want or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def claims_sent(page) -> list:
    return [s for s in page.sent if s[0] == "POST" and s[1].endswith("/popup/claim")]


@pytest.mark.parametrize("locale", ["en", "es"])
def test_the_code_is_claimed_once_when_shown_and_get_my_code_copies_and_applies_it(open_page, popup_shop, campaign,
                                                                                    locale):
    page = open_page(locale=locale)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.route("**/discount/**", lambda route: route.fulfill(status=302, headers={"Location": "/"}))
    assert "code" not in page.popup_answer["offer"]
    page.wait_for_timeout(300)
    assert not claims_sent(page) and not Claim.objects.for_shop(popup_shop).exists(), "nothing claimed before show"

    after_min_time(page, 2)
    leave_through_top(page)
    dialog = page.locator(DIALOG)
    dialog.wait_for()
    code = dialog.locator(".pz-pop-code").inner_text()
    visitor = page.evaluate("localStorage.getItem('_pz_v')")
    claim = rows(Claim.objects.for_shop(popup_shop))[0]
    assert (claim.visitor_id, claim.code.code) == (visitor, code)
    assert len(claims_sent(page)) == 1

    cta = dialog.locator(".pz-pop-cta")
    assert cta.inner_text() == COPY[locale]["cta"]
    cta.click()
    page.wait_for_function(f"document.querySelector('.pz-pop-cta').textContent === {WORDS[locale]['copied']!r}")
    assert dialog.count() == 1, "the dialog stays open with the code on screen"
    assert WORDS[locale]["copied"] in dialog.locator("[role=status]").inner_text()
    assert page.evaluate("navigator.clipboard.readText()") == code
    page.wait_for_function("1", timeout=500)
    assert any(s[1].endswith(f"/discount/{code}") for s in page.sent), "the code is applied to the Shopify cart"

    page.keyboard.press("Escape")
    page.sent.clear()
    page.reload()
    after_min_time(page, 2)
    leave_through_top(page)
    assert no_dialog_for(page), "once a session"
    assert not claims_sent(page) and Claim.objects.for_shop(popup_shop).count() == 1
    assert not page.errors


@pytest.mark.parametrize("locale", ["en", "es"])
def test_an_email_campaign_shows_its_code_only_after_consent(open_page, popup_shop, locale):
    from backend.popups.models import Consent

    c = make_campaign(popup_shop, min_seconds=1, email_capture=True)
    pool = {d.code for d in fill_pool(c, per_offer=10)}
    page = open_page(locale=locale)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.route("**/discount/**", lambda route: route.fulfill(status=302, headers={"Location": "/"}))
    words = WORDS[locale]
    after_min_time(page, 1)
    leave_through_top(page)
    dialog = page.locator(DIALOG)
    dialog.wait_for()
    assert dialog.locator(".pz-pop-code").count() == 0
    assert not any(code in dialog.inner_text() for code in pool), "no code on screen before consent"
    assert not claims_sent(page)
    label = dialog.locator("label[for=pz-pop-email]")
    assert label.is_visible() and label.inner_text() == words["label"]
    assert dialog.get_by_label(words["label"], exact=True).get_attribute("type") == "email"

    assert page.evaluate("document.activeElement.type") == "email"
    page.keyboard.press("Enter")  # empty
    status = dialog.locator("[role=status]")
    assert status.inner_text() == words["bad_email"]
    page.keyboard.type("not-an-email")
    page.keyboard.press("Enter")
    assert status.inner_text() == words["bad_email"]
    assert page.evaluate("document.activeElement.getAttribute('aria-invalid')") == "true"
    page.fill("#pz-pop-email", "ana@example.com")
    page.keyboard.press("Enter")  # without the consent box ticked nothing is sent
    assert status.inner_text() == words["agree"] and page.evaluate("document.activeElement.type") == "checkbox"
    assert not [s for s in page.sent if s[0] == "POST" and "/popup/" in s[1]]
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    dialog.locator(".pz-pop-code").wait_for()
    code = dialog.locator(".pz-pop-code").inner_text()
    assert code in pool
    page.wait_for_function(f"document.querySelector('.pz-pop-cta').textContent === {words['copied']!r}")
    assert page.evaluate("navigator.clipboard.readText()") == code
    row = rows(Consent.objects.for_shop(popup_shop))[0]
    assert row.email == "ana@example.com" and row.locale == locale and row.text == words["consent"]
    assert rows(Claim.objects.for_shop(popup_shop))[0].code.code == code
    assert len(claims_sent(page)) == 1
    assert not page.errors


def test_on_woocommerce_the_code_goes_to_the_cart_through_the_store_api(open_page, popup_shop, live_server):
    from backend.storefront.access import forget_shops

    popup_shop.platform = "woocommerce"
    popup_shop.save()
    forget_shops()
    fill_pool(make_campaign(popup_shop, min_seconds=1), per_offer=10)
    store_api = f"{live_server.url}/wp-json/wc/store/v1/"
    page = open_page(attrs=f' data-store-api="{store_api}" data-store-nonce="nonce-123"')
    applied = []

    def apply_coupon(route):
        applied.append((route.request.headers.get("nonce"), route.request.post_data_json))
        route.fulfill(status=200, content_type="application/json", body="{}")

    page.route(f"{store_api}cart/apply-coupon", apply_coupon)
    assert page.popup_answer["platform"] == "woocommerce"
    after_min_time(page, 1)
    leave_through_top(page)
    dialog = page.locator(DIALOG)
    dialog.wait_for()
    code = dialog.locator(".pz-pop-code").inner_text()
    dialog.locator(".pz-pop-cta").click()
    page.wait_for_function("document.querySelector('.pz-pop-cta').textContent !== 'Get my code'")
    deadline = time.monotonic() + 5
    while not applied and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert applied == [("nonce-123", {"code": code})]


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


@pytest.mark.parametrize("mode", ["standalone", "embedded"])
def test_admin_preview_stays_in_the_page_language(browser, live_server, popup_shop, mode):
    """An English shop's merchant reading the editor in Spanish: the preview redrawn as they type is Spanish too
    (it used to post without the page language and come back in the shop's English). Embedded, the preview post
    carries the session token: there is no cookie."""
    from backend.dashboard.auth import login_token
    from tests.dashboard.factories import session_token

    assert popup_shop.locale.startswith("en")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("https://cdn.shopify.com/**", lambda route: route.abort())  # App Bridge: no internet here
    page = context.new_page()
    try:
        auth = f"token={login_token(popup_shop)}" if mode == "standalone" else f"id_token={session_token(popup_shop)}"
        page.goto(f"{live_server.url}/admin/popups/new/?{auth}&lang=es")
        assert page.locator("[data-persona='0'] h3").inner_text() == "Visitante nuevo"
        page.fill("input[name=copy_es_headline]", "¡No te vayas todavía!")
        page.wait_for_function(
            "document.querySelector('[data-persona=\"0\"] h2').textContent === '¡No te vayas todavía!'")
        assert page.locator("[data-persona='0'] h3").inner_text() == "Visitante nuevo"
        assert "envío gratis" in page.locator("[data-persona='0']").inner_text()
    finally:
        context.close()

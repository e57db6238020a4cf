"""The segment builder as a merchant uses it, in a real browser, in Spanish and English, on a desktop and a 390 px
phone: conditions read as sentences with typed inputs (amounts in the shop's currency, days as numbers), letters
never get into a number, the JSON waits behind "Advanced", and Remove is a quiet link, not a primary button."""
from __future__ import annotations

import pytest

from backend.customers.identities import resolve_customer
from backend.segments.models import Segment
from backend.segments.tasks import update_profile
from tests.customers.factories import make_customer, make_order
from tests.widgets.browser import chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
WORDS = {
    "es": {"summary": "total gastado es mayor que 100,00 € y días desde el último pedido es mayor que 60",
           "days": "días", "abc": "Condición 2: escribe un número", "saved": "Segmento guardado.",
           "advanced": "Avanzado"},
    "en": {"summary": "total spent is more than €100.00 and days since last order is more than 60",
           "days": "days", "abc": "Condition 2: enter a number", "saved": "Segment saved.", "advanced": "Advanced"},
}


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def customers(shop):
    """Two big spenders who have not ordered for two months, and three who miss one half of the rule."""
    shop.currency = "EUR"
    shop.save(update_fields=["currency"])
    for email, orders in [("lejos@example.com", [("150.00", 90)]), ("dos@example.com", [("70.00", 100), ("60.00", 80)]),
                          ("reciente@example.com", [("200.00", 5)]), ("poco@example.com", [("50.00", 90)]),
                          ("nuevo@example.com", [("300.00", 90), ("1.00", 10)])]:
        c = make_customer(shop, email=email, country="ES")
        for total, days in orders:
            make_order(shop, c, total, days_ago=days)
        update_profile(resolve_customer(c))
    return shop


def _open(browser, url, shop, size):
    from django.contrib.sessions.backends.db import SessionStore

    from backend.dashboard.auth import SESSION_KEY

    session = SessionStore()
    session[SESSION_KEY] = shop.pk
    session.create()
    context = browser.new_context(viewport=SIZES[size])
    context.add_cookies([{"name": "sessionid", "value": session.session_key, "url": url}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors


def _count(page, text: str) -> None:
    page.wait_for_function(f"document.getElementById('member-count').textContent === {text!r}")


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["es", "en"])
def test_merchant_builds_big_spenders_gone_quiet_with_typed_inputs(browser, live_server, customers, lang, size):
    words = WORDS[lang]
    context, page, errors = _open(browser, live_server.url, customers, size)
    page.goto(f"{live_server.url}/admin/segments/new/?lang={lang}")
    _count(page, "5")
    assert not page.locator("#rules").is_visible()  # the JSON waits behind "Advanced"

    first = page.locator("#rows .row").nth(0)
    first.locator("select.field").select_option("total_spent")
    first.locator("select.op").select_option("gt")
    amount = first.locator("input.value")
    assert amount.get_attribute("type") == "number" and amount.get_attribute("step") == "0.01"
    assert first.locator(".unit").text_content() == "€"
    amount.fill("100")

    page.click("#add-row")
    second = page.locator("#rows .row").nth(1)
    second.locator("select.field").select_option("days_since_last_order")
    second.locator("select.op").select_option("gt")
    days = second.locator("input.value")
    assert days.get_attribute("type") == "number" and days.get_attribute("step") == "1"
    assert days.get_attribute("min") == "0"
    assert second.locator(".unit").text_content() == words["days"]
    days.fill("60")
    # The count is also 2 for the rule typed on the way ("more than 30 days"): wait for the rule itself to arrive.
    page.wait_for_function("want => document.getElementById('rule-summary').textContent.replace(/\u00a0/g, ' ') "
                           "=== want", arg=words["summary"].replace("\xa0", " "))
    _count(page, "2")

    # Letters never get into a number: the browser drops them, and the row says what it needs, in words.
    days.fill("")
    days.press_sequentially("abc")
    assert days.input_value() == ""
    assert second.locator(".row-error").text_content() == words["abc"]
    _count(page, "—")
    assert page.locator("#rule-errors").text_content() == words["abc"]  # in words: no all[1].value
    days.fill("60")
    _count(page, "2")
    assert not second.locator(".row-error").is_visible()

    # Remove is a link-style button; the page never scrolls sideways, even on a phone.
    remove = second.locator("button.remove")
    assert remove.evaluate("b => getComputedStyle(b).backgroundColor") == "rgba(0, 0, 0, 0)"
    wide = page.evaluate("""[...document.querySelectorAll('main *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.className)""")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), wide
    for row in (first, second):
        box = row.locator("input.value").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= SIZES[size]["width"]

    page.fill("#name", "Grandes clientes dormidos")
    page.click("#save-segment")
    page.wait_for_selector(f"text={words['saved']}")
    saved = Segment.objects.for_shop(customers).get(name="Grandes clientes dormidos")
    assert saved.rules == {"all": [{"field": "total_spent", "op": "gt", "value": 100},
                                   {"field": "days_since_last_order", "op": "gt", "value": 60}]}
    assert saved.member_count == 2
    assert page.locator("#rows .row").count() == 2
    assert page.locator("#rows .row").nth(0).locator("input.value").input_value() == "100"
    assert not page.locator("#rules").is_visible()
    page.click("#advanced summary")
    assert page.locator("#advanced summary").text_content().startswith(words["advanced"])
    assert '"days_since_last_order"' in page.locator("#rules").input_value()
    assert page.locator("#rules").is_visible()
    assert errors == []
    context.close()


def test_number_input_refuses_text_and_save_refuses_a_half_typed_rule(browser, live_server, customers):
    """Even when a merchant saves with an empty number, the server refuses it with the place in words."""
    context, page, errors = _open(browser, live_server.url, customers, "desktop")
    page.goto(f"{live_server.url}/admin/segments/new/?lang=es")
    _count(page, "5")
    value = page.locator("#rows .row input.value").first
    with pytest.raises(Exception, match="Cannot type text into input"):  # Chromium: a number input takes no text
        value.fill("abc")
    value.fill("")
    page.fill("#name", "A medias")
    page.click("#save-segment")
    page.wait_for_selector("ul.error[role=alert]")
    assert page.locator("ul.error[role=alert]").text_content().strip() == "Condición 1, valor: debe ser un número"
    assert not Segment.objects.for_shop(customers).filter(name="A medias").exists()
    assert errors == []
    context.close()

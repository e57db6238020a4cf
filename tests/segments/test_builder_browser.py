"""The segment builder in a real browser: the count, summary and preview follow the rule as it is typed."""
from __future__ import annotations

import json

import pytest

from backend.customers.identities import resolve_customer
from backend.segments.tasks import update_profile
from tests.customers.factories import make_customer, make_order
from tests.widgets.browser import chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def builder_page(live_server, shop):
    from django.contrib.sessions.backends.db import SessionStore

    from backend.dashboard.auth import SESSION_KEY

    with chromium() as browser:
        session = SessionStore()
        session[SESSION_KEY] = shop.pk
        session.create()
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": session.session_key, "url": live_server.url}])
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        yield page, live_server.url, dialogs


def settle(page, summary: str, count: str) -> None:
    """Waits for the rule's summary, then its count: a rule typed on the way can show the same count first."""
    page.wait_for_function("s => document.getElementById('rule-summary').textContent === s", arg=summary)
    page.wait_for_function("c => document.getElementById('member-count').textContent === c", arg=count)


def test_live_count_summary_and_preview_follow_the_rule(builder_page, shop):
    page, url, dialogs = builder_page
    for i, (email, orders) in enumerate([("ana@example.com", 3), ("<img src=x onerror=alert(1)>@x.io", 2),
                                         ("solo@example.com", 1)]):
        c = make_customer(shop, email=email, country="ES")
        for k in range(orders):
            make_order(shop, c, f"{10 * (i + 1)}.00", days_ago=k + 1)
        update_profile(resolve_customer(c))

    page.goto(f"{url}/admin/segments/new/?lang=es")
    count = page.locator("#member-count")
    page.wait_for_function("document.getElementById('member-count').textContent === '3'")
    assert page.locator("#rule-summary").text_content() == "pedidos es al menos 1"

    # The condition rows write the rule: orders at least 2, then also country is MX (nobody), then "any".
    assert page.locator("#rows .row").count() == 1
    page.locator("#rows .row .value").first.fill("2")
    settle(page, "pedidos es al menos 2", "2")
    page.click("#add-row")
    second = page.locator("#rows .row").nth(1)
    second.locator("select.field").select_option("country")
    second.locator("select.op").select_option("eq")
    second.locator(".value").fill("MX")
    settle(page, "pedidos es al menos 2 y país es MX", "0")
    page.select_option("#match", "any")
    settle(page, "pedidos es al menos 2 o país es MX", "2")
    assert json.loads(page.input_value("#rules"))["any"][1] == {"field": "country", "op": "eq", "value": "MX"}

    page.click("#advanced summary")  # the JSON box hides behind "Advanced"
    page.fill("#rules", json.dumps({"field": "orders_count", "op": "gte", "value": 2}))
    settle(page, "pedidos es al menos 2", "2")
    rows = page.locator("#preview-members tr")
    assert rows.count() == 2
    assert "<img src=x onerror=alert(1)>@x.io" in rows.all_text_contents()[0] + rows.all_text_contents()[1]
    assert page.locator("#preview-members img").count() == 0 and dialogs == []

    page.fill("#rules", json.dumps({"field": "shoe_size", "op": "eq", "value": 1}))
    page.wait_for_function("document.getElementById('rule-errors').textContent.includes('campo desconocido')")
    assert count.text_content() == "—"

    page.fill("#name", "Dos o más")
    page.fill("#rules", json.dumps({"field": "orders_count", "op": "gte", "value": 2}))
    page.click("#save-segment")
    page.wait_for_selector("text=Segmento guardado.")
    assert "Dos o más" in page.locator("h1").text_content()

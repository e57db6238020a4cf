"""The main merchant flows in headless Chromium, in both languages: sign in, change a widget's title and see it on
the demo storefront, build a segment and see its count, start and stop an experiment."""
from __future__ import annotations

import json

import pytest

from tests.dashboard.factories import member
from tests.widgets.browser import chromium

TEXT = {
    "en": {"saved": "Saved.", "running": "Running", "stopped": "Stopped", "create": "Create", "start": "Start",
           "stop": "Stop", "members": "Segments"},
    "es": {"saved": "Guardado.", "running": "En curso", "stopped": "Detenido", "create": "Crear", "start": "Iniciar",
           "stop": "Detener", "members": "Segmentos"},
}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("cockpit")]


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def store(live_server):
    from django.core.cache import cache

    from backend.demostore.sample import seed_store
    from backend.storefront.access import forget_shops

    cache.clear()
    forget_shops()
    yield seed_store(origin=live_server.url)
    forget_shops()
    cache.clear()


@pytest.fixture
def admin(browser, live_server, store):
    """A WooCommerce-style merchant signed in through the login form."""
    member(store.shop)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#username", "ana@example.com")
    page.fill("#password", "correct horse 42")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    yield page
    assert errors == []
    context.close()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_change_widget_title_and_see_it_on_the_demo_store(admin, live_server, store, lang):
    title = {"en": "Our top sellers", "es": "Lo más vendido ahora"}[lang]
    admin.goto(f"{live_server.url}/admin/widgets/?lang={lang}")
    admin.fill(f"#bestsellers-title_{lang}", title)
    admin.locator("#form-bestsellers button[type=submit]").click()
    admin.wait_for_selector("[role=status]")
    admin.goto(f"{live_server.url}/demo/{store.shop.domain}/?lang={lang}")
    host = admin.locator('[data-personalize-widget="bestsellers"]')
    host.scroll_into_view_if_needed()
    admin.wait_for_selector('[data-personalize-widget="bestsellers"][data-pz-state="ready"]')
    assert host.locator(".pz-title").text_content().strip() == title


@pytest.mark.parametrize("lang", ["en", "es"])
def test_build_a_segment_and_see_its_count(admin, live_server, store, lang):
    from backend.customers.identities import resolve_customer
    from backend.segments.tasks import update_profile
    from tests.customers.factories import make_customer, make_order

    for i, orders in enumerate((3, 2, 1)):
        c = make_customer(store.shop, email=f"c{i}@example.com", country="ES")
        for k in range(orders):
            make_order(store.shop, c, "20.00", days_ago=k + 1)
        update_profile(resolve_customer(c))
    admin.goto(f"{live_server.url}/admin/segments/new/?lang={lang}")
    admin.fill("#name", {"en": "Two or more", "es": "Dos o más"}[lang])
    admin.click("#advanced summary")  # the JSON box hides behind "Advanced"
    admin.fill("#rules", json.dumps({"field": "orders_count", "op": "gte", "value": 2}))
    admin.wait_for_function("document.getElementById('member-count').textContent === '2'")
    admin.click("button[type=submit]")
    admin.goto(f"{live_server.url}/admin/segments/?lang={lang}")
    row = admin.locator("tr", has_text={"en": "Two or more", "es": "Dos o más"}[lang]).first  # then the metrics
    assert row.locator("td[data-segment]").inner_text().strip() == "2"
    assert admin.locator("nav.side a[aria-current=page]").inner_text() == TEXT[lang]["members"]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_start_and_stop_an_experiment(admin, live_server, store, lang):
    from backend.experiments.models import Experiment

    t = TEXT[lang]
    admin.goto(f"{live_server.url}/admin/experiments/?lang={lang}")
    admin.fill("#exp-name", "Cosine")
    admin.select_option("#exp-target", "widget:also_bought")
    admin.select_option("select[name=arm-1-algorithm]", "cosine")
    admin.click(f"#new-experiment button:has-text('{t['create']}')")
    admin.wait_for_selector("#start")
    admin.click("#start")
    admin.wait_for_selector("#stop")
    assert admin.locator("#status").inner_text() == t["running"]
    assert admin.locator("#results tr[data-arm=b]").count() == 1  # the second variant (cosine)
    admin.click("#stop")
    admin.wait_for_selector("#confirm-stop-yes")  # a confirmation page first (no JavaScript dialog)
    assert Experiment.objects.for_shop(store.shop).get().status == "running"
    admin.click("#confirm-stop-yes")
    admin.wait_for_function(f"document.getElementById('status').textContent === {json.dumps(t['stopped'])}")
    assert Experiment.objects.for_shop(store.shop).get().status == "stopped"

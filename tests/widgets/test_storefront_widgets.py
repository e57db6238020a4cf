"""The storefront script in headless Chromium against the real app: demo store pages, widget API, event ingestion."""
from __future__ import annotations

import time

import pytest
from django.db import OperationalError

from backend.events.models import Event
from tests.widgets.browser import open_page
from tests.widgets.factories import XSS_TITLE

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("widgets-browser")]

# Sums every layout shift the page reports, from before the first paint on.
CLS_OBSERVER = """
window.__cls = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value;
}).observe({ type: "layout-shift", buffered: true });
"""


def url(live_server, store, path: str = "", **query) -> str:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{live_server.url}/demo/{store.shop.domain}/{path}" + (f"?{qs}" if qs else "")


def scroll_through(page) -> None:
    """Scroll down the page a screen at a time, as a shopper would, so every placeholder nears the viewport."""
    # The loader scans for placeholders when the browser is idle (up to 1.5 s on a busy machine): scroll once it
    # has, or the scroll is over before a placeholder is observed and it never nears the viewport.
    page.wait_for_function(
        "[...document.querySelectorAll('[data-personalize-widget]')].every(h => h.dataset.pzState)"
    )
    height = page.evaluate("document.documentElement.scrollHeight")
    for y in range(0, height + 800, 600):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(50)


def ready_widget(page, name: str):
    host = page.locator(f'[data-personalize-widget="{name}"]')
    scroll_through(page)
    host.scroll_into_view_if_needed()
    page.wait_for_selector(f'[data-personalize-widget="{name}"][data-pz-state="ready"]')
    return host


def titles(host) -> list[str]:
    return [t.strip() for t in host.locator("li .pz-name").all_text_contents()]


def wait_for_events(store, timeout: float = 8.0, **filters) -> list[Event]:
    """Events arrive by beacon after the page sent them: poll the database the way a shopper's next page would."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            rows = list(Event.objects.for_shop(store.shop).filter(**filters).order_by("created_at", "pk"))
        except OperationalError:  # SQLite's in-memory test db: the live server is writing right now
            rows = []
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def view_product(page, live_server, store, handle: str) -> None:
    page.goto(url(live_server, store, f"products/{handle}"))
    product = store.products[handle]
    assert wait_for_events(store, type="product_viewed", product=product), f"no product_viewed for {handle}"


def test_also_bought_shows_what_is_bought_with_the_product_and_records_clicks(page, live_server, store):
    page.goto(url(live_server, store, "products/trail-jacket"))
    host = ready_widget(page, "also_bought")

    shown = titles(host)
    assert set(shown[:2]) == {"Wool Hat", "Winter Gloves"}, shown  # the two products bought with the jacket
    assert "Trail Jacket" not in shown
    assert host.locator("h2").inner_text() == "Customers also bought"
    assert host.locator("ul > li").count() == len(shown)
    link = host.locator("li a").first
    assert link.get_attribute("href")
    link.focus()
    assert page.evaluate("document.activeElement.dataset.pzProduct") == link.get_attribute("data-pz-product")
    img = host.locator("li img").first
    assert img.get_attribute("loading") == "lazy" and img.get_attribute("width") and img.get_attribute("height")

    assert wait_for_events(store, type="widget_impression", widget="also_bought")
    clicked_title = shown[0]
    clicked = next(p for p in store.products.values() if p.title == clicked_title)
    with page.expect_navigation():
        host.locator("li a").first.click()
    assert page.locator("h1").inner_text() == clicked_title
    clicks = wait_for_events(store, type="widget_click", widget="also_bought")
    assert [c.product_id for c in clicks] == [clicked.pk]
    assert page.watch.console_errors == [] and page.watch.page_errors == []


def test_continue_shopping_lists_viewed_products_newest_first(page, live_server, store):
    for handle in ("wool-hat", "winter-gloves", "silk-scarf"):
        view_product(page, live_server, store, handle)
    page.goto(url(live_server, store, "products/day-backpack"))
    host = ready_widget(page, "recently_viewed")
    assert titles(host)[:3] == ["Silk Scarf", "Winter Gloves", "Wool Hat"]
    assert host.locator("h2").inner_text() == "Continue shopping"
    visitors = {e.visitor_id for e in Event.objects.for_shop(store.shop).filter(type="product_viewed")}
    assert len(visitors) == 1 and "" not in visitors  # one first-party visitor id across pages

    page.locator("form[action$='/cart/add'] button").click()
    page.wait_for_url("**/cart")
    assert wait_for_events(store, type="added_to_cart", product=store.products["day-backpack"])


def test_rendering_widgets_shifts_no_layout(page, live_server, store):
    page.add_init_script(CLS_OBSERVER)
    view_product(page, live_server, store, "wool-hat")
    for path in ("products/trail-jacket", "collections/outdoor", ""):
        page.goto(url(live_server, store, path))
        scroll_through(page)
        page.wait_for_function(
            "[...document.querySelectorAll('[data-personalize-widget]')].every(h => h.dataset.pzState === 'ready')"
        )
        page.wait_for_timeout(300)  # late images and fonts would shift now, if anything could
        assert page.evaluate("window.__cls") == 0, path
    assert wait_for_events(store, type="collection_viewed", collection=store.collection)
    assert page.watch.console_errors == [] and page.watch.page_errors == []


def test_api_failure_leaves_the_page_untouched(browser, live_server, store):
    for failure in ("down", "slow", "garbage", "server_error"):
        with open_page(browser) as page:
            check_page_survives(page, live_server, store, failure)


def check_page_survives(page, live_server, store, failure: str) -> None:
    def broken(route):
        if failure == "slow":
            if "/widgets/" not in route.request.url:
                route.abort()
            # a widget request is left unanswered: the script's own 2.5 s timeout has to give up on it
        elif failure == "down":
            route.abort()
        elif failure == "garbage":
            route.fulfill(status=200, content_type="application/json", body='{"items": "<b>nope</b>"')
        else:
            route.fulfill(status=500, content_type="text/html", body="<h1>boom</h1>")

    page.route("**/api/storefront/**", broken)
    page.add_init_script(CLS_OBSERVER)
    page.goto(url(live_server, store, "products/trail-jacket"))
    scroll_through(page)
    page.wait_for_function(
        "[...document.querySelectorAll('[data-personalize-widget]')].every(h => h.dataset.pzState === 'empty')"
    )
    assert page.locator("h1").inner_text() == "Trail Jacket", failure
    assert page.locator("[data-personalize-widget] li").count() == 0, failure
    assert page.evaluate("window.__cls") == 0, failure
    page.locator("form[action$='/cart/add'] button").click()  # the page keeps working; events just get lost
    page.wait_for_url("**/cart")
    assert page.watch.page_errors == [], failure
    assert page.watch.console_errors == [], failure


def test_product_title_with_markup_is_shown_as_text(page, live_server, store):
    page.goto(url(live_server, store, "products/day-backpack"))
    host = ready_widget(page, "also_bought")
    assert XSS_TITLE in titles(host)
    page.goto(url(live_server, store, "products/xss-product"))
    assert page.locator("h1").inner_text() == XSS_TITLE
    page.goto(url(live_server, store, "collections/outdoor"))
    assert XSS_TITLE in page.locator(".grid .name").all_text_contents()
    ready_widget(page, "bestsellers")
    assert page.locator("img[src='x']").count() == 0
    assert page.watch.dialogs == []


def test_spanish_pages_show_spanish_titles_and_euro_prices(page, live_server, store):
    page.goto(url(live_server, store, "products/trail-jacket", lang="es"))
    host = ready_widget(page, "also_bought")
    assert host.locator("h2").inner_text() == "Los clientes también compraron"
    prices = [p.replace("\xa0", " ") for p in host.locator("li .pz-price").all_inner_texts()]
    assert "24,50 €" in prices  # the wool hat, formatted by Intl.NumberFormat("es", EUR)
    assert page.locator("html").get_attribute("lang") == "es"


# Shopify's Customer Privacy API, as a theme with a cookie banner exposes it before the shopper accepts.
SHOPIFY_PRIVACY_DENIED = "window.Shopify = {customerPrivacy: {analyticsProcessingAllowed: () => false}};"


def test_without_analytics_consent_nothing_personal_is_sent_or_stored(browser, live_server, store):
    for how in ("host page", "shopify privacy api"):
        with open_page(browser) as page:
            check_no_personal_data(page, live_server, store, how)
        Event.objects.for_shop(store.shop).delete()


def check_no_personal_data(page, live_server, store, how: str) -> None:
    widget_requests = []
    page.on("request", lambda r: "/widgets/" in r.url and widget_requests.append(r.url))
    if how == "shopify privacy api":
        page.add_init_script(SHOPIFY_PRIVACY_DENIED)
        page.goto(url(live_server, store, "products/trail-jacket"))
    else:
        page.goto(url(live_server, store, "products/trail-jacket", consent="denied"))
    ready_widget(page, "also_bought")  # non-personal content still shows
    events = wait_for_events(store, type="product_viewed")
    assert events and all(e.visitor_id == "" and e.session_id == "" for e in events)
    assert widget_requests and not any("visitor=" in u for u in widget_requests)
    assert page.evaluate("localStorage.getItem('_pz_v')") is None


# Storage that throws on every access, as in some privacy modes and sandboxed frames.
BLOCKED_STORAGE = """
for (const name of ["localStorage", "sessionStorage"]) {
  Object.defineProperty(window, name, { get() { throw new DOMException("blocked", "SecurityError"); } });
}
"""


def test_unusable_storage_still_gives_one_visitor_id(browser, live_server, store):
    for storage in ("corrupt", "blocked"):
        with open_page(browser) as page:
            check_one_visitor_id(page, live_server, store, storage)
        Event.objects.for_shop(store.shop).delete()


def check_one_visitor_id(page, live_server, store, storage: str) -> None:
    if storage == "corrupt":
        # corrupt the stored id once, before the first page: the script must replace it, then keep its own
        page.add_init_script(
            "if (!sessionStorage.getItem('corrupted')) {"
            " sessionStorage.setItem('corrupted', '1'); localStorage.setItem('_pz_v', '<b>' + 'x'.repeat(300)); }"
        )
    else:
        page.add_init_script(BLOCKED_STORAGE)
    view_product(page, live_server, store, "wool-hat")
    view_product(page, live_server, store, "silk-scarf")
    visitors = {e.visitor_id for e in Event.objects.for_shop(store.shop).filter(type="product_viewed")}
    assert len(visitors) == 1
    (visitor,) = visitors
    assert 8 <= len(visitor) <= 64 and "<" not in visitor
    host = ready_widget(page, "recently_viewed")
    assert titles(host)[:1] == ["Wool Hat"]
    assert page.watch.page_errors == [] and page.watch.console_errors == []


def test_widget_code_and_data_load_only_when_the_placeholder_nears_the_viewport(page, live_server, store):
    page.set_viewport_size({"width": 390, "height": 500})
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(url(live_server, store, "collections/outdoor"))
    page.wait_for_load_state("networkidle")
    host = page.locator('[data-personalize-widget="bestsellers"]')
    assert host.evaluate("h => h.getBoundingClientRect().top") > 500 + 400
    assert not [u for u in requested if "/widgets/" in u or "bestsellers-" in u]
    assert host.evaluate("h => h.getBoundingClientRect().height") > 0  # its space is reserved meanwhile
    ready_widget(page, "bestsellers")
    assert [u for u in requested if "bestsellers-" in u] and [u for u in requested if "/widgets/bestsellers" in u]


def test_a_logged_in_customer_is_stitched_to_the_visitor(page, live_server, store):
    from backend.customers.models import Customer

    customer = Customer.objects.create(shop=store.shop, platform_id="5551", email="ana@example.com")
    page.goto(url(live_server, store, "", customer="5551"))  # the demo's stand-in for logging in
    script = page.locator("script[data-personalize]")
    assert script.get_attribute("data-customer") == "5551" and script.get_attribute("data-customer-sig")
    view_product(page, live_server, store, "wool-hat")
    (viewed,) = wait_for_events(store, type="product_viewed")
    assert viewed.customer_id == customer.pk and viewed.visitor_id


def test_a_running_experiment_logs_the_shown_arm_as_an_exposure(page, live_server, store):
    from backend.experiments.models import Experiment, Exposure
    from backend.experiments.runtime import forget_running

    exp = Experiment.objects.create(
        shop=store.shop, name="Holdout", target_key="also_bought", status=Experiment.Status.RUNNING,
        arms=[{"key": "control", "weight": 1}, {"key": "cosine", "weight": 1, "config": {"algorithm": "cosine"}}],
    )
    forget_running(store.shop)
    page.goto(url(live_server, store, "products/trail-jacket"))
    ready_widget(page, "also_bought")
    impressions = wait_for_events(store, type="widget_impression", widget="also_bought")
    assert impressions and impressions[0].experiment == str(exp.pk)
    deadline = time.monotonic() + 8  # the exposure is written right after the event, in the same request
    while not (exposures := list(Exposure.objects.for_shop(store.shop).filter(experiment=exp))):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(exposures) == 1 and exposures[0].arm == impressions[0].variant
    assert exposures[0].visitor_id == impressions[0].visitor_id

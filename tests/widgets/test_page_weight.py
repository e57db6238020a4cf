"""What a shopper's browser loads for the app: on a page without widgets where no campaign can apply, the loader
and nothing else (no popup chunk, no popup API call); with a live campaign the popup still shows."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from backend.popups.gate import page_gate
from tests.popups.factories import fill_pool, make_campaign
from tests.widgets.test_storefront_widgets import url

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("widgets-browser")]

DIALOG = "[role=dialog][aria-modal=true]"


def plain_page(page, live_server, shop, cart: int = 0) -> list[str]:
    """A store page without widget placeholders, with the demo store's app embed (the real template, the real gate),
    served on the app's origin; returns every URL the page requested once it has loaded and gone idle."""
    gate = page_gate(shop.pk)
    embed = render_to_string("demostore/_app_embed.html", {
        "shop": shop, "locale": "en", "embed_css": "", "embed_api": "/api/storefront", "cart_count": cart,
        "embed_script": reverse("demostore-asset", args=["personalize.js"]),
        "embed_popups": bool(gate), "embed_popup_gate": json.dumps(gate, separators=(",", ":")),
    })
    html = f"<!doctype html><html><head><title>About us</title>{embed}</head><body><h1>About us</h1></body></html>"
    fixture = f"{live_server.url}/fixture/about"
    page.route(fixture, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html))
    requested: list[str] = []

    def record(request) -> None:  # noqa: ANN001
        requested.append(request.url)

    page.on("request", record)
    page.goto(fixture)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(600)  # past the loader's idle callback
    page.wait_for_load_state("networkidle")
    page.remove_listener("request", record)
    return [u for u in requested if u != fixture]


def popup_traffic(urls: list[str]) -> list[str]:
    return [u for u in urls if "/popup" in u]


def test_a_page_without_widgets_or_an_applicable_campaign_loads_the_loader_only(page, live_server, store):
    shop = store.shop
    loader = f"{live_server.url}{reverse('demostore-asset', args=['personalize.js'])}"
    assert plain_page(page, live_server, shop) == [loader], "no campaign: the loader, nothing else"

    # Campaigns exist but none can apply to this visitor now: one needs a cart, one starts tomorrow, one ended.
    now = timezone.now()
    ended = {"starts_at": (now - timedelta(days=2)).isoformat(), "ends_at": (now - timedelta(days=1)).isoformat()}
    for extra in ({"require_cart": True}, {"starts_at": (now + timedelta(days=1)).isoformat()}, ended):
        fill_pool(make_campaign(shop, **extra), per_offer=2, prefix=f"G{len(extra)}")
    assert len(page_gate(shop.pk)) == 2  # the ended one is not even in the page
    fresh = page.context.new_page()
    assert plain_page(fresh, live_server, shop) == [loader], "no applicable campaign: no popup chunk, no API call"
    # With a cart, the cart-only campaign can apply: the popup chunk and its question follow, after load.
    fresh.close()
    with_cart = page.context.new_page()
    urls = plain_page(with_cart, live_server, shop, cart=1)
    assert any("/popup-" in u for u in urls) and [u for u in urls if "/api/storefront/popup?" in u], urls
    with_cart.close()


def test_the_server_saying_no_spares_the_next_pages_the_popup(page, live_server, store):
    """A campaign for a segment only the app can tell: the first page asks; on "no", the session's next pages
    load neither the chunk nor the API call."""
    fill_pool(make_campaign(store.shop, include_segments=["tier:vip"]), per_offer=2)
    first = plain_page(page, live_server, store.shop)
    assert [u for u in first if "/api/storefront/popup?" in u], "the page cannot tell: the server decides"
    # The session's next page (same tab: same sessionStorage).
    assert popup_traffic(plain_page(page, live_server, store.shop)) == []


def test_a_live_campaign_still_shows_the_popup_on_the_demo_store(page, live_server, store):
    fill_pool(make_campaign(store.shop, min_seconds=1), per_offer=3)
    with page.expect_response(lambda r: "/api/storefront/popup?" in r.url) as answer:
        page.goto(url(live_server, store, "products/trail-jacket"))
    assert answer.value.json()["campaign"] is not None
    page.wait_for_function("performance.now() > 1200")
    page.mouse.move(640, 300)
    page.mouse.move(640, 100, steps=4)
    page.mouse.move(640, -8, steps=3)
    dialog = page.locator(DIALOG)
    dialog.wait_for()
    assert dialog.locator("h2").inner_text() == "Wait! A gift before you go"
    assert not page.watch.page_errors

"""The plugin's storefront output in headless Chromium: WooCommerce pages rendered by the plugin's own PHP
(php/harness.php), loading the real storefront script from the live app, fill their widgets from the real widget
API and record events, like the demo store's pages do (tests/widgets). Block-theme pages (WooCommerce 11, Twenty
Twenty-Five) get WooCommerce's grid behaviour from tests/standins/woocommerce/blocks_frontend.js, and every request
the page makes to the store (Store API add, the plugin's wc-ajax endpoint) runs the plugin's PHP again."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.widgets.conftest import browser, page, store  # noqa: F401 - the widget tests' fixtures
from tests.widgets.test_storefront_widgets import ready_widget, titles, wait_for_events

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("widgets-browser")]

HARNESS = Path(__file__).parent / "php" / "harness.php"
PHP = shutil.which("php")


def plugin_page(live_server, store, handle: str) -> str:  # noqa: F811
    from backend.storefront.access import _customer_key

    config = {"connected": True, "public_key": store.shop.public_key, "shop": store.shop.domain,
              "api_url": f"{live_server.url}/api/storefront",
              "script_url": f"{live_server.url}/demo/assets/personalize.js",
              "customer_signing_key": _customer_key(store.shop.pk).hex()}
    env = {**os.environ, "PZ_PRODUCT": store.pid(handle), "PZ_TITLE": store.products[handle].title, "PZ_USER": "0"}
    result = subprocess.run([PHP, str(HARNESS), "page", json.dumps(config)], capture_output=True, text=True,
                            env=env, timeout=30, check=True)
    return result.stdout


@pytest.mark.skipif(PHP is None, reason="php-cli missing: `apt-get install -y php-cli` (make setup does it)")
def test_plugin_product_page_shows_also_bought(page, live_server, store):  # noqa: F811
    html = plugin_page(live_server, store, "trail-jacket")
    # Served from the app's origin: the module script and its chunks load the way they do on the demo pages.
    url = f"{live_server.url}/wordpress/product/trail-jacket/"
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html; charset=UTF-8", body=html))
    page.goto(url)

    host = ready_widget(page, "also_bought")
    shown = titles(host)
    assert set(shown[:2]) == {"Wool Hat", "Winter Gloves"}, shown
    assert "Trail Jacket" not in shown
    assert wait_for_events(store, type="product_viewed", product=store.products["trail-jacket"])
    assert page.locator('[data-personalize-event="added_to_cart"]').get_attribute("data-product") == \
        store.pid("trail-jacket")
    assert page.watch.console_errors == [] and page.watch.page_errors == []


BLOCKS_JS = Path(__file__).resolve().parents[2] / "standins" / "woocommerce" / "blocks_frontend.js"


class BlockSite:
    """A block-theme WooCommerce site under the app's origin at /wordpress/: each request runs the plugin's PHP,
    sharing one site state (options, the shopper's WooCommerce session) between requests."""

    def __init__(self, live_server, store, state: Path) -> None:  # noqa: F811
        from backend.storefront.access import _customer_key

        self.base = f"{live_server.url}/wordpress"
        config = {"connected": True, "public_key": store.shop.public_key, "shop": store.shop.domain,
                  "api_url": f"{live_server.url}/api/storefront",
                  "script_url": f"{live_server.url}/demo/assets/personalize.js",
                  "customer_signing_key": _customer_key(store.shop.pk).hex()}
        # Fetched a moment ago: no refresh is due while the test runs.
        state.write_text(json.dumps({"options": {"personalize_config": config,
                                                 "personalize_config_at": 4102444800}}))
        grid = ",".join(f"{store.pid(h)}:{store.products[h].title}" for h in ("wool-hat", "winter-gloves",
                                                                              "trail-jacket"))
        self.env = {**os.environ, "PZ_STATE": str(state), "PZ_HOME": self.base, "PZ_USER": "0", "PZ_PRODUCT": "0",
                    "PZ_GRID": grid}
        self.requests: list[str] = []

    def php(self, mode: str, **env: str) -> str:
        result = subprocess.run([PHP, str(HARNESS), mode, "{}"], capture_output=True, text=True,
                                env={**self.env, **env}, timeout=30, check=True)
        return result.stdout

    def handle(self, route) -> None:  # noqa: ANN001
        request = route.request
        path = request.url.removeprefix(self.base)
        self.requests.append(f"{request.method} {path}")
        if path.startswith("/wp-json/wc/store/v1/cart/add-item") and request.method == "POST":
            # The plugin reads the script's own header, as PHP exposes it, to leave a widget's add to the script.
            ours = {k: v for k, v in request.headers.items() if k.lower() == "x-personalize-widget"}
            if ours:
                self.requests.append(f"header {ours}")
            body = self.php("store-api-add", PZ_BODY=request.post_data or "{}", PZ_HEADERS=json.dumps(ours))
            return route.fulfill(status=201, content_type="application/json", body=body)
        if path.startswith("/?wc-ajax="):
            body = self.php("wc-ajax", PZ_WC_AJAX=path.split("=", 1)[1])
            return route.fulfill(status=200, content_type="application/json", body=body)
        mode, extra = ("block-cart", {}) if path.startswith("/cart/") else ("block-category", {"PZ_CATEGORY": "500"})
        html = self.php(mode, **extra)
        html = html.replace("</head>", f'<link rel="https://api.w.org/" href="{self.base}/wp-json/">\n</head>')
        html = html.replace("</body>", f"<script>{BLOCKS_JS.read_text()}</script>\n</body>")
        return route.fulfill(status=200, content_type="text/html; charset=UTF-8", body=html)


@pytest.mark.skipif(PHP is None, reason="php-cli missing: `apt-get install -y php-cli` (make setup does it)")
def test_block_grid_add_to_cart_is_recorded_and_block_pages_show_widgets(page, live_server, store, tmp_path):  # noqa: F811
    site = BlockSite(live_server, store, tmp_path / "site.json")
    page.route(f"{site.base}/**", site.handle)

    page.goto(f"{site.base}/product-category/outdoor/")
    # "Add to cart" in the block grid: WooCommerce's event says nothing about the product; the app still records it.
    hat = store.products["wool-hat"]
    page.get_by_role("button", name=f"Add to cart: {hat.title}").click()
    page.wait_for_selector(f'[data-product_id="{hat.platform_id}"].added')
    events = wait_for_events(store, type="added_to_cart", product=hat)
    assert len(events) == 1, events
    assert "POST /wp-json/wc/store/v1/cart/add-item" in site.requests
    assert "GET /?wc-ajax=personalize_cart_events" in site.requests
    page.wait_for_timeout(300)
    assert len(wait_for_events(store, timeout=0.5, type="added_to_cart")) == 1, "recorded once"

    # A category archive in a block theme: the product collection block, then the plugin's bestsellers.
    assert page.locator(".wp-block-woocommerce-product-collection + .personalize-widget").count() == 1
    host = ready_widget(page, "bestsellers")
    # No collection of its own: the page's category (the script tag's) is left out, so the grid is not repeated.
    assert host.get_attribute("data-collection") is None
    assert page.locator("script[data-personalize]").get_attribute("data-collection") == "500"

    # The cart page is the cart block: bestsellers right after it, outside the block's own element.
    page.goto(f"{site.base}/cart/")
    assert page.locator(".wp-block-woocommerce-cart + .personalize-widget").count() == 1
    assert page.locator(".wp-block-woocommerce-cart .personalize-widget").count() == 0
    assert titles(ready_widget(page, "bestsellers"))
    assert page.watch.console_errors == [] and page.watch.page_errors == []


@pytest.mark.skipif(PHP is None, reason="php-cli missing: `apt-get install -y php-cli` (make setup does it)")
def test_a_widget_cards_add_on_woocommerce_is_one_event_with_its_widget(page, live_server, store, tmp_path):  # noqa: F811
    """A card's "Add to cart" goes through the Store API, whose add the plugin's hook also sees: recorded once,
    with the widget, also after the next page prints whatever the plugin queued."""
    from django.core.cache import cache

    from backend.shops.models import Shop
    from backend.storefront.access import forget_shops

    Shop.objects.filter(pk=store.shop.pk).update(platform=Shop.Platform.WOOCOMMERCE)
    forget_shops()
    cache.clear()
    site = BlockSite(live_server, store, tmp_path / "site.json")
    page.route(f"{site.base}/**", site.handle)

    page.goto(f"{site.base}/product-category/outdoor/")
    host = ready_widget(page, "bestsellers")
    card = host.locator("li.pz-item").first
    name = card.locator(".pz-name").inner_text().strip()
    # The plugin's pages speak the site's language (es_ES here).
    card.get_by_role("button", name=f"Añadir al carrito: {name}").click()
    page.wait_for_function(
        "t => document.querySelector('[data-personalize-widget=bestsellers] [role=status]').textContent === t",
        arg=f"Añadido al carrito: {name}",
    )
    assert "POST /wp-json/wc/store/v1/cart/add-item" in site.requests
    assert "header {'x-personalize-widget': 'bestsellers'}" in site.requests
    (added,) = wait_for_events(store, type="added_to_cart")
    assert added.widget == "bestsellers" and added.product.title == name

    # The next full page prints the plugin's queue as markers: this add is not among them.
    page.goto(f"{site.base}/cart/")
    ready_widget(page, "bestsellers")
    assert page.locator('[data-personalize-event="added_to_cart"]').count() == 0
    page.wait_for_timeout(300)
    events = wait_for_events(store, timeout=0.5, type="added_to_cart")
    assert [(e.product_id, e.widget) for e in events] == [(added.product_id, "bestsellers")], "one event per add"
    assert page.watch.console_errors == [] and page.watch.page_errors == []

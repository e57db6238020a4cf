"""The plugin's storefront output in headless Chromium: a WooCommerce product page rendered by the plugin's own PHP
(php/harness.php), loading the real storefront script from the live app, fills its widgets from the real widget
API and records the view, like the demo store's pages do (tests/widgets)."""
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

    # The cart block's add-to-cart DOM event reaches the page as "personalize:added_to_cart".
    detail = page.evaluate("""() => new Promise((resolve) => {
        document.addEventListener("personalize:added_to_cart", (e) => resolve(e.detail), { once: true });
        document.body.dispatchEvent(new CustomEvent("wc-blocks_added_to_cart",
            { bubbles: true, detail: { productId: 9001, quantity: 2 } }));
    })""")
    assert detail == {"product": "9001", "quantity": 2}
    assert page.locator('[data-personalize-event="added_to_cart"]').get_attribute("data-product") == \
        store.pid("trail-jacket")
    assert page.watch.console_errors == [] and page.watch.page_errors == []

"""Recommended for you on the demo store's home and cart pages, in headless Chromium against the real app: a visitor
who viewed products gets what goes with them (not the products themselves), in their language; a new visitor gets
the shop's bestsellers."""
from __future__ import annotations

import pytest

from tests.widgets.test_storefront_widgets import ready_widget, titles, url, view_product

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("widgets-browser")]


def test_a_visitor_who_viewed_products_sees_what_goes_with_them(browser, live_server, store):
    from tests.widgets.browser import open_page

    with open_page(browser) as newcomer:  # no history: the shop's bestsellers, the water bottle first
        newcomer.goto(url(live_server, store))
        assert titles(ready_widget(newcomer, "for_you"))[0] == "Water Bottle"

    with open_page(browser) as page:
        view_product(page, live_server, store, "trail-jacket")
        page.goto(url(live_server, store))
        host = ready_widget(page, "for_you")
        assert host.locator("h2").inner_text() == "Recommended for you"
        shown = titles(host)
        # The jacket's companions lead (bought with it in four and three orders); the jacket itself was just seen.
        assert set(shown[:2]) == {"Wool Hat", "Winter Gloves"}, shown
        assert "Trail Jacket" not in shown

        page.goto(url(live_server, store, "cart", lang="es"))
        host = ready_widget(page, "for_you")
        assert host.locator("h2").inner_text() == "Recomendado para ti"
        assert set(titles(host)[:2]) == {"Wool Hat", "Winter Gloves"}
        assert page.watch.console_errors == [] and page.watch.page_errors == []

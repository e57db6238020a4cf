"""A placeholder the theme prints on a page type where the merchant switched the widget off (a Shopify app block
knows nothing of the app's placement): the widget API answers "off", and the reserved box empties without moving
anything the shopper sees, then collapses once it is off screen, again without a shift: also on a browser without
scroll anchoring, with a sticky bar across the middle of the screen."""
from __future__ import annotations

import urllib.request

import pytest

from tests.widgets.test_storefront_widgets import CLS_OBSERVER, url

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("widgets-browser")]

HOST = '[data-personalize-widget="also_bought"]'
# The rest of a long theme page below the widgets (reviews, footer): room to scroll the box out of view.
BELOW = '<section id="below" style="height:2400px">More from the shop</section>'
# Chromium scrolls the page back by itself when content above the viewport goes (scroll anchoring); Safari before
# 18 does not, nor does any page that turns it off, as this style does. The bar sits in the middle of the screen
# at any scroll (a theme's sticky announcement or "add to cart" bar): it never moves when the page does.
NO_ANCHORING = "<style>*{overflow-anchor:none}</style>"
STICKY_BAR = ('<div id="bar" style="position:sticky;top:50vh;height:48px;z-index:5;background:#111;color:#fff">'
              "Free shipping over 50 €</div>")


def test_a_widget_switched_off_on_this_page_type_empties_then_collapses_without_a_shift(page, live_server, store):
    _collapses_without_a_shift(page, live_server, store)


def test_without_scroll_anchoring_and_a_sticky_bar_mid_screen_the_collapse_above_still_moves_nothing(
        page, live_server, store):
    _collapses_without_a_shift(page, live_server, store, head=NO_ANCHORING, top=STICKY_BAR)
    # The bar stayed in the middle of the screen: what the loader must not take for the content in view.
    assert page.evaluate("Math.round(document.querySelector('#bar').getBoundingClientRect().top)") == 360


def _collapses_without_a_shift(page, live_server, store, head: str = "", top: str = "") -> None:
    from backend.storefront.models import WidgetRule
    from backend.storefront.rules import invalidate

    product_url = url(live_server, store, "products/trail-jacket")
    with urllib.request.urlopen(product_url, timeout=10) as response:  # the page as the theme prints it
        html = response.read().decode()
    assert f'{HOST[1:-1]} data-page="product"' in html
    html = html.replace("</main>", BELOW + "</main>", 1).replace("</head>", head + "</head>", 1)
    html = html.replace("<body>", "<body>" + top, 1)
    # The merchant leaves also-bought on collections, cart and home only.
    WidgetRule.objects.for_shop(store.shop).update_or_create(
        shop=store.shop, widget="also_bought", defaults={"placements": ["collection", "cart", "home"]})
    invalidate(store.shop.pk)

    answers: list[dict] = []
    page.on("response", lambda r: "/widgets/also_bought" in r.url and answers.append(
        {"url": r.url, **r.json()}))
    page.route(product_url, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8",
                                                        body=html))
    page.add_init_script(CLS_OBSERVER)
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(product_url)
    page.wait_for_function(
        "[...document.querySelectorAll('[data-personalize-widget]')].every(h => h.dataset.pzState)")
    # On screen, whole: the answer is "off" and the box stays, empty, where it was reserved.
    page.evaluate(f"document.querySelector('{HOST}').scrollIntoView({{block: 'center'}})")
    page.wait_for_selector(f'{HOST}[data-pz-state="empty"]', state="attached")
    assert answers and answers[0]["enabled"] is False and "page=product" in answers[0]["url"], answers
    box = page.evaluate(f"""() => {{
        const h = document.querySelector('{HOST}'), r = h.getBoundingClientRect();
        return {{top: r.top, bottom: r.bottom, height: r.height, children: h.childElementCount}};
    }}""")
    assert box["height"] > 200 and box["top"] >= 0 and box["bottom"] <= 720 and box["children"] == 0, box
    page.wait_for_timeout(300)
    assert page.locator(HOST).is_visible() and page.evaluate("window.__cls") == 0

    # Scrolled past it: the box collapses while above the viewport, and what the shopper reads does not move.
    # Where the text below lies, read in the same turn as the scroll: before the loader can see the box go by.
    before = page.evaluate(f"""() => {{
        window.scrollBy(0, document.querySelector('{HOST}').getBoundingClientRect().bottom + 200);
        return document.querySelector('#below').getBoundingClientRect().top;
    }}""")
    page.wait_for_function(f"getComputedStyle(document.querySelector('{HOST}')).display === 'none'")
    page.wait_for_timeout(300)
    assert page.evaluate("document.querySelector('#below').getBoundingClientRect().top") == before
    assert page.evaluate("window.__cls") == 0
    assert page.locator(f"{HOST} li").count() == 0
    assert page.watch.console_errors == [] and page.watch.page_errors == []

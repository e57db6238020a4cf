"""Widget cards in headless Chromium on the demo store, in en and es, desktop and phone width: equal cards, no blank
band under a widget, a carousel moved by its arrows, and an add-to-cart button that fills the demo cart and records
`added_to_cart` with the widget."""
from __future__ import annotations

import json

import pytest

from tests.widgets.test_storefront_widgets import ready_widget, url, wait_for_events

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("widgets-browser")]

WIDTHS = {"desktop": 1280, "phone": 390}
WORDS = {
    "en": {"next": "Next products", "prev": "Previous products", "add": "Add to cart", "added": "Added to cart",
           "sold_out": "Sold out"},
    "es": {"next": "Productos siguientes", "prev": "Productos anteriores", "add": "Añadir al carrito",
           "added": "Añadido al carrito", "sold_out": "Agotado"},
}

# Each card's box, and how far the widget's content reaches below its top: what the shopper sees of the layout.
MEASURE = """h => {
  const top = h.getBoundingClientRect().top;
  const cards = [...h.querySelectorAll('li.pz-item')].map(li => li.getBoundingClientRect());
  const parts = [...h.querySelectorAll('.pz-head, li.pz-item > *')];
  const bottom = Math.max(...parts.map(e => e.getBoundingClientRect().bottom));
  return {host: h.getBoundingClientRect().height, content: bottom - top, widths: cards.map(c => c.width),
          sale: h.querySelectorAll('.pz-was').length};
}"""


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_cards_are_equal_and_fill_the_reserved_box(page, live_server, store, lang, width):
    page.set_viewport_size({"width": WIDTHS[width], "height": 800})
    page.goto(url(live_server, store, "", lang=lang))  # home: bestsellers include the jacket, on sale
    host = ready_widget(page, "bestsellers")
    m = host.evaluate(MEASURE)
    assert m["sale"] >= 1, m  # a card with a struck-through regular price is among them
    assert max(m["widths"]) - min(m["widths"]) < 0.5, m["widths"]
    # The content ends where the reserved box ends: no blank band under it, and nothing cut off inside it.
    assert 0 <= m["host"] - m["content"] <= 8, m
    assert page.watch.console_errors == [] and page.watch.page_errors == []


@pytest.mark.parametrize("lang", ["en", "es"])
def test_arrows_scroll_the_carousel_from_the_keyboard(page, live_server, store, lang):
    page.set_viewport_size({"width": WIDTHS["phone"], "height": 800})
    page.goto(url(live_server, store, "", lang=lang))
    host = ready_widget(page, "bestsellers")
    words = WORDS[lang]
    prev = host.get_by_role("button", name=words["prev"])
    nxt = host.get_by_role("button", name=words["next"])
    lst = host.locator("ul.pz-list")
    assert prev.is_disabled() and nxt.is_enabled()
    # The hint: the last visible card is cut and faded at the trailing edge while more follows.
    assert "pz-e" in lst.get_attribute("class")
    assert host.evaluate("h => getComputedStyle(h.querySelector('.pz-list')).maskImage") != "none"
    nxt.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("l => l.scrollLeft > 100", arg=lst.element_handle())
    assert prev.is_enabled() and "pz-s" in lst.get_attribute("class")
    for _ in range(10):
        if nxt.is_disabled():
            break
        nxt.click()
        page.wait_for_timeout(400)
    assert nxt.is_disabled() and "pz-e" not in lst.get_attribute("class")
    prev.click()
    page.wait_for_function("l => l.scrollLeft < l.scrollWidth - l.clientWidth - 10", arg=lst.element_handle())


@pytest.mark.parametrize("lang", ["en", "es"])
def test_add_to_cart_from_a_widget_fills_the_cart_and_records_the_widget(page, live_server, store, lang):
    page.goto(url(live_server, store, "products/trail-jacket", lang=lang))
    host = ready_widget(page, "also_bought")
    words = WORDS[lang]
    card = host.locator("li.pz-item").filter(has_text="Wool Hat")
    button = card.get_by_role("button", name=f"{words['add']}: Wool Hat")
    assert button.inner_text() == words["add"]
    button.click()
    page.wait_for_function(
        "t => document.querySelector('[data-personalize-widget=also_bought] [role=status]').textContent === t",
        arg=f"{words['added']}: Wool Hat",
    )
    hat = store.products["wool-hat"]
    (added,) = wait_for_events(store, type="added_to_cart", product=hat)
    assert added.widget == "also_bought" and added.visitor_id
    page.goto(url(live_server, store, "cart"))
    assert "Wool Hat" in page.locator("main .name").all_text_contents()
    assert page.watch.console_errors == [] and page.watch.page_errors == []


def test_a_sold_out_card_cannot_be_added(page, live_server, store):
    def sold_out_first(route):
        response = route.fetch()
        data = response.json()
        data["items"][0]["available"] = False
        route.fulfill(response=response, body=json.dumps(data))

    page.route("**/api/storefront/widgets/also_bought*", sold_out_first)
    page.goto(url(live_server, store, "products/trail-jacket", lang="es"))
    host = ready_widget(page, "also_bought")
    first, second = host.locator("li.pz-item button").all()[:2]
    assert first.is_disabled() and first.inner_text() == "Agotado"
    assert second.is_enabled() and second.inner_text() == "Añadir al carrito"


HEADINGS = {"en": "Customers also bought", "es": "Los clientes también compraron"}


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_cart_page_shows_what_goes_with_the_cart(page, live_server, store, lang):
    page.goto(url(live_server, store, "products/trail-jacket", lang=lang))
    page.locator("form[action$='/cart/add'] button").click()
    page.wait_for_url("**/cart")
    host = ready_widget(page, "also_bought")
    shown = [t.strip() for t in host.locator("li .pz-name").all_text_contents()]
    assert set(shown[:2]) == {"Wool Hat", "Winter Gloves"}, shown  # bought with the jacket, not the bestsellers
    assert "Trail Jacket" not in shown
    assert host.locator("h2").inner_text() == HEADINGS[lang]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_bestsellers_under_a_collection_grid_do_not_repeat_it(page, live_server, store, lang):
    page.goto(url(live_server, store, "collections/outdoor", lang=lang))
    grid = set(page.locator(".grid .name").all_text_contents())
    host = ready_widget(page, "bestsellers")
    shown = [t.strip() for t in host.locator("li .pz-name").all_text_contents()]
    assert shown and shown[0] == "Water Bottle"
    assert not grid & set(shown), (grid, shown)


# Counts the page's live window "resize" listeners (added and not removed).
RESIZE_LISTENERS = """(() => {
  const live = new Set();
  const add = window.addEventListener, remove = window.removeEventListener;
  window.addEventListener = function (type, fn, options) {
    if (type === "resize") live.add(fn);
    return add.call(this, type, fn, options);
  };
  window.removeEventListener = function (type, fn, options) {
    if (type === "resize") live.delete(fn);
    return remove.call(this, type, fn, options);
  };
  window.__resizeListeners = () => live.size;
})();"""


def test_a_widget_rendered_again_adds_no_listener_and_its_arrows_still_follow_the_width(page, live_server, store):
    page.add_init_script(RESIZE_LISTENERS)
    page.set_viewport_size({"width": WIDTHS["phone"], "height": 800})
    page.goto(url(live_server, store, ""))
    host = ready_widget(page, "bestsellers")
    listeners = page.evaluate("window.__resizeListeners()")
    for _ in range(3):  # rendered again in place, as when the theme editor reloads the section
        host.evaluate("h => { delete h.dataset.pzState; document.dispatchEvent(new Event('shopify:section:load')); }")
        page.wait_for_selector('[data-personalize-widget="bestsellers"][data-pz-state="ready"]')
    assert page.evaluate("window.__resizeListeners()") == listeners, "one size watcher per widget, not per render"
    nxt = host.get_by_role("button", name=WORDS["en"]["next"])
    assert nxt.is_enabled()
    # Wider: the arrows say again whether there is more to scroll to (all the cards may fit now).
    page.set_viewport_size({"width": WIDTHS["desktop"], "height": 800})
    page.wait_for_function("""h => {
      const list = h.querySelector("ul.pz-list"), next = h.querySelectorAll(".pz-arrow")[1];
      return (list.scrollWidth - list.clientWidth - 2 > Math.abs(list.scrollLeft)) === !next.disabled;
    }""", arg=host.element_handle())
    assert host.locator("ul.pz-list").count() == 1
    assert page.watch.console_errors == [] and page.watch.page_errors == []

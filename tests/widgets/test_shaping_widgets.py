"""Shaping a widget in headless Chromium, in es and en, on a desktop and a 390 px phone: products picked by title
become chips, the live preview (the storefront script itself, in a frame) follows unsaved changes, and placement,
layout and card style reach the demo store; the product-rules screen picks by title with the same pickers."""
from __future__ import annotations

import pytest

from backend.demostore.sample import XSS_TITLE
from tests.dashboard.factories import member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("widgets-browser")]
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
WORDS = {"en": {"saved": "Saved.", "also": "Customers also bought", "add": "Add to cart"},
         "es": {"saved": "Guardado.", "also": "Los clientes también compraron", "add": "Añadir al carrito"}}


@pytest.fixture
def admin(request, browser, live_server, store):
    """A merchant signed in through the login form, on the screen size the test names (`size` parameter)."""
    size = request.node.callspec.params["size"]
    member(store.shop)
    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("dialog", lambda d: (page.errors.append(d.message), d.dismiss()))
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#username", "ana@example.com")
    page.fill("#password", "correct horse 42")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.width = SIZES[size]["width"]
    yield page
    assert page.errors == []
    context.close()


# Both languages and both sizes, crossed between the two tests (each flow runs twice, not four times).
def _pick(page, field: str, typed: str, title: str) -> None:
    box = page.locator(f"#{field}")
    box.scroll_into_view_if_needed()
    box.click()
    box.press_sequentially(typed, delay=20)
    # The search answers as one types: wait for the answer to the whole word (one product), then choose it.
    options = page.locator(f"#{field}-options [role=option]")
    options.filter(has_text=title).wait_for()
    page.wait_for_function(f"document.querySelectorAll('#{field}-options [role=option]').length === 1")
    box.press("ArrowDown")
    assert options.first.get_attribute("aria-selected") == "true"
    box.press("Enter")
    page.locator(f"#{field}-chips .chip", has_text=title).wait_for()


def _preview_title(page, widget: str) -> str:
    page.locator(f"iframe[data-preview={widget}]").scroll_into_view_if_needed()
    return page.frame_locator(f"iframe[data-preview={widget}]").locator("[data-pz-state=ready] .pz-title").inner_text()


def _preview_names(page, widget: str) -> list[str]:
    page.locator(f"iframe[data-preview={widget}]").scroll_into_view_if_needed()  # frames load lazily
    frame = page.frame_locator(f"iframe[data-preview={widget}]")
    frame.locator("[data-pz-state=ready]").wait_for()
    return [n.strip() for n in frame.locator(".pz-name").all_text_contents()]


@pytest.mark.parametrize(("lang", "size"), [("es", "desktop"), ("en", "phone")])
def test_pick_by_title_see_the_chip_and_the_preview_follow(admin, live_server, store, lang, size):
    admin.goto(f"{live_server.url}/admin/widgets/?lang={lang}")
    assert not admin.locator(".browse").first.is_visible()  # standalone: no Shopify resource picker to open
    # The preview starts on the product with most orders (the bottle): bestsellers leave it out, as on its page.
    assert "Day Backpack" in _preview_names(admin, "bestsellers")
    _pick(admin, "bestsellers-pinned_products", "backp", "Day Backpack")
    chip = admin.locator("#bestsellers-pinned_products-chips .chip")
    assert chip.locator("img").get_attribute("src").endswith("/demo/img/day-backpack.svg")
    # Not saved yet, and the preview already leads with the pinned product.
    admin.locator("iframe[data-preview=bestsellers]").scroll_into_view_if_needed()
    admin.wait_for_function("""() => {
        const f = document.querySelector('iframe[data-preview=bestsellers]').contentDocument;
        const n = f && f.querySelector('.pz-name');
        return n && n.textContent === 'Day Backpack';
    }""")
    # The title shown is the default one, in the field the merchant would type in.
    assert admin.input_value("#also_bought-title_" + lang) == WORDS[lang]["also"]
    admin.locator("#form-bestsellers button[type=submit]").click()
    admin.wait_for_selector("[role=status]")
    assert WORDS[lang]["saved"] in admin.locator("[role=status]").inner_text()
    assert admin.locator("#bestsellers-pinned_products-chips .chip").inner_text().strip().startswith("Day Backpack")
    assert _preview_names(admin, "bestsellers")[0] == "Day Backpack"
    assert admin.evaluate("document.documentElement.scrollWidth") <= admin.width

    # Preview another product: also-bought of the jacket, in the admin's language, as the shopper's card shows it.
    _pick(admin, "preview_product", "jack", "Trail Jacket")
    admin.locator("iframe[data-preview=also_bought]").scroll_into_view_if_needed()
    admin.wait_for_function("""() => {
        const f = document.querySelector('iframe[data-preview=also_bought]').contentDocument;
        const n = f && f.querySelector('[data-pz-state=ready] .pz-name');
        return n && n.textContent === 'Wool Hat';
    }""")
    frame = admin.frame_locator("iframe[data-preview=also_bought]")
    assert frame.locator(".pz-title").inner_text() == WORDS[lang]["also"]
    assert frame.locator(".pz-add").first.inner_text() == WORDS[lang]["add"]

    # Chips move and leave by keyboard: Alt+Left puts the hat first (and the preview follows), Delete removes it.
    chips = admin.locator("#bestsellers-pinned_products-chips .chip")
    _pick(admin, "bestsellers-pinned_products", "wool", "Wool Hat")
    chips.filter(has_text="Wool Hat").locator(".chip-remove").focus()
    admin.keyboard.press("Alt+ArrowLeft")
    assert [c.strip() for c in chips.locator(".chip-title").all_inner_texts()] == ["Wool Hat", "Day Backpack"]
    admin.locator("iframe[data-preview=bestsellers]").scroll_into_view_if_needed()
    admin.wait_for_function("""() => {
        const f = document.querySelector('iframe[data-preview=bestsellers]').contentDocument;
        const n = f && f.querySelectorAll('[data-pz-state=ready] .pz-name');
        return n && n.length > 1 && n[0].textContent === 'Wool Hat' && n[1].textContent === 'Day Backpack';
    }""")
    admin.keyboard.press("Delete")
    assert [c.strip() for c in chips.locator(".chip-title").all_inner_texts()] == ["Day Backpack"]
    assert admin.evaluate("document.activeElement.closest('.chip').dataset.id") == store.pid("day-backpack")

    # A hostile product title stays text, in the options and in its chip (the page's dialogs fail the test).
    _pick(admin, "also_bought-excluded_products", "<img", XSS_TITLE)
    assert admin.locator("#also_bought-excluded_products-chips .chip-title").inner_text() == XSS_TITLE


def _geometry(page, host: str) -> dict:
    """The rendered widget against its reserved box: no card's button below it (no shift, nothing cut); in a grid
    no card past its right edge either (a carousel cuts its last card on purpose)."""
    return page.evaluate("""(sel) => {
        const host = document.querySelector(sel), box = host.getBoundingClientRect();
        const list = host.querySelector('.pz-list');
        const shown = [...host.querySelectorAll('.pz-item')].filter(li => !li.hidden);
        const arrows = [...host.querySelectorAll('.pz-arrow')].filter(a => a.offsetParent !== null);
        return {height: box.height, reserved: parseFloat(getComputedStyle(host).height),
                classes: host.querySelector('.pz-box').className, arrows: arrows.length, shown: shown.length,
                sideways: list.scrollWidth > list.clientWidth + 1,
                inside: shown.every(li => li.querySelector('.pz-add').getBoundingClientRect().bottom
                                          <= box.bottom + .5),
                fits: shown.every(li => li.getBoundingClientRect().right <= box.right + .5)};
    }""", host)


@pytest.mark.parametrize(("lang", "size"), [("en", "desktop"), ("es", "phone")])
def test_placement_layout_and_card_style_reach_the_demo_store(admin, live_server, store, lang, size):
    admin.goto(f"{live_server.url}/admin/widgets/?lang={lang}")
    admin.uncheck("#also_bought-placement-cart")
    admin.locator("#form-also_bought button[type=submit]").click()
    admin.wait_for_selector("[role=status]")
    assert not admin.is_checked("#also_bought-placement-cart") and admin.is_checked("#also_bought-placement-product")

    admin.check("#bestsellers-layout-grid")
    admin.check("#bestsellers-card_style-compact")
    # The preview switches to the grid before anything is saved.
    admin.locator("iframe[data-preview=bestsellers]").scroll_into_view_if_needed()
    admin.frame_locator("iframe[data-preview=bestsellers]").locator(".pz-box.pz-grid.pz-st-compact").wait_for()
    admin.locator("#form-bestsellers button[type=submit]").click()
    admin.wait_for_selector("[role=status]")

    shop = f"{live_server.url}/demo/{store.shop.domain}"
    # Product page: also-bought stays a carousel with its arrows.
    admin.goto(f"{shop}/products/trail-jacket?lang={lang}")
    host = '[data-personalize-widget="also_bought"]'
    admin.locator(host).scroll_into_view_if_needed()
    admin.wait_for_selector(f'{host}[data-pz-state="ready"]')
    carousel = _geometry(admin, host)
    assert "pz-carousel" in carousel["classes"] and carousel["arrows"] == 2
    assert carousel["height"] == carousel["reserved"] and carousel["inside"]
    # Cart: the merchant took also-bought off the cart, so the page has no also-bought box (no empty box either);
    # "Recommended for you" stays where it is placed.
    admin.locator("form[action$='/cart/add'] button[type=submit]").click()
    admin.wait_for_url(f"{shop}/cart")
    assert "Trail Jacket" in admin.locator("main").inner_text()
    assert admin.locator('[data-personalize-widget="also_bought"]').count() == 0
    assert admin.locator('[data-personalize-widget="for_you"]').count() == 1
    # Home: bestsellers as a one-row grid of compact cards, in the reserved box, nothing to scroll, no arrows.
    admin.goto(f"{shop}/?lang={lang}")
    host = '[data-personalize-widget="bestsellers"]'
    admin.locator(host).scroll_into_view_if_needed()
    admin.wait_for_selector(f'{host}[data-pz-state="ready"]')
    grid = _geometry(admin, host)
    assert "pz-grid" in grid["classes"] and "pz-st-compact" in grid["classes"]
    assert grid["arrows"] == 0 and not grid["sideways"] and grid["inside"] and grid["fits"] and grid["shown"] >= 2
    assert grid["height"] == grid["reserved"]


APP_BRIDGE = """window.shopify = {
  idToken: function () { return Promise.resolve(%(token)s); },
  resourcePicker: function (options) {
    window.pickerAsked = options;
    return Promise.resolve([{id: "gid://shopify/Product/%(pid)s", title: "Day Backpack",
                             images: [{originalSrc: "/demo/img/day-backpack.svg"}]}]);
  }
};"""


def test_embedded_browse_opens_shopifys_resource_picker(browser, live_server, store):
    """Inside the Shopify admin (App Bridge routed to a local stand-in: no internet here), "Browse" opens Shopify's
    resource picker and its choice becomes a chip that saves; typing still searches with the session token."""
    import json

    from backend.storefront.rules import rule_for
    from tests.dashboard.factories import session_token

    token = session_token(store.shop, expires_in=600)
    context = browser.new_context(viewport=SIZES["desktop"])
    stub = APP_BRIDGE % {"token": json.dumps(token), "pid": store.pid("day-backpack")}
    context.route("https://cdn.shopify.com/**", lambda route: route.fulfill(
        status=200, content_type="text/javascript", body=stub))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/admin/widgets/?lang=es&id_token={token}")
    # The preview frame gets its address (with a fresh token from App Bridge) as it nears the screen.
    assert "Los más vendidos" in _preview_title(page, "bestsellers")
    browse = page.locator("#bestsellers-pinned_products ~ .browse")
    browse.click()
    page.locator("#bestsellers-pinned_products-chips .chip", has_text="Day Backpack").wait_for()
    assert page.evaluate("window.pickerAsked.type") == "product"
    _pick(page, "bestsellers-excluded_collections", "outd", "Outdoor")  # the local picker, with the bearer token
    page.locator("#form-bestsellers button[type=submit]").click()
    page.wait_for_selector("[role=status]")
    rule = rule_for(store.shop, "bestsellers")
    assert rule.pinned_product_ids == (store.products["day-backpack"].pk,)
    assert rule.excluded_collection_ids == {store.collection.pk}
    assert errors == []
    context.close()


def test_every_layout_and_card_style_shifts_no_layout(browser, live_server, store):
    """Grid or carousel, standard, compact or minimal cards: the rendered widget fills its reserved box exactly, so
    the page's layout-shift score stays 0 (the shopper's own view, every widget on the page)."""
    from backend.storefront.models import WidgetRule
    from backend.storefront.rules import invalidate
    from tests.widgets.browser import open_page
    from tests.widgets.test_storefront_widgets import CLS_OBSERVER, scroll_through, url

    for layout, style in (("grid", "compact"), ("carousel", "minimal")):  # standard carousel: test_storefront_widgets
        for widget in ("also_bought", "bestsellers"):
            WidgetRule.objects.for_shop(store.shop).update_or_create(
                shop=store.shop, widget=widget, defaults={"layout": layout, "card_style": style})
        invalidate(store.shop.pk)
        with open_page(browser) as page:  # a new shopper: payloads are cacheable for a minute, as for a CDN
            page.add_init_script(CLS_OBSERVER)
            for path in ("products/trail-jacket", "collections/outdoor"):
                page.goto(url(live_server, store, path))
                scroll_through(page)
                page.wait_for_function("[...document.querySelectorAll('[data-personalize-widget]')]"
                                       ".some(h => h.dataset.pzState === 'ready')")
                page.wait_for_timeout(300)  # late images would shift now, if anything could
                assert page.locator(f".pz-box.pz-{layout}.pz-st-{style}").count() >= 1, (layout, style, path)
                assert page.evaluate("window.__cls") == 0, (layout, style, path)
            assert page.watch.page_errors == []


@pytest.mark.parametrize(("lang", "size"), [("es", "phone")])
def test_product_rules_are_picked_by_title(admin, live_server, store, lang, size):
    """The product-rules screen uses the same pickers: a rule and a re-buyable product chosen by typing titles."""
    from backend.recommendations.complementary import complementary_for

    admin.goto(f"{live_server.url}/admin/product-rules/?lang={lang}")
    _pick(admin, "source_product", "trail", "Trail Jacket")
    _pick(admin, "target_products", "wool", "Wool Hat")
    _pick(admin, "target_collections", "outd", "Outdoor")
    admin.locator("#add-rule button[type=submit]").click()
    admin.wait_for_selector("[role=status]")
    assert admin.locator(".rule-list tr", has_text="Trail Jacket").locator("td").nth(1).inner_text() == \
        "Wool Hat, Outdoor"
    jacket, hat = store.products["trail-jacket"], store.products["wool-hat"]
    assert complementary_for(store.shop, jacket.pk, 4)[0] == hat.pk
    _pick(admin, "rebuy_product", "bott", "Water Bottle")
    admin.locator("#add-rebuyable button[type=submit]").click()
    admin.wait_for_selector("[role=status]")
    assert "Water Bottle" in admin.locator("#rebuyable .rule-list").inner_text()
    assert admin.evaluate("document.documentElement.scrollWidth") <= admin.width

"""Shaping a widget in headless Chromium, in es and en, on a desktop and a 390 px phone: products picked by title
become chips, the live preview (the storefront script itself, in a frame) follows unsaved changes, and placement,
layout and card style reach the demo store."""
from __future__ import annotations

import pytest

from tests.dashboard.factories import member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("widgets-browser")]
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
WORDS = {"en": {"saved": "Saved.", "also": "Customers also bought", "add": "Add to cart"},
         "es": {"saved": "Guardado.", "also": "Los clientes también compraron", "add": "Añadir al carrito"}}


@pytest.fixture(params=["desktop", "phone"])
def admin(request, browser, live_server, store):
    member(store.shop)
    context = browser.new_context(viewport=SIZES[request.param])
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("dialog", lambda d: (page.errors.append(d.message), d.dismiss()))
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#username", "ana@example.com")
    page.fill("#password", "correct horse 42")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.width = SIZES[request.param]["width"]
    yield page
    assert page.errors == []
    context.close()


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


def _preview_names(page, widget: str) -> list[str]:
    page.locator(f"iframe[data-preview={widget}]").scroll_into_view_if_needed()  # frames load lazily
    frame = page.frame_locator(f"iframe[data-preview={widget}]")
    frame.locator("[data-pz-state=ready]").wait_for()
    return [n.strip() for n in frame.locator(".pz-name").all_text_contents()]


@pytest.mark.parametrize("lang", ["es", "en"])
def test_pick_by_title_see_the_chip_and_the_preview_follow(admin, live_server, store, lang):
    admin.goto(f"{live_server.url}/admin/widgets/?lang={lang}")
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

    # Chips leave by keyboard: the remove button takes Delete, and focus moves on.
    remove = admin.locator("#bestsellers-pinned_products-chips .chip-remove")
    remove.focus()
    admin.keyboard.press("Delete")
    assert admin.locator("#bestsellers-pinned_products-chips .chip").count() == 0
    assert admin.evaluate("document.activeElement.id") == "bestsellers-pinned_products"


def test_a_hostile_title_stays_text_in_the_picker(admin, live_server, store):
    from backend.demostore.sample import XSS_TITLE

    admin.goto(f"{live_server.url}/admin/widgets/?lang=en")
    _pick(admin, "also_bought-excluded_products", "<img", XSS_TITLE)
    assert admin.locator("#also_bought-excluded_products-chips .chip-title").inner_text() == XSS_TITLE

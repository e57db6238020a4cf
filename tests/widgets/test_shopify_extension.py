"""The theme app extension is well-formed and reserves the same space as the demo store's copy of the embed."""
from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

from tests.widgets.bundle import DIST, ensure_built

# Same worker as the browser tests: they share one build of widgets/dist.
pytestmark = pytest.mark.xdist_group("widgets-browser")

EXTENSION = Path(__file__).resolve().parents[2] / "integrations" / "shopify" / "extension"
WIDGETS = ("also_bought", "recently_viewed", "bestsellers", "for_you")
BLOCKS = (*WIDGETS, "cart")  # cart: also-bought of the whole cart, on the cart page


def _schema(block: str) -> dict:
    text = (EXTENSION / "blocks" / f"{block}.liquid").read_text()
    return json.loads(re.search(r"{% schema %}(.*){% endschema %}", text, re.S).group(1))


def _flatten(data: dict, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for k, v in data.items():
        keys |= _flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
    return keys


def test_app_embed_loads_the_script_once_in_head_with_shop_context():
    text = (EXTENSION / "blocks" / "app-embed.liquid").read_text()
    assert _schema("app-embed")["target"] == "head"
    assert text.count("<script") == 1 and 'type="module"' in text and "'personalize.js' | asset_url" in text
    # Low priority: Lighthouse's simulation counts a high-priority script as render-blocking (a later first paint).
    assert '<script type="module" fetchpriority="low"' in text
    for attribute in ("data-shop", "data-locale", "data-currency", "data-customer", "data-key", "data-api"):
        assert attribute in text


@pytest.mark.parametrize("widget", WIDGETS)
def test_each_widget_is_an_app_block_with_editor_settings(widget):
    schema = _schema(widget)
    assert schema["target"] == "section"
    assert {"title", "limit", "height"} <= {s["id"] for s in schema["settings"]}
    assert f"widget: '{widget}'" in (EXTENSION / "blocks" / f"{widget}.liquid").read_text()
    assert {"title", "limit", "height"} <= {s["id"] for s in _schema("cart")["settings"]}


def test_reserved_space_matches_the_built_stylesheet():
    ensure_built()
    embed = (EXTENSION / "blocks" / "app-embed.liquid").read_text()
    inline = re.search(r'<style id="personalize-reserve">(.*?)(\{%|</style>)', embed, re.S).group(1)
    assert inline.strip() == (DIST / "personalize.css").read_text().strip()


def test_every_translation_exists_in_both_languages():
    locales = EXTENSION / "locales"
    for en, es in (("en.default.json", "es.json"), ("en.default.schema.json", "es.schema.json")):
        assert _flatten(json.loads((locales / en).read_text())) == _flatten(json.loads((locales / es).read_text()))
    used = set()
    for block in (*BLOCKS, "app-embed"):
        used |= set(re.findall(r'"t:([\w.]+)"', (EXTENSION / "blocks" / f"{block}.liquid").read_text()))
    assert used <= _flatten(json.loads((locales / "en.default.schema.json").read_text()))


def render_block(block: str, **context: object) -> str:
    """A block as the theme renders it: its Liquid (schema aside, which Shopify reads, never renders) with the
    snippet it renders, through a Liquid engine."""
    from liquid2 import Environment, FileSystemLoader

    env = Environment(loader=FileSystemLoader(EXTENSION / "snippets", ext=".liquid"))
    source = re.sub(r"{% schema %}.*?{% endschema %}", "", (EXTENSION / "blocks" / f"{block}.liquid").read_text(),
                    flags=re.S)
    settings = {s["id"]: s.get("default", "") for s in _schema(block)["settings"]}
    return env.from_string(source).render(block={"settings": settings, "shopify_attributes": ""}, **context)


def _cart(*product_ids: int) -> dict:
    return {"item_count": len(product_ids), "items": [{"product_id": pid} for pid in product_ids]}


def test_the_cart_block_names_the_carts_products_once_and_only_on_the_cart_page():
    schema = _schema("cart")
    assert schema["enabled_on"] == {"templates": ["cart"]} and schema["target"] == "section"
    html = render_block("cart", cart=_cart(9001, 9003, 9001))  # two lines of one product (two variants)
    (tag,) = re.findall(r"<div [^>]*data-personalize-widget[^>]*>", html)
    assert 'data-personalize-widget="also_bought"' in tag and 'data-cart="9001,9003"' in tag
    assert 'data-limit="8"' in tag
    # An empty cart: nothing to pair with, no placeholder (and no reserved space).
    assert "data-personalize-widget" not in render_block("cart", cart=_cart())


@pytest.mark.browser
def test_the_cart_block_shows_what_goes_with_the_cart(page, live_server, store):
    """The block's own markup on a cart page with the storefront script: also-bought of the cart's products."""
    jacket = store.products["trail-jacket"]
    block = render_block("cart", cart=_cart(int(jacket.platform_id)))
    cart_url = f"{live_server.url}/demo/{store.shop.domain}/cart"

    with urllib.request.urlopen(cart_url, timeout=10) as response:  # the demo store's cart page, as served
        html = response.read().decode()
    html, swapped = re.subn(r'<div data-personalize-widget="also_bought"[^>]*></div>', lambda _m: block, html)
    assert swapped == 1
    page.route(cart_url, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html))
    page.goto(cart_url)
    host = page.locator('[data-personalize-widget="also_bought"]')
    host.scroll_into_view_if_needed()
    page.wait_for_selector('[data-personalize-widget="also_bought"][data-pz-state="ready"]')
    shown = [t.strip() for t in host.locator("li .pz-name").all_text_contents()]
    assert set(shown[:2]) == {"Wool Hat", "Winter Gloves"}, shown  # bought with the jacket, not the bestsellers
    assert jacket.title not in shown
    assert page.watch.console_errors == [] and page.watch.page_errors == []


@pytest.mark.parametrize(("page_type", "expected"), [
    ("product", "product"), ("collection", "collection"), ("cart", "cart"), ("index", "home"),
    ("search", None), ("page", None),
])
def test_every_block_names_the_page_type_its_placement_is_checked_against(page_type, expected):
    """Liquid's request.page_type, as the widget API's `page` knows it; elsewhere no data-page (the script infers)."""
    context = {"request": {"page_type": page_type}, "product": {"id": 42}, "collection": {"id": 7},
               "cart": _cart(9001)}
    for block in BLOCKS:
        (tag,) = re.findall(r"<div [^>]*data-personalize-widget[^>]*>", render_block(block, **context))
        pages = re.findall(r'data-page="([^"]*)"', tag)
        assert pages == ([expected] if expected else []), (block, tag)

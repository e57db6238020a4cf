"""The WordPress plugin: valid PHP, a standard header and readme, the storefront markup the script expects, and
signed requests our app accepts. PHP runs for real (php-cli) with WordPress's functions stubbed (php/harness.php)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse

from backend.shops.models import Shop
from backend.storefront.access import customer_signature
from integrations.woocommerce.plugin_build import PLUGIN_DIR, build_zip

ROOT = Path(__file__).resolve().parents[3]
HARNESS = Path(__file__).parent / "php" / "harness.php"
PHP = shutil.which("php")
needs_php = pytest.mark.skipif(PHP is None, reason="php-cli missing: `apt-get install -y php-cli` (make setup does it)")


def php_files() -> list[Path]:
    return sorted(PLUGIN_DIR.rglob("*.php"))


def run_harness(mode: str, config: dict, app_url: str = "", env: dict | None = None) -> str:
    result = subprocess.run([PHP, str(HARNESS), mode, json.dumps(config), app_url], capture_output=True, text=True,
                            timeout=30, env=env, check=False)
    assert result.returncode == 0 and "Warning" not in result.stdout and "Notice" not in result.stdout, (
        result.stdout + result.stderr)
    return result.stdout


@needs_php
@pytest.mark.parametrize("path", php_files(), ids=lambda p: str(p.relative_to(PLUGIN_DIR)))
def test_php_lint(path):
    result = subprocess.run([PHP, "-l", str(path)], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_plugin_header_readme_and_blocks():
    header = (PLUGIN_DIR / "personalize.php").read_text()
    fields = dict(re.findall(r"^\s*\*\s*([A-Za-z ]+):\s*(.+)$", header, re.M))
    for required in ("Plugin Name", "Version", "Requires at least", "Requires PHP", "License", "Text Domain"):
        assert fields.get(required), required
    # WooCommerce flags a plugin as untested (and merchants hesitate) when this trails the running version.
    tested = tuple(int(n) for n in fields["WC tested up to"].strip().split("."))
    assert tested >= (11, 0), fields["WC tested up to"]
    readme = (PLUGIN_DIR / "readme.txt").read_text()
    assert readme.startswith("=== Personalize for WooCommerce ===")
    assert re.search(r"^Stable tag:\s*" + re.escape(fields["Version"].strip()) + r"$", readme, re.M)
    for section in ("== Description ==", "== Installation ==", "== Changelog =="):
        assert section in readme
    # Every PHP file refuses to run outside WordPress.
    for path in php_files():
        text = path.read_text()
        assert "defined( 'ABSPATH' ) || exit;" in text or "defined( 'WP_UNINSTALL_PLUGIN' ) || exit;" in text, path
    for block in PLUGIN_DIR.glob("blocks/*/block.json"):
        meta = json.loads(block.read_text())
        assert meta["name"].startswith("personalize/") and meta["apiVersion"] == 3


def test_plugin_zip_is_installable(tmp_path):
    target = build_zip(tmp_path)
    with zipfile.ZipFile(target) as zf:
        names = zf.namelist()
    assert "personalize/personalize.php" in names and "personalize/readme.txt" in names
    assert all(n.startswith("personalize/") for n in names)
    assert len([n for n in names if n.endswith(".php")]) == len(php_files())


CONFIG = {"connected": True, "public_key": "pk_abc-123", "shop": "shop.example.com", "currency": "EUR",
          "api_url": "https://app.example/api/storefront", "script_url": "https://app.example/static/personalize.js"}


def attributes(tag: str) -> dict[str, str]:
    return dict(re.findall(r'\s([a-z-]+)="([^"]*)"', tag))


@needs_php
def test_script_tag_matches_the_app_embed_contract():
    key = "ab" * 32
    out = run_harness("tag", {**CONFIG, "customer_signing_key": key})
    assert out.count("<script") == 2 and out.index("bridge()") < out.index('type="module"')
    tag = out[out.index('<script type="module"'):]
    attrs = attributes(tag)
    # The same data-* attributes as the demo store's embed (the widget browser tests run against that markup).
    embed = (ROOT / "templates" / "demostore" / "_app_embed.html").read_text()
    wanted = set(re.findall(r"\s(data-[a-z-]+)=", embed)) - {"data-consent"}
    assert wanted <= set(attrs)
    assert "data-personalize" in attrs and attrs["type"] == "module"
    assert (attrs["data-key"], attrs["data-locale"], attrs["data-currency"]) == ("pk_abc-123", "es-ES", "EUR")
    assert attrs["data-product"] == "4242" and attrs["data-customer"] == "7"
    # The customer signature is the one our storefront API checks (same key derivation as the app's).
    import hashlib
    import hmac

    assert attrs["data-customer-sig"] == hmac.new(bytes.fromhex(key), b"7", hashlib.sha256).hexdigest()


@needs_php
def test_placeholders_shortcodes_blocks_and_cart_events():
    out = run_harness("placeholders", CONFIG)
    widgets = re.findall(r'data-personalize-widget="([a-z_]+)"', out)
    assert widgets == ["also_bought", "recently_viewed", "bestsellers", "bestsellers",
                       "also_bought", "recently_viewed", "bestsellers"]
    assert "<script>alert" not in out and 'data-limit="24"' in out and 'data-limit="3"' in out
    events = run_harness("events", CONFIG).split("--")
    assert 'data-personalize-event="added_to_cart" data-product="31" data-quantity="2"' in events[0]
    assert "data-personalize-event" not in events[1], "reported once"
    # Not connected: no widgets.
    assert "data-personalize-widget" not in run_harness("placeholders", {}).split("\n", 4)[-1]


@needs_php
@pytest.mark.django_db
def test_plugin_signed_disconnect_is_accepted_by_the_app(client):
    shop = Shop(platform=Shop.Platform.WOOCOMMERCE, domain="shop.example.com")
    shop.access_token, shop.refresh_token = "ck_" + "1" * 40, "cs_" + "2" * 40
    shop.mark_installed()
    shop.save()
    import os

    sent = json.loads(run_harness("signed", CONFIG, "https://app.example",
                                  env={**os.environ, "PZ_SECRET": shop.refresh_token}))
    assert sent["url"] == "https://app.example/woocommerce/plugin/disconnect"
    # A forged copy (another secret) is refused; the plugin's own request is accepted.
    forged = json.loads(run_harness("signed", CONFIG, "https://app.example",
                                    env={**os.environ, "PZ_SECRET": "cs_" + "9" * 40}))
    url = reverse("woocommerce-plugin-disconnect")
    assert client.post(url, forged["body"], content_type="application/json",
                       HTTP_X_PERSONALIZE_SIGNATURE=forged["signature"]).status_code == 401
    shop.refresh_from_db()
    assert shop.is_active
    response = client.post(url, sent["body"], content_type="application/json",
                           HTTP_X_PERSONALIZE_SIGNATURE=sent["signature"])
    assert response.status_code == 200 and response.json()["status"] == "erased"
    assert not Shop.objects.filter(pk=shop.pk).exists()


@pytest.mark.django_db
def test_config_gives_the_customer_signing_key(client, woo_shop, standin):
    import time

    from integrations.woocommerce.auth import plugin_signature

    woo_shop.refresh_from_db()
    raw = json.dumps({"store_url": standin.url, "timestamp": int(time.time())}).encode()
    config = client.post(reverse("woocommerce-plugin-config"), raw, content_type="application/json",
                         HTTP_X_PERSONALIZE_SIGNATURE=plugin_signature(woo_shop.refresh_token, raw)).json()
    import hashlib
    import hmac

    sig = hmac.new(bytes.fromhex(config["customer_signing_key"]), b"42", hashlib.sha256).hexdigest()
    assert sig == customer_signature(woo_shop, "42")


@needs_php
@pytest.mark.django_db
def test_wordpress_personal_data_eraser_redacts_the_customer(client, woo_shop, standin):
    import os

    from backend.customers.models import Customer
    from integrations.woocommerce.sync import run_sync, start_sync

    run_sync(start_sync(woo_shop))
    woo_shop.refresh_from_db()
    customer = Customer.objects.for_shop(woo_shop).get(platform_id="2")
    assert customer.email
    sent = json.loads(run_harness("erase", CONFIG, "https://app.example",
                                  env={**os.environ, "PZ_SECRET": woo_shop.refresh_token}))
    assert sent["result"]["done"] and sent["url"].endswith("/woocommerce/plugin/redact-customer")
    body = json.loads(sent["body"])
    assert body["customer_id"] == "2" and body["email"] == "Ana.Garcia.0@example.com"
    # The harness's WordPress runs at https://shop.example.com; point the request at our stand-in's shop.
    body.update(store_url=standin.url, email=customer.email)
    raw = json.dumps(body).encode()
    from integrations.woocommerce.auth import plugin_signature

    url = reverse("woocommerce-plugin-redact")
    forged = client.post(url, raw, content_type="application/json",
                         HTTP_X_PERSONALIZE_SIGNATURE=plugin_signature("cs_" + "0" * 40, raw))
    assert forged.status_code == 401
    customer.refresh_from_db()
    assert customer.email and customer.redacted_at is None
    ok = client.post(url, raw, content_type="application/json",
                     HTTP_X_PERSONALIZE_SIGNATURE=plugin_signature(woo_shop.refresh_token, raw))
    assert ok.status_code == 200
    customer.refresh_from_db()
    assert customer.email == "" and customer.first_name == "" and customer.redacted_at is not None


def widgets_in(html: str) -> list[str]:
    return re.findall(r'data-personalize-widget="([a-z_]+)"', html)


@needs_php
def test_block_theme_pages_get_their_widgets():
    """Twenty Twenty-Five and the cart block fire no classic template hook: the widgets follow the blocks."""
    cart = run_harness("block-cart", CONFIG, env={**os.environ, "PZ_PRODUCT": "0"})
    assert widgets_in(cart) == ["bestsellers"]
    # After the cart block's own markup, outside the element its React app takes over.
    block_end = cart.index("</div></div>", cart.index("wp-block-woocommerce-empty-cart-block")) + len("</div></div>")
    assert cart.index('data-personalize-widget="bestsellers"') >= block_end

    product = run_harness("block-product", CONFIG, env={**os.environ, "PZ_PRODUCT": "4242"})
    assert widgets_in(product) == ["also_bought", "recently_viewed"], "once, after the product details"
    assert product.index("wp-block-woocommerce-product-details") < product.index("also_bought") < \
        product.index("Related products")
    assert 'data-product="4242"' in product[product.index("also_bought"):]

    category = run_harness("block-category", CONFIG, env={**os.environ, "PZ_PRODUCT": "0", "PZ_CATEGORY": "15",
                                                          "PZ_GRID": "101:Wool Hat"})
    assert widgets_in(category) == ["bestsellers"] and 'data-collection="15"' in category
    # Not connected: blocks render as they are.
    assert widgets_in(run_harness("block-cart", {}, env={**os.environ, "PZ_PRODUCT": "0"})) == []


def pages_in(html: str) -> list[str]:
    """Each placeholder's data-page ('' when it prints none)."""
    tags = re.findall(r"<div [^>]*data-personalize-widget[^>]*>", html)
    return [(re.search(r'data-page="([^"]*)"', t) or [None, ""])[1] for t in tags]


@needs_php
def test_placeholders_name_the_page_type_the_merchants_placement_is_checked_against():
    """WooCommerce's conditional tags say which page this is; other pages print no type (the script infers it)."""
    base = {**os.environ, "PZ_PRODUCT": "0"}
    assert pages_in(run_harness("block-product", CONFIG, env={**base, "PZ_PRODUCT": "4242"})) == ["product"] * 2
    category = run_harness("block-category", CONFIG, env={**base, "PZ_CATEGORY": "15", "PZ_GRID": "101:Wool Hat"})
    assert pages_in(category) == ["collection"]
    assert pages_in(run_harness("block-cart", CONFIG, env={**base, "PZ_CART": "1"})) == ["cart"]
    # A shortcode on the front page and on any other page (a blog post): home, then nothing.
    home = run_harness("placeholders", CONFIG, env={**base, "PZ_FRONT": "1"}).splitlines()
    assert pages_in(home[2]) == ["home"]
    other = run_harness("placeholders", CONFIG, env=base).splitlines()
    assert pages_in(other[2]) == [""] and "data-page" not in other[2]


@needs_php
def test_add_to_cart_is_recorded_for_every_path(tmp_path):
    """Store API (blocks) and AJAX adds are recorded server-side and handed to the script once, by the plugin's
    wc-ajax endpoint; WooCommerce 11's wc-blocks_added_to_cart carries no product, so the browser event cannot."""
    env = {**os.environ, "PZ_STATE": str(tmp_path / "site.json"), "PZ_PRODUCT": "0"}
    # The site's options hold a connected config, fetched recently (no refresh is due).
    (tmp_path / "site.json").write_text(json.dumps({"options": {"personalize_config": CONFIG,
                                                                "personalize_config_at": 4102444800}}))
    run_harness("store-api-add", CONFIG, env={**env, "PZ_BODY": json.dumps({"id": 31, "quantity": 2})})
    run_harness("store-api-add", CONFIG, env={**env, "PZ_BODY": json.dumps({"id": 77, "quantity": 1})})
    drained = json.loads(run_harness("wc-ajax", CONFIG, env={**env, "PZ_WC_AJAX": "personalize_cart_events"}))
    assert [(e["product"], e["quantity"]) for e in drained["events"]] == [("31", 2), ("77", 1)]
    assert len({e["id"] for e in drained["events"]}) == 2  # the script hands each id on once
    again = json.loads(run_harness("wc-ajax", CONFIG, env={**env, "PZ_WC_AJAX": "personalize_cart_events"}))
    assert again == {"events": []}, "each add is handed out once"
    # The page's bridge asks that endpoint on the store's own origin after any in-page add.
    page = run_harness("block-cart", CONFIG, env=env)
    assert '"https:\\/\\/shop.example.com\\/?wc-ajax=personalize_cart_events"' in page
    assert 'addEventListener("wc-blocks_added_to_cart",drain)' in page


@needs_php
def test_a_widget_cards_store_api_add_is_left_to_the_script(tmp_path):
    """A widget card adds through the Store API with `X-Personalize-Widget` and records the add itself, with its
    widget: the plugin's hook must not queue it as well (it came back on the next page as a second add)."""
    env = {**os.environ, "PZ_STATE": str(tmp_path / "site.json"), "PZ_PRODUCT": "0"}
    (tmp_path / "site.json").write_text(json.dumps({"options": {"personalize_config": CONFIG,
                                                                "personalize_config_at": 4102444800}}))
    run_harness("store-api-add", CONFIG, env={**env, "PZ_BODY": json.dumps({"id": 31, "quantity": 1}),
                                              "PZ_HEADERS": json.dumps({"X-Personalize-Widget": "also_bought"})})
    run_harness("store-api-add", CONFIG, env={**env, "PZ_BODY": json.dumps({"id": 77, "quantity": 1})})
    drained = json.loads(run_harness("wc-ajax", CONFIG, env={**env, "PZ_WC_AJAX": "personalize_cart_events"}))
    assert [e["product"] for e in drained["events"]] == ["77"], "only the add the script did not record itself"


@needs_php
def test_plugin_pages_have_no_render_blocking_resource_of_the_app():
    """The reserved space is inlined from the plugin's own folder (a stylesheet from the app's origin held up first
    paint), the script is a module (deferred), and the browser connects to the app's origin early."""
    page = run_harness("block-product", CONFIG, env={**os.environ, "PZ_PRODUCT": "4242"})
    head = page[:page.index("</head>")]
    assert "app.example" not in "".join(re.findall(r"<link[^>]*stylesheet[^>]*>", head))
    inline = re.search(r'<style id="personalize-storefront-inline-css">(.*?)</style>', head, re.S)
    built = (ROOT / "widgets" / "dist" / "personalize.css").read_text().strip()
    shipped = (PLUGIN_DIR / "assets" / "personalize.css").read_text().strip()
    assert inline and inline.group(1).strip() == built == shipped
    assert "[data-personalize-widget]{" in built
    # Every script of ours in <head> is a module or inline: none blocks the parser.
    # Fetched at low priority: Lighthouse's simulation counts a high-priority script as render-blocking.
    for tag in re.findall(r"<script[^>]*\bsrc=[^>]*>", head):
        assert 'type="module"' in tag and 'fetchpriority="low"' in tag, tag
    assert "<link rel='preconnect' href='https://app.example' crossorigin='anonymous' />" in head
    assert head.index("preconnect") < head.index('type="module"')
    # Not connected: neither the hint nor the style.
    off = run_harness("block-product", {}, env={**os.environ, "PZ_PRODUCT": "4242"})
    assert "preconnect" not in off and "personalize-storefront-inline-css" not in off

"""The theme app extension is well-formed and reserves the same space as the demo store's copy of the embed."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.widgets.bundle import DIST, ensure_built

# Same worker as the browser tests: they share one build of widgets/dist.
pytestmark = pytest.mark.xdist_group("widgets-browser")

EXTENSION = Path(__file__).resolve().parents[2] / "integrations" / "shopify" / "extension"
WIDGETS = ("also_bought", "recently_viewed", "bestsellers", "for_you")


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
    for attribute in ("data-shop", "data-locale", "data-currency", "data-customer", "data-key", "data-api"):
        assert attribute in text


@pytest.mark.parametrize("widget", WIDGETS)
def test_each_widget_is_an_app_block_with_editor_settings(widget):
    schema = _schema(widget)
    assert schema["target"] == "section"
    assert {"title", "limit", "height"} <= {s["id"] for s in schema["settings"]}
    assert f"widget: '{widget}'" in (EXTENSION / "blocks" / f"{widget}.liquid").read_text()


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
    for block in (*WIDGETS, "app-embed"):
        used |= set(re.findall(r'"t:([\w.]+)"', (EXTENSION / "blocks" / f"{block}.liquid").read_text()))
    assert used <= _flatten(json.loads((locales / "en.default.schema.json").read_text()))

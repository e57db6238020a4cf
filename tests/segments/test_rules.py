"""Rule trees: what is refused and why, and how a merchant reads them."""
from __future__ import annotations

import pytest

from backend.segments.presets import PRESETS
from backend.segments.rules import MAX_DEPTH, MAX_NODES, RuleError, summarize, validate


def _errors(rule) -> list[dict]:
    with pytest.raises(RuleError) as exc:
        validate(rule)
    return exc.value.errors


def test_unknown_field_and_operator_are_named_with_their_path():
    errs = _errors({"all": [{"field": "shoe_size", "op": "eq", "value": 42},
                            {"field": "orders_count", "op": "contains", "value": 1}]})
    assert errs[0]["path"] == "all[0].field" and "unknown field 'shoe_size'" in errs[0]["en"]
    assert "campo desconocido" in errs[0]["es"]
    assert errs[1]["path"] == "all[1].op" and "gte" in errs[1]["en"]


@pytest.mark.parametrize("leaf, fragment", [
    ({"field": "orders_count", "op": "gte", "value": "2"}, "must be a number"),
    ({"field": "orders_count", "op": "gte", "value": True}, "must be a number"),
    ({"field": "orders_count", "op": "gte", "value": float("nan")}, "must be a number"),
    ({"field": "orders_count", "op": "between", "value": [5, 2]}, "low must not exceed high"),
    ({"field": "country", "op": "in", "value": []}, "list of 1 to"),
    ({"field": "country", "op": "eq", "value": "Spain"}, "two-letter"),
    ({"field": "value_tier", "op": "eq", "value": "gold"}, "one of vip"),
    ({"field": "cart_abandoned", "op": "is", "value": "yes"}, "true or false"),
    ({"field": "viewed_collection", "op": "viewed", "value": 3, "days": 9999}, "1 to 365"),
    ({"field": "orders_count", "op": "gte"}, "is missing"),
    ({"field": "orders_count", "op": "gte", "value": 1, "sql": "drop"}, "unknown keys"),
    ({"field": "days_since_last_order", "op": "eq", "value": 3}, "does not apply"),
])
def test_bad_values_are_refused(leaf, fragment):
    assert any(fragment in e["en"] for e in _errors(leaf)), _errors(leaf)


def test_depth_and_size_caps():
    deep = {"field": "orders_count", "op": "gte", "value": 1}
    for _ in range(MAX_DEPTH):
        deep = {"not": deep}
    assert any("nested too deeply" in e["en"] for e in _errors(deep))
    wide = {"any": [{"field": "orders_count", "op": "eq", "value": i} for i in range(MAX_NODES + 5)]}
    assert any("too many conditions" in e["en"] for e in _errors(wide))
    assert _errors([])[0]["en"] == "must be an object"
    assert any("exactly one key" in e["en"] for e in _errors({"all": [], "any": []}))
    assert any("non-empty list" in e["en"] for e in _errors({"all": []}))


def test_summary_in_english_and_spanish():
    rule = {"all": [
        {"field": "orders_count", "op": "gte", "value": 2},
        {"any": [{"field": "country", "op": "in", "value": ["es", "MX"]},
                 {"not": {"field": "tag", "op": "has", "value": "wholesale"}}]},
        {"field": "viewed_collection", "op": "viewed", "value": 7},
        {"field": "total_spent", "op": "between", "value": [100, 1000.5]},
    ]}
    validate(rule)
    en = summarize(rule, "en", default_days=30, collection_names={7: "Shoes"})
    es = summarize(rule, "es", default_days=30, collection_names={7: "Shoes"})
    assert en == ("orders is at least 2 and (country is one of ES, MX or not (customer tag includes “wholesale”)) "
                  "and viewed collection Shoes in the last 30 days and total spent is between 100.00 and 1,000.50")
    assert es == ("pedidos es al menos 2 y (país es uno de ES, MX o no (etiqueta de cliente incluye “wholesale”)) "
                  "y vio la colección Shoes en los últimos 30 días y total gastado está entre 100.00 y 1,000.50")


def test_every_preset_is_valid_and_readable():
    for preset in PRESETS.values():
        validate(preset.rule)
        assert summarize(preset.rule, "en") and summarize(preset.rule, "es")
    assert summarize(PRESETS["repeat-buyers"].rule, "es") == "pedidos es al menos 2"
    assert summarize(PRESETS["cart-abandoners"].rule, "en") == "abandoned a cart"

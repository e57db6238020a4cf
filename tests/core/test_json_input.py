"""The one reader of outside JSON: caps, UTF-8, depth before parsing, strict JSON, reasons and statuses."""
from __future__ import annotations

import json
import time

import pytest

from backend.core.json_input import JsonInputError, depth_of, parse_json


@pytest.mark.parametrize("raw, depth", [
    (b"1", 0), (b"[]", 1), (b"[[1], {\"a\": [2]}]", 3), (b'["[[[[[[", "]]]"]', 1),
    (b'{"a": "\\"[[[[", "b": [[]]}', 3),
])
def test_depth_skips_strings(raw, depth):
    assert depth_of(raw, 0) == depth


def test_depth_within_the_limit_is_parsed_and_past_it_refused():
    nested = b"[" * 10 + b"]" * 10
    assert parse_json(nested, max_bytes=100, max_depth=10) == json.loads(nested)
    with pytest.raises(JsonInputError) as refused:
        parse_json(nested, max_bytes=100, max_depth=9)
    assert refused.value.status == 400 and "deeper than 9" in refused.value.reason


@pytest.mark.parametrize("raw, status, reason", [
    (b"[" * 3000 + b"]" * 3000, 400, "body nests deeper than 64 levels"),
    (b"{" * 3000, 400, "body nests deeper than 64 levels"),  # unbalanced counts as too deep
    (b'{"a": "\xff"}', 400, "body is not UTF-8"),
    (b'{"a": NaN}', 400, "body is not JSON"),
    (b'{"a": 1e999}', 400, "body is not JSON"),
    (b'"\\ud800"', 400, "body is not JSON"),  # an unpaired surrogate could not be stored or encoded later
    (b'{"a": "x\\u0000y"}', 400, "body contains a NUL character"),
    (b"x" * 101, 413, "body larger than 100 bytes"),
])
def test_refusals_carry_status_and_reason(raw, status, reason):
    with pytest.raises(JsonInputError) as refused:
        parse_json(raw, max_bytes=100 if status == 413 else 10_000)
    assert (refused.value.status, refused.value.reason) == (status, reason)
    assert isinstance(refused.value, ValueError)


def test_large_legitimate_payload_parses_like_the_standard_library():
    order = {"id": 1, "line_items": [{"id": i, "title": "Jacket \u00e9 [x] {y}", "tax_lines": [{"price_set": {
        "shop_money": {"amount": "1.00"}}}]} for i in range(2000)]}
    raw = json.dumps(order).encode()
    assert parse_json(raw, max_bytes=len(raw)) == order


def test_a_five_megabyte_bracket_bomb_is_refused_in_well_under_a_second():
    bomb = b"[" * (5 * 1024 * 1024 // 2) + b"]" * (5 * 1024 * 1024 // 2)
    parse_json(b"[[1]]", max_bytes=10)  # warm the lazy import
    started = time.perf_counter()
    with pytest.raises(JsonInputError):
        parse_json(bomb, max_bytes=len(bomb))
    assert time.perf_counter() - started < 1.0

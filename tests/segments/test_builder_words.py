"""The builder names a problem's place in words a merchant reads, never the rule's JSON path."""
from __future__ import annotations

import pytest
from django.utils import translation

from backend.segments.views import error_place


@pytest.mark.parametrize(("path", "en", "es"), [
    ("all[1].value", "condition 2, value", "condición 2, valor"),
    # A "between" bound: the index inside the value is not a condition number.
    ("all[0].value[1]", "condition 1, second value", "condición 1, segundo valor"),
    ("all[0].value[0]", "condition 1, first value", "condición 1, primer valor"),
    ("any[2].value[7]", "condition 3, value 8", "condición 3, valor 8"),
    ("all[0].any[1].op", "condition 1.2, operator", "condición 1.2, operador"),
    ("rule.value", "Rule, value", "Regla, valor"),
    ("rule", "Rule", "Regla"),
])
def test_error_place_reads_as_words(path, en, es):
    with translation.override("en"):
        assert error_place(path) == en
    with translation.override("es"):
        assert error_place(path) == es

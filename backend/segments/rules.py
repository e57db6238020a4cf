"""The segment rule tree: its JSON schema, validation with clear errors, and a summary a merchant can read (es/en).

A rule is a node:
    {"all": [node, ...]}  every child matches          {"any": [node, ...]}  at least one child matches
    {"not": node}         the child does not match
    {"field": "orders_count", "op": "gte", "value": 2}  a condition on one profile attribute
    {"field": "viewed_collection", "op": "viewed", "value": 12, "days": 30}  (days optional: the shop's window)
Unknown fields or operators, wrong value types, trees deeper than MAX_DEPTH or larger than MAX_NODES are refused.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 6
MAX_NODES = 60
MAX_LIST = 50
MAX_TEXT = 64
TIERS = ("vip", "high", "medium", "low")
CHANNELS = ("online", "pos", "marketplace", "draft", "other")

NUMBER_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "between")
DAYS_OPS = ("gt", "gte", "lt", "lte", "between")  # days are continuous: equality would never match


@dataclass(frozen=True)
class Field:
    kind: str  # number | money | days | bool | country | tag | channel | tier | collection
    group: str  # attributes | behaviour | engagement | predicted (how the builder groups them)
    en: str
    es: str
    column: str = ""  # the CustomerProfile column it reads (days: the timestamp)
    minimum: float = 0
    maximum: float = 1e9
    true_en: str = ""
    true_es: str = ""
    false_en: str = ""
    false_es: str = ""


FIELDS: dict[str, Field] = {
    # profile attributes
    "country": Field("country", "attributes", "country", "país", "country"),
    "tag": Field("tag", "attributes", "customer tag", "etiqueta de cliente", "tags_text"),
    "is_known": Field("bool", "attributes", "", "", "is_known",
                      true_en="is a known customer", true_es="es un cliente identificado",
                      false_en="is an anonymous visitor", false_es="es un visitante anónimo"),
    "accepts_marketing": Field("bool", "attributes", "", "", "accepts_marketing",
                               true_en="accepts marketing", true_es="acepta marketing",
                               false_en="does not accept marketing", false_es="no acepta marketing"),
    "channel": Field("channel", "attributes", "bought through", "compró por", "channels"),
    # behaviour
    "orders_count": Field("number", "behaviour", "orders", "pedidos", "orders_count", 0, 1e6),
    "total_spent": Field("money", "behaviour", "total spent", "total gastado", "total_spent", -1e9, 1e9),
    "aov": Field("money", "behaviour", "average order value", "valor medio del pedido", "aov", -1e9, 1e9),
    "days_since_last_order": Field("days", "behaviour", "days since last order", "días desde el último pedido",
                                   "last_order_at", 0, 36500),
    "days_since_first_order": Field("days", "behaviour", "days since first order", "días desde el primer pedido",
                                    "first_order_at", 0, 36500),
    "cart_abandoned": Field("bool", "behaviour", "", "", "",
                            true_en="abandoned a cart", true_es="abandonó un carrito",
                            false_en="has no abandoned cart", false_es="no tiene un carrito abandonado"),
    "viewed_collection": Field("collection", "behaviour", "viewed collection", "vio la colección"),
    "r_score": Field("number", "behaviour", "recency score (1-5)", "puntuación de recencia (1-5)", "r_score", 0, 5),
    "f_score": Field("number", "behaviour", "frequency score (1-5)", "puntuación de frecuencia (1-5)",
                     "f_score", 0, 5),
    "m_score": Field("number", "behaviour", "monetary score (1-5)", "puntuación monetaria (1-5)", "m_score", 0, 5),
    # engagement
    "sessions_count": Field("number", "engagement", "visits", "visitas", "sessions_count", 0, 1e7),
    "events_count": Field("number", "engagement", "storefront events", "eventos en la tienda", "events_count",
                          0, 1e9),
    "days_since_last_seen": Field("days", "engagement", "days since last visit", "días desde la última visita",
                                  "last_seen_at", 0, 36500),
    # predicted value
    "p_alive": Field("number", "predicted", "probability still active", "probabilidad de seguir activo",
                     "p_alive", 0, 1),
    "expected_orders_365": Field("number", "predicted", "expected orders next 365 days",
                                 "pedidos esperados en 365 días", "expected_orders_365", 0, 1e6),
    "expected_value_90": Field("money", "predicted", "predicted value next 90 days",
                               "valor previsto en 90 días", "expected_value_90", 0, 1e9),
    "expected_value_365": Field("money", "predicted", "predicted value next 365 days",
                                "valor previsto en 365 días", "expected_value_365", 0, 1e9),
    "value_percentile": Field("number", "predicted", "value percentile in the shop",
                              "percentil de valor en la tienda", "value_percentile", 0, 100),
    "value_tier": Field("tier", "predicted", "value tier", "nivel de valor", "value_tier"),
}

OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "number": NUMBER_OPS,
    "money": NUMBER_OPS,
    "days": DAYS_OPS,
    "bool": ("is",),
    "country": ("eq", "ne", "in", "not_in"),
    "tag": ("has", "not_has"),
    "channel": ("has", "not_has"),
    "tier": ("eq", "ne", "in", "not_in"),
    "collection": ("viewed", "not_viewed"),
}

OP_WORDS = {
    "eq": ("is", "es"), "ne": ("is not", "no es"), "gt": ("is more than", "es mayor que"),
    "gte": ("is at least", "es al menos"), "lt": ("is less than", "es menor que"),
    "lte": ("is at most", "es como máximo"), "between": ("is between", "está entre"),
    "in": ("is one of", "es uno de"), "not_in": ("is none of", "no es ninguno de"),
    "has": ("includes", "incluye"), "not_has": ("does not include", "no incluye"),
}
TIER_WORDS = {"vip": ("VIP", "VIP"), "high": ("high", "alto"), "medium": ("medium", "medio"), "low": ("low", "bajo")}
CHANNEL_WORDS = {"online": ("online store", "tienda online"), "pos": ("point of sale", "punto de venta"),
                 "marketplace": ("marketplace", "marketplace"), "draft": ("draft order", "pedido borrador"),
                 "other": ("other", "otro")}


class RuleError(ValueError):
    """A rule tree was refused; `errors` holds one {path, en, es} per problem."""

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{e['path']}: {e['en']}" for e in errors))


def _err(errors: list, path: str, en: str, es: str) -> None:
    errors.append({"path": path or "rule", "en": en, "es": es})


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_scalar(spec: Field, value: Any, path: str, errors: list) -> None:
    if spec.kind in ("number", "money", "days"):
        if not _is_number(value):
            _err(errors, path, "must be a number", "debe ser un número")
        elif not spec.minimum <= value <= spec.maximum:
            _err(errors, path, f"must be between {spec.minimum:g} and {spec.maximum:g}",
                 f"debe estar entre {spec.minimum:g} y {spec.maximum:g}")
    elif spec.kind == "country":
        if not (isinstance(value, str) and len(value) == 2 and value.isalpha() and value.isascii()):
            _err(errors, path, "must be a two-letter country code", "debe ser un código de país de dos letras")
    elif spec.kind == "tier":
        if value not in TIERS:
            _err(errors, path, f"must be one of {', '.join(TIERS)}", f"debe ser uno de {', '.join(TIERS)}")
    elif spec.kind == "tag":
        if not (isinstance(value, str) and 0 < len(value.strip()) <= MAX_TEXT and "|" not in value):
            _err(errors, path, f"must be a tag of 1 to {MAX_TEXT} characters without '|'",
                 f"debe ser una etiqueta de 1 a {MAX_TEXT} caracteres sin '|'")
    elif spec.kind == "channel" and value not in CHANNELS:
        _err(errors, path, f"must be one of {', '.join(CHANNELS)}", f"debe ser uno de {', '.join(CHANNELS)}")
    elif spec.kind == "collection" and not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        _err(errors, path, "must be a collection id", "debe ser el id de una colección")


def _check_leaf(node: dict, path: str, errors: list) -> None:
    path = path or "rule"
    allowed = {"field", "op", "value", "days"}
    extra = set(node) - allowed
    if extra:
        _err(errors, path, f"unknown keys: {', '.join(sorted(map(str, extra)))}",
             f"claves desconocidas: {', '.join(sorted(map(str, extra)))}")
    name = node.get("field")
    spec = FIELDS.get(name) if isinstance(name, str) else None
    if spec is None:
        _err(errors, f"{path}.field", f"unknown field {str(name)[:40]!r}", f"campo desconocido {str(name)[:40]!r}")
        return
    op = node.get("op")
    ops = OPS_BY_KIND[spec.kind]
    if op not in ops:
        _err(errors, f"{path}.op", f"operator {str(op)[:20]!r} does not apply to {name}; use one of {', '.join(ops)}",
             f"el operador {str(op)[:20]!r} no se aplica a {name}; usa uno de {', '.join(ops)}")
        return
    if "value" not in node:
        _err(errors, f"{path}.value", "is missing", "falta")
        return
    value = node["value"]
    vpath = f"{path}.value"
    if op == "between":
        if not (isinstance(value, list) and len(value) == 2):
            _err(errors, vpath, "must be a list [low, high]", "debe ser una lista [mínimo, máximo]")
            return
        for i, v in enumerate(value):
            _check_scalar(spec, v, f"{vpath}[{i}]", errors)
        if all(_is_number(v) for v in value) and value[0] > value[1]:
            _err(errors, vpath, "low must not exceed high", "el mínimo no puede superar el máximo")
    elif op in ("in", "not_in"):
        if not (isinstance(value, list) and 0 < len(value) <= MAX_LIST):
            _err(errors, vpath, f"must be a list of 1 to {MAX_LIST} values",
                 f"debe ser una lista de 1 a {MAX_LIST} valores")
            return
        for i, v in enumerate(value):
            _check_scalar(spec, v, f"{vpath}[{i}]", errors)
    elif spec.kind == "bool":
        if not isinstance(value, bool):
            _err(errors, vpath, "must be true or false", "debe ser verdadero o falso")
    else:
        _check_scalar(spec, value, vpath, errors)
    if "days" in node:
        days = node["days"]
        if spec.kind != "collection":
            _err(errors, f"{path}.days", "only applies to viewed_collection", "solo se aplica a viewed_collection")
        elif not (isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= 365):
            _err(errors, f"{path}.days", "must be a whole number of days from 1 to 365",
                 "debe ser un número entero de días de 1 a 365")


def validate(rule: Any) -> dict:
    """Return the rule if valid, else raise RuleError listing every problem found."""
    errors: list[dict[str, str]] = []
    count = 0

    def walk(node: Any, path: str, depth: int) -> None:
        nonlocal count
        count += 1
        if count > MAX_NODES:
            if count == MAX_NODES + 1:
                _err(errors, "rule", f"too many conditions (at most {MAX_NODES})",
                     f"demasiadas condiciones (máximo {MAX_NODES})")
            return
        if depth > MAX_DEPTH:
            _err(errors, path, f"nested too deeply (at most {MAX_DEPTH} levels)",
                 f"anidado demasiado (máximo {MAX_DEPTH} niveles)")
            return
        if not isinstance(node, dict) or not node:
            _err(errors, path, "must be an object", "debe ser un objeto")
            return
        groups = [k for k in ("all", "any", "not") if k in node]
        if groups:
            if len(node) != 1:
                _err(errors, path, "a group has exactly one key: all, any or not",
                     "un grupo tiene exactamente una clave: all, any o not")
                return
            key = groups[0]
            child = node[key]
            if key == "not":
                walk(child, f"{path}.not" if path else "not", depth + 1)
                return
            if not isinstance(child, list) or not child:
                _err(errors, f"{path}.{key}" if path else key, "must be a non-empty list",
                     "debe ser una lista no vacía")
                return
            for i, c in enumerate(child):
                walk(c, f"{path}.{key}[{i}]" if path else f"{key}[{i}]", depth + 1)
            return
        _check_leaf(node, path, errors)

    walk(rule, "", 1)
    if errors:
        raise RuleError(errors)
    return rule


def fields_catalog(lang: str = "en") -> list[dict]:
    """What the builder offers: each field with its group, label and operators."""
    es = lang.startswith("es")
    out = []
    for name, spec in FIELDS.items():
        label = (spec.es if es else spec.en) or (spec.true_es if es else spec.true_en)
        out.append({"field": name, "kind": spec.kind, "group": spec.group, "label": label,
                    "ops": list(OPS_BY_KIND[spec.kind]), "min": spec.minimum, "max": spec.maximum,
                    "step": _step(name, spec)})
    return out


def _step(name: str, spec: Field) -> str:
    """The builder's number inputs refuse what validation would: counts and days are whole, money has cents."""
    if spec.kind == "money" or (spec.kind == "number" and spec.maximum <= 1):
        return "0.01"
    if name.startswith("expected_"):
        return "any"
    return "1"


def _fmt(spec: Field, value: Any, es: bool, collection_names: dict[int, str],
         money: Callable[[float], str] | None = None) -> str:
    if spec.kind == "money":
        return money(value) if money else f"{value:,.2f}"
    if spec.kind in ("number", "days"):
        return f"{value:g}"
    if spec.kind == "tier":
        return TIER_WORDS[value][1 if es else 0]
    if spec.kind == "channel":
        return CHANNEL_WORDS[value][1 if es else 0]
    if spec.kind == "country":
        return str(value).upper()
    if spec.kind == "collection":
        return collection_names.get(value) or f"#{value}"
    return f"“{value}”"


def _leaf_summary(node: dict, es: bool, default_days: int, names: dict[int, str],
                  money: Callable[[float], str] | None = None) -> str:
    spec = FIELDS[node["field"]]
    op, value = node["op"], node["value"]
    if spec.kind == "bool":
        if es:
            return spec.true_es if value else spec.false_es
        return spec.true_en if value else spec.false_en
    if spec.kind == "collection":
        days = node.get("days", default_days)
        coll = _fmt(spec, value, es, names)
        if es:
            verb = "vio" if op == "viewed" else "no vio"
            return f"{verb} la colección {coll} en los últimos {days} días"
        verb = "viewed" if op == "viewed" else "did not view"
        return f"{verb} collection {coll} in the last {days} days"
    label = spec.es if es else spec.en
    words = OP_WORDS[op][1 if es else 0]
    if op == "between":
        joiner = " y " if es else " and "
        low, high = _fmt(spec, value[0], es, names, money), _fmt(spec, value[1], es, names, money)
        return f"{label} {words} {low}{joiner}{high}"
    if op in ("in", "not_in"):
        return f"{label} {words} " + ", ".join(_fmt(spec, v, es, names) for v in value)
    return f"{label} {words} {_fmt(spec, value, es, names, money)}"


def summarize(rule: dict, lang: str = "en", default_days: int = 30,
              collection_names: dict[int, str] | None = None, money: Callable[[float], str] | None = None) -> str:
    """One sentence for a validated rule, e.g. "orders is at least 2 and days since last order is more than 60".

    `money` writes an amount in the shop's currency ("100,00 €"); without it amounts are bare numbers."""
    es = lang.startswith("es")
    names = collection_names or {}

    def walk(node: dict, top: bool) -> str:
        if "all" in node or "any" in node:
            key = "all" if "all" in node else "any"
            parts = [walk(c, False) for c in node[key]]
            if len(parts) == 1:
                return parts[0]
            joiner = (" y " if key == "all" else " o ") if es else (" and " if key == "all" else " or ")
            text = joiner.join(parts)
            return text if top else f"({text})"
        if "not" in node:
            inner = walk(node["not"], False)
            inner = inner if inner.startswith("(") else f"({inner})"
            return f"no {inner}" if es else f"not {inner}"
        return _leaf_summary(node, es, default_days, names, money)

    return walk(rule, True)

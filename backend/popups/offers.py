"""Which offer a leaving shopper gets: the campaign's ordered rules over the shopper's segment keys.

Rules are matched first to last; the first whose `when` is one of the shopper's keys ("visitors:new",
"visitors:returning", "tier:vip", "segment:<slug>", ...) wins, else the default offer (or none).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

FREE_SHIPPING = "free_shipping"
PERCENT = "percent"
KINDS = (FREE_SHIPPING, PERCENT)
MAX_PERCENT = 90


@dataclass(frozen=True)
class Offer:
    kind: str
    value: Decimal  # percent off; 0 for free shipping
    rule: str = "default"  # which rule chose it ("default" or the rule's `when`)

    @property
    def pool(self) -> tuple[str, Decimal]:
        return (self.kind, self.value)

    def as_json(self) -> dict:
        return {"kind": self.kind, "value": float(self.value)}


def parse_offer(raw: object, rule: str = "default") -> Offer | None:
    """An Offer from stored JSON, or None when it is empty or malformed (validation refuses those on save)."""
    if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
        return None
    try:
        value = Decimal(str(raw.get("value", 0) or 0)).quantize(Decimal("0.01"))
    except ArithmeticError:
        return None
    if raw["kind"] == FREE_SHIPPING:
        value = Decimal("0.00")
    elif not Decimal(0) < value <= MAX_PERCENT:
        return None
    return Offer(raw["kind"], value, rule)


def choose_offer(rules: list[dict], default: dict, keys: Iterable[str]) -> Offer | None:
    have = set(keys)
    for rule in rules:
        if isinstance(rule, dict) and rule.get("when") in have:
            offer = parse_offer(rule, str(rule["when"]))
            if offer is not None:
                return offer
    return parse_offer(default)


def all_offers(rules: list[dict], default: dict) -> list[Offer]:
    """Every distinct offer a campaign can hand out: the code pools to keep filled."""
    seen: dict[tuple[str, Decimal], Offer] = {}
    for raw in [*rules, default]:
        offer = parse_offer(raw)
        if offer is not None:
            seen.setdefault(offer.pool, offer)
    return list(seen.values())

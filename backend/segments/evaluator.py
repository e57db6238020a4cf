"""Evaluate a validated rule tree two ways that must agree:

- `matches(rule, profile, ctx)`: one profile in Python, for real-time membership after an event or order;
- `to_q(rule, ctx)`: a Django Q over CustomerProfile, for a whole shop (counts, previews, the scheduled pass).

Missing values (a profile that never ordered has no "days since last order") never satisfy a comparison, and
`not` of such a comparison does match — the same three-valued outcome Django gives a negated lookup on a
nullable column. tests/segments/test_evaluator.py checks both paths agree on random rules and profiles.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from backend.customers.models import CustomerProfile, ProfileCollectionView

from .rules import FIELDS


@dataclass
class EvalContext:
    now: datetime = field(default_factory=timezone.now)
    cart_window_hours: int = 24
    viewed_window_days: int = 30


# ------------------------------------------------------------------ Python, one profile


def _compare(actual: Any, op: str, value: Any) -> bool:
    if actual is None:
        return False
    if op == "eq":
        return actual == value
    if op == "ne":
        return actual != value
    if op == "gt":
        return actual > value
    if op == "gte":
        return actual >= value
    if op == "lt":
        return actual < value
    if op == "lte":
        return actual <= value
    if op == "between":
        return value[0] <= actual <= value[1]
    if op == "in":
        return actual in value
    if op == "not_in":
        return actual not in value
    raise ValueError(op)


def _as_decimal(value: Any) -> Any:
    if isinstance(value, list):
        return [Decimal(str(v)) for v in value]
    return Decimal(str(value))


class _ProfileView:
    """Lazily loaded extras of one profile (collection views) so a rule without them costs no query."""

    def __init__(self, profile: CustomerProfile):
        self.profile = profile
        self._views: dict[int, datetime] | None = None

    def views(self) -> dict[int, datetime]:
        if self._views is None:
            self._views = dict(
                ProfileCollectionView.objects.for_shop(self.profile.shop_id)
                .filter(profile_id=self.profile.pk).values_list("collection_id", "last_viewed_at")
            ) if self.profile.pk else {}
        return self._views


def _leaf_matches(node: dict, pv: _ProfileView, ctx: EvalContext) -> bool:
    spec = FIELDS[node["field"]]
    op, value = node["op"], node["value"]
    p = pv.profile
    if node["field"] == "cart_abandoned":
        abandoned = (
            p.last_cart_at is not None
            and p.last_cart_at < ctx.now - timedelta(hours=ctx.cart_window_hours)
            and (p.last_order_at is None or p.last_order_at < p.last_cart_at)
        )
        return abandoned is value
    if spec.kind == "bool":
        return bool(getattr(p, spec.column)) is value
    if spec.kind == "days":
        moment = getattr(p, spec.column)
        actual = None if moment is None else (ctx.now - moment) / timedelta(days=1)
        return _compare(actual, op, value)
    if spec.kind in ("tag", "channel"):
        needle = f"|{str(value).strip().lower()}|"
        present = needle in (getattr(p, spec.column) or "")
        return present if op == "has" else not present
    if spec.kind == "collection":
        since = ctx.now - timedelta(days=node.get("days", ctx.viewed_window_days))
        seen = pv.views().get(value)
        viewed = seen is not None and seen >= since
        return viewed if op == "viewed" else not viewed
    if spec.kind == "country":
        value = [v.upper() for v in value] if isinstance(value, list) else value.upper()
        actual = p.country or None
        if actual is None:
            return False
        return _compare(actual, op, value)
    if spec.kind == "tier":
        return _compare(p.value_tier or None, op, value)
    actual = getattr(p, spec.column)
    if spec.kind == "money":
        return _compare(None if actual is None else Decimal(actual), op, _as_decimal(value))
    return _compare(actual, op, value)


def matches(rule: dict, profile: CustomerProfile, ctx: EvalContext | None = None,
            _pv: _ProfileView | None = None) -> bool:
    ctx = ctx or EvalContext()
    pv = _pv or _ProfileView(profile)
    if "all" in rule:
        return all(matches(c, profile, ctx, pv) for c in rule["all"])
    if "any" in rule:
        return any(matches(c, profile, ctx, pv) for c in rule["any"])
    if "not" in rule:
        return not matches(rule["not"], profile, ctx, pv)
    return _leaf_matches(rule, pv, ctx)


# ------------------------------------------------------------------ SQL, a whole shop


def _days_q(column: str, op: str, value: Any, now: datetime) -> Q:
    # days since t > N  <=>  t < now - N days (and so on, with the inequality flipped)
    def at(days: float) -> datetime:
        return now - timedelta(days=days)

    if op == "gt":
        return Q(**{f"{column}__lt": at(value)})
    if op == "gte":
        return Q(**{f"{column}__lte": at(value)})
    if op == "lt":
        return Q(**{f"{column}__gt": at(value)})
    if op == "lte":
        return Q(**{f"{column}__gte": at(value)})
    if op == "between":
        return Q(**{f"{column}__gte": at(value[1]), f"{column}__lte": at(value[0])})
    raise ValueError(op)


def _compare_q(column: str, op: str, value: Any) -> Q:
    if op == "eq":
        return Q(**{column: value})
    if op == "ne":
        # Python's "missing never matches" for ne too: a null column is not "different from 3".
        return ~Q(**{column: value}) & Q(**{f"{column}__isnull": False})
    if op in ("gt", "gte", "lt", "lte", "in"):
        return Q(**{f"{column}__{op}": value})
    if op == "not_in":
        return ~Q(**{f"{column}__in": value}) & Q(**{f"{column}__isnull": False})
    if op == "between":
        return Q(**{f"{column}__gte": value[0], f"{column}__lte": value[1]})
    raise ValueError(op)


def _leaf_q(node: dict, ctx: EvalContext) -> Q:
    spec = FIELDS[node["field"]]
    op, value = node["op"], node["value"]
    if node["field"] == "cart_abandoned":
        abandoned = Q(last_cart_at__isnull=False, last_cart_at__lt=ctx.now - timedelta(hours=ctx.cart_window_hours)) \
            & (Q(last_order_at__isnull=True) | Q(last_order_at__lt=F("last_cart_at")))
        # Written out instead of ~abandoned so nulls fall the same way as in Python.
        not_abandoned = Q(last_cart_at__isnull=True) | Q(last_cart_at__gte=ctx.now - timedelta(
            hours=ctx.cart_window_hours)) | Q(last_order_at__gte=F("last_cart_at"))
        return abandoned if value else not_abandoned
    if spec.kind == "bool":
        return Q(**{spec.column: value})
    if spec.kind == "days":
        return _days_q(spec.column, op, value, ctx.now)
    if spec.kind in ("tag", "channel"):
        present = Q(**{f"{spec.column}__contains": f"|{str(value).strip().lower()}|"})
        return present if op == "has" else ~present
    if spec.kind == "collection":
        since = ctx.now - timedelta(days=node.get("days", ctx.viewed_window_days))
        viewed = Exists(ProfileCollectionView.all_shops.filter(
            profile_id=OuterRef("pk"), collection_id=value, last_viewed_at__gte=since))
        return Q(viewed) if op == "viewed" else ~Q(viewed)
    if spec.kind == "country":
        value = [v.upper() for v in value] if isinstance(value, list) else value.upper()
        return _compare_q("country", op, value) & ~Q(country="")
    if spec.kind == "tier":
        return _compare_q("value_tier", op, value) & ~Q(value_tier="")
    if spec.kind == "money":
        value = _as_decimal(value)
    return _compare_q(spec.column, op, value)


def to_q(rule: dict, ctx: EvalContext | None = None) -> Q:
    ctx = ctx or EvalContext()
    if "all" in rule:
        q = Q()
        for c in rule["all"]:
            q &= to_q(c, ctx)
        return q
    if "any" in rule:
        q = Q(pk__in=[])
        for c in rule["any"]:
            q |= to_q(c, ctx)
        return q
    if "not" in rule:
        return ~to_q(rule["not"], ctx)
    return _leaf_q(rule, ctx)

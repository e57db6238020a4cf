"""The Python evaluator (one profile, real time) and the Django Q (whole shop) must agree on every rule."""
from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.customers.models import CustomerProfile, ProfileCollectionView
from backend.segments.evaluator import EvalContext, matches, to_q
from backend.segments.rules import validate

pytestmark = pytest.mark.django_db


def _maybe(rng, value, p=0.7):
    return value if rng.random() < p else None


def _profiles(shop, rng, now, n=60):
    out = []
    for _ in range(n):
        orders = rng.choice([0, 0, 1, 1, 2, 3, 7])
        last = now - timedelta(days=rng.uniform(0, 400)) if orders else None
        first = last - timedelta(days=rng.uniform(0, 300)) if last else None
        cart = _maybe(rng, now - timedelta(hours=rng.uniform(0, 100)), 0.4)
        tags = rng.sample(["vip", "wholesale", "b2b"], rng.randint(0, 2))
        p = CustomerProfile.objects.create(
            shop=shop, orders_count=orders, total_spent=Decimal(f"{rng.uniform(0, 900) if orders else 0:.2f}"),
            aov=Decimal(f"{rng.uniform(0, 200):.2f}"), first_order_at=first, last_order_at=last,
            country=rng.choice(["", "ES", "MX", "US"]), tags_text="|" + "|".join(tags) + "|" if tags else "",
            channels=rng.choice(["", "|online|", "|online|pos|", "|pos|"]), is_known=rng.random() < 0.5,
            accepts_marketing=rng.random() < 0.5, sessions_count=rng.randint(0, 4), events_count=rng.randint(0, 30),
            last_seen_at=_maybe(rng, now - timedelta(days=rng.uniform(0, 60))), last_cart_at=cart,
            r_score=rng.randint(0, 5), f_score=rng.randint(0, 5), m_score=rng.randint(0, 5),
            p_alive=_maybe(rng, rng.random()), expected_orders_365=_maybe(rng, rng.uniform(0, 5)),
            expected_value_365=_maybe(rng, Decimal(f"{rng.uniform(0, 500):.2f}")),
            value_percentile=_maybe(rng, rng.uniform(0, 100)),
            value_tier=rng.choice(["", "vip", "high", "medium", "low"]),
        )
        for cid in rng.sample([1, 2, 3], rng.randint(0, 2)):
            ProfileCollectionView.objects.create(shop=shop, profile=p, collection_id=cid,
                                                 last_viewed_at=now - timedelta(days=rng.uniform(0, 40)))
        out.append(p)
    return out


def _leaf(rng):
    choice = rng.randrange(12)
    if choice == 0:
        return {"field": "orders_count", "op": rng.choice(["eq", "ne", "gt", "gte", "lt", "lte"]),
                "value": rng.randint(0, 3)}
    if choice == 1:
        return {"field": "total_spent", "op": "between", "value": sorted([rng.uniform(0, 900), rng.uniform(0, 900)])}
    if choice == 2:
        return {"field": rng.choice(["days_since_last_order", "days_since_first_order", "days_since_last_seen"]),
                "op": rng.choice(["gt", "gte", "lt", "lte"]), "value": rng.uniform(0, 300)}
    if choice == 3:
        return {"field": "days_since_last_order", "op": "between", "value": [30, 200]}
    if choice == 4:
        return {"field": "country", "op": rng.choice(["eq", "ne", "in", "not_in"]),
                "value": rng.choice(["es", "MX", "US"]) if rng.random() < 0.5 else ["ES", "US"]}
    if choice == 5:
        field = rng.choice(["tag", "channel"])
        return {"field": field, "op": rng.choice(["has", "not_has"]),
                "value": rng.choice(["VIP", "wholesale"] if field == "tag" else ["pos", "online"])}
    if choice == 6:
        return {"field": rng.choice(["cart_abandoned", "is_known", "accepts_marketing"]), "op": "is",
                "value": rng.random() < 0.5}
    if choice == 7:
        leaf = {"field": "viewed_collection", "op": rng.choice(["viewed", "not_viewed"]), "value": rng.randint(1, 3)}
        if rng.random() < 0.5:
            leaf["days"] = rng.randint(1, 40)
        return leaf
    if choice == 8:
        return {"field": rng.choice(["p_alive", "expected_orders_365"]), "op": rng.choice(["gt", "lte", "ne"]),
                "value": rng.uniform(0, 1)}
    if choice == 9:
        return {"field": "value_tier", "op": rng.choice(["eq", "ne", "in", "not_in"]),
                "value": rng.choice(["vip", "low"]) if rng.random() < 0.5 else ["vip", "high"]}
    if choice == 10:
        op = rng.choice(["gte", "lt", "between"])
        return {"field": "expected_value_365", "op": op, "value": [50, 300] if op == "between" else rng.uniform(0, 500)}
    return {"field": rng.choice(["r_score", "sessions_count"]), "op": rng.choice(["eq", "gte", "lte"]),
            "value": rng.randint(0, 5)}


def _rule(rng, depth=0):
    if depth >= 3 or rng.random() < 0.35:
        leaf = _leaf(rng)
        if leaf["op"] == "between" and isinstance(leaf["value"], list):
            leaf["value"] = sorted(leaf["value"])
        if leaf["op"] in ("gt", "gte", "lt", "lte", "between") and not isinstance(leaf["value"], list | int | float):
            leaf["value"] = 1
        if leaf["op"] != "between" and isinstance(leaf["value"], list) and leaf["field"] not in ("country",
                                                                                                   "value_tier"):
            leaf["value"] = leaf["value"][0]
        if leaf["op"] in ("eq", "ne") and isinstance(leaf["value"], list):
            leaf["value"] = leaf["value"][0]
        if leaf["op"] in ("in", "not_in") and not isinstance(leaf["value"], list):
            leaf["value"] = [leaf["value"]]
        return leaf
    kind = rng.choice(["all", "any", "not"])
    if kind == "not":
        return {"not": _rule(rng, depth + 1)}
    return {kind: [_rule(rng, depth + 1) for _ in range(rng.randint(1, 3))]}


def test_python_and_sql_agree_on_random_rules(shop):
    rng = random.Random(20261126)
    now = timezone.now()
    ctx = EvalContext(now=now, cart_window_hours=24, viewed_window_days=30)
    profiles = _profiles(shop, rng, now)
    checked = 0
    for _ in range(150):
        rule = _rule(rng)
        validate(rule)
        sql = set(CustomerProfile.objects.for_shop(shop).filter(to_q(rule, ctx)).values_list("pk", flat=True))
        py = {p.pk for p in profiles if matches(rule, p, ctx)}
        assert sql == py, rule
        checked += len(py)
    assert checked > 500  # the rules really select people, not just empty sets


def test_time_moves_people_between_segments_without_new_data(shop):
    p = CustomerProfile.objects.create(shop=shop, orders_count=2, last_order_at=timezone.now() - timedelta(days=59))
    rule = {"field": "days_since_last_order", "op": "gt", "value": 60}
    assert not matches(rule, p)
    later = EvalContext(now=timezone.now() + timedelta(days=2))
    assert matches(rule, p, later)
    assert CustomerProfile.objects.for_shop(shop).filter(to_q(rule, later)).count() == 1

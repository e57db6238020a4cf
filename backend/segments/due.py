"""When a profile's segment memberships can next change on their own, with no new order or event.

Most conditions only move when the profile does (an order, an event, a refit) and those paths re-evaluate it at
once. Time-based conditions flip on a known moment instead: "days since last order > 60" turns true exactly 60 days
after `last_order_at`, a cart counts as abandoned `cart_abandon_window_hours` after `last_cart_at`, a collection
view stops counting `days` after it happened. Each profile keeps the earliest such moment still ahead
(`CustomerProfile.segments_due_at`), and the scheduled pass re-evaluates only profiles whose moment has come, so a
shop where nothing happens costs nothing, and a flip lands within one tick of the moment.

The moment is conservative: every time leaf of every active segment counts, whether or not the rest of the tree
would let it change the outcome. Waking a profile early costs one evaluation; waking it late would be wrong.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction

from backend.customers.models import CustomerProfile, ProfileCollectionView

from .evaluator import EvalContext
from .rules import FIELDS

logger = logging.getLogger("personalize.segments")

# A flip is computed to the microsecond; evaluating a second after it is safely past `gt`'s strict boundary.
PAST_BOUNDARY = timedelta(seconds=1)
DUE_BATCH = 500


def _time_leaves(rules: Iterable[dict]) -> list[dict]:
    """Every leaf whose truth can change with the clock alone."""
    found: list[dict] = []

    def walk(node: dict) -> None:
        for key in ("all", "any"):
            if key in node:
                for child in node[key]:
                    walk(child)
                return
        if "not" in node:
            walk(node["not"])
            return
        spec = FIELDS.get(node.get("field"))
        if spec is not None and (spec.kind in ("days", "collection") or node["field"] == "cart_abandoned"):
            found.append(node)

    for rule in rules:
        if isinstance(rule, dict):
            walk(rule)
    return found


def _leaf_moments(leaf: dict, profile: CustomerProfile, ctx: EvalContext,
                  views: dict[int, datetime] | None) -> list[datetime]:
    field = leaf["field"]
    if field == "cart_abandoned":
        return [profile.last_cart_at + timedelta(hours=ctx.cart_window_hours)] if profile.last_cart_at else []
    spec = FIELDS[field]
    if spec.kind == "collection":
        seen = (views or {}).get(leaf.get("value"))
        return [seen + timedelta(days=leaf.get("days", ctx.viewed_window_days))] if seen else []
    moment = getattr(profile, spec.column)
    if moment is None:
        return []
    values = leaf["value"] if isinstance(leaf.get("value"), list) else [leaf.get("value")]
    return [moment + timedelta(days=float(v)) for v in values if isinstance(v, int | float)]


def next_flip(profile: CustomerProfile, leaves: list[dict], ctx: EvalContext,
              views: dict[int, datetime] | None = None) -> datetime | None:
    """The earliest moment after ctx.now at which one of `leaves` can change its answer for this profile."""
    if not profile.is_active or not leaves:
        return None
    ahead = [m for leaf in leaves for m in _leaf_moments(leaf, profile, ctx, views) if m > ctx.now]
    return min(ahead) + PAST_BOUNDARY if ahead else None


def needs_views(leaves: list[dict]) -> bool:
    return any(FIELDS[leaf["field"]].kind == "collection" for leaf in leaves)


def views_of(shop_id: int, profile_ids: list[int]) -> dict[int, dict[int, datetime]]:
    out: dict[int, dict[int, datetime]] = defaultdict(dict)
    for i in range(0, len(profile_ids), 1000):
        rows = ProfileCollectionView.objects.for_shop(shop_id).filter(profile_id__in=profile_ids[i:i + 1000])
        for pid, cid, at in rows.values_list("profile_id", "collection_id", "last_viewed_at"):
            out[pid][cid] = at
    return out


_COLUMNS = ("pk", "shop_id", "is_active", "last_order_at", "first_order_at", "last_seen_at", "last_cart_at",
            "segments_due_at")


def refresh_shop(shop_id: int, now: datetime | None = None) -> int:
    """Recompute every profile's next flip in the shop (after a full pass, or a segment's rules changed).

    Reads only the timestamp columns; writes only the profiles whose moment moved. Returns how many moved."""
    from . import membership

    ctx = membership.context_for(shop_id, now)
    leaves = _time_leaves(rules for _, _, rules in membership.active_segments(shop_id))
    rows = CustomerProfile.objects.for_shop(shop_id).only(*_COLUMNS[1:]).order_by("pk")
    moved: list[CustomerProfile] = []
    batch: list[CustomerProfile] = []

    def flush() -> None:
        views = views_of(shop_id, [p.pk for p in batch]) if needs_views(leaves) else {}
        for p in batch:
            due = next_flip(p, leaves, ctx, views.get(p.pk, {}))
            if due != p.segments_due_at:
                p.segments_due_at = due
                moved.append(p)
        batch.clear()

    for profile in rows.iterator(chunk_size=2000):
        batch.append(profile)
        if len(batch) >= 2000:
            flush()
    flush()
    if moved:
        CustomerProfile.all_shops.bulk_update(moved, ["segments_due_at"], batch_size=1000)
    return len(moved)


def due_shops(now: datetime, limit: int = 5000) -> dict[int, list[int]]:
    """Cross-shop: profiles whose moment has come, grouped by shop (one indexed range scan for every shop)."""
    rows = (CustomerProfile.all_shops.filter(segments_due_at__lte=now).order_by("segments_due_at")
            .values_list("shop_id", "pk")[:limit])
    out: dict[int, list[int]] = defaultdict(list)
    for shop_id, pk in rows:
        out[shop_id].append(pk)
    return dict(out)


def run_due(shop_id: int, profile_ids: list[int], now: datetime) -> int:
    """Re-evaluate the given due profiles of one shop and set each one's next moment. Returns memberships moved."""
    from . import membership

    ctx = membership.context_for(shop_id, now)
    leaves = _time_leaves(rules for _, _, rules in membership.active_segments(shop_id))
    moved = 0
    for i in range(0, len(profile_ids), DUE_BATCH):
        profiles = list(CustomerProfile.objects.for_shop(shop_id).filter(pk__in=profile_ids[i:i + DUE_BATCH],
                                                                        segments_due_at__lte=now))
        views = views_of(shop_id, [p.pk for p in profiles]) if needs_views(leaves) else {}
        for profile in profiles:
            with transaction.atomic():
                entered, left = membership.update_profile_memberships(profile, now=now, source="due")
                moved += len(entered) + len(left)
                CustomerProfile.objects.for_shop(shop_id).filter(pk=profile.pk).update(
                    segments_due_at=next_flip(profile, leaves, ctx, views.get(profile.pk, {})))
    return moved


def stamp(profile: CustomerProfile, now: datetime | None = None) -> None:
    """Set the profile's next moment in memory (the real-time path saves the profile right after)."""
    from . import membership

    ctx = membership.context_for(profile.shop_id, now)
    leaves = _time_leaves(rules for _, _, rules in membership.active_segments(profile.shop_id))
    views = None
    if needs_views(leaves) and profile.pk:
        views = views_of(profile.shop_id, [profile.pk]).get(profile.pk, {})
    profile.segments_due_at = next_flip(profile, leaves, ctx, views)

"""Who is in which segment: real-time updates for one profile, a full pass for a shop, and a fast lookup.

`segment_keys_for()` is what widgets (bestsellers per segment) and popups call on every request: it answers from
the cache, falling back to two indexed queries. Keys look like "visitors:returning", "buyers:first", "buyers:repeat",
"country:ES", "tag:wholesale", "tier:vip", "segment:<slug>".
"""
from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backend.customers.identities import profile_for
from backend.customers.models import CustomerProfile, Identity
from backend.shops.models import Shop

from .evaluator import EvalContext, matches, to_q
from .models import Segment, SegmentMembership, SegmentMembershipChange, SegmentSettings

logger = logging.getLogger("personalize.segments")

KEYS_TTL = 120
SEGMENTS_TTL = 60
NEW_VISITOR_KEYS = ["visitors:new", "buyers:none"]
# "buyers:first" / "buyers:repeat" / "visitors:*" / "country:*" / "tag:*" match the bestsellers engine's buckets.


def _shop_id(shop: Shop | int) -> int:
    return shop if isinstance(shop, int) else shop.pk


def settings_for(shop: Shop | int) -> SegmentSettings:
    shop_id = _shop_id(shop)
    key = f"segments:settings:{shop_id}"
    found = cache.get(key)
    if found is None:
        found = SegmentSettings.objects.for_shop(shop_id).first() or SegmentSettings(shop_id=shop_id)
        cache.set(key, found, SEGMENTS_TTL)
    return found


def context_for(shop: Shop | int, now: datetime | None = None) -> EvalContext:
    s = settings_for(shop)
    return EvalContext(now=now or timezone.now(), cart_window_hours=s.cart_abandon_window_hours,
                       viewed_window_days=s.viewed_window_days)


def active_segments(shop: Shop | int) -> list[tuple[int, str, dict]]:
    """(id, slug, rules) of the shop's active segments, cached briefly: evaluated on every real-time update."""
    shop_id = _shop_id(shop)
    key = f"segments:active:{shop_id}"
    found = cache.get(key)
    if found is None:
        found = list(Segment.objects.for_shop(shop_id).filter(is_active=True).values_list("id", "slug", "rules"))
        cache.set(key, found, SEGMENTS_TTL)
    return found


def forget_segments(shop: Shop | int) -> None:
    """Call after a segment is created, edited or deactivated."""
    cache.delete(f"segments:active:{_shop_id(shop)}")
    cache.delete(f"segments:settings:{_shop_id(shop)}")


# ------------------------------------------------------------------ keys (the read path)


def _lookup_keys(shop_id: int, customer_id: int | None, visitor_id: str) -> list[str]:
    keys = []
    if customer_id:
        keys.append(f"segments:keys:{shop_id}:c:{customer_id}")
    if visitor_id:
        keys.append(f"segments:keys:{shop_id}:v:{visitor_id}")
    return keys


def profile_keys(profile: CustomerProfile) -> list[str]:
    """The dimension keys derived from the profile itself, plus its segment memberships."""
    returning = profile.sessions_count >= 2 or profile.orders_count >= 1
    keys = ["visitors:returning" if returning else "visitors:new"]
    keys.append("buyers:repeat" if profile.orders_count >= 2 else
                "buyers:first" if profile.orders_count == 1 else "buyers:none")
    if profile.country:
        keys.append(f"country:{profile.country.upper()}")
    keys += [f"tag:{t}" for t in profile.tags_text.strip("|").split("|") if t]
    if profile.value_tier:
        keys.append(f"tier:{profile.value_tier}")
    slugs = (SegmentMembership.objects.for_shop(profile.shop_id).filter(profile=profile, segment__is_active=True)
             .order_by("segment__slug").values_list("segment__slug", flat=True))
    keys += [f"segment:{s}" for s in slugs]
    return keys


def segment_keys_for(shop: Shop | int, customer_id: int | None = None, visitor_id: str = "") -> list[str]:
    """Segment keys of a shopper (known customer or anonymous visitor); unknown shoppers are new visitors."""
    shop_id = _shop_id(shop)
    visitor_id = (visitor_id or "")[:64]
    lookups = _lookup_keys(shop_id, customer_id, visitor_id)
    if not lookups:
        return list(NEW_VISITOR_KEYS)
    gen_key = f"{lookups[0]}:gen"
    found = cache.get_many([*lookups, gen_key])
    for k in lookups:  # customer first: the stronger identity
        if k in found:
            return list(found[k])
    profile = profile_for(shop_id, customer_id=customer_id, visitor_id=visitor_id)
    keys = profile_keys(profile) if profile is not None else list(NEW_VISITOR_KEYS)
    # A profile update that committed while we were reading bumped the generation: our read may predate it, so it
    # is served but not cached.
    if cache.get(gen_key) == found.get(gen_key):
        cache.set(lookups[0], keys, KEYS_TTL)
    return keys


def _drop(keys: list[str]) -> None:
    if not keys:
        return
    cache.delete_many(keys)
    for k in keys:
        try:
            cache.incr(f"{k}:gen")
        except ValueError:
            cache.set(f"{k}:gen", 1, KEYS_TTL * 2)


def forget_keys(profile: CustomerProfile) -> None:
    """Drop cached keys for every identity of the profile (after it changed or merged)."""
    rows = getattr(profile, "linked_identities", None)
    if rows is None:
        rows = Identity.objects.for_shop(profile.shop_id).filter(
            profile=profile, kind__in=[Identity.Kind.CUSTOMER, Identity.Kind.VISITOR]
        ).values_list("kind", "value")
    _drop([f"segments:keys:{profile.shop_id}:{'c' if kind == Identity.Kind.CUSTOMER else 'v'}:{value}"
           for kind, value in rows])


def forget_keys_of(shop_id: int, profile_ids: list[int]) -> None:
    """forget_keys for many profiles with one identity query per thousand."""
    for i in range(0, len(profile_ids), 1000):
        rows = Identity.objects.for_shop(shop_id).filter(
            profile_id__in=profile_ids[i:i + 1000], kind__in=[Identity.Kind.CUSTOMER, Identity.Kind.VISITOR]
        ).values_list("kind", "value")
        _drop([f"segments:keys:{shop_id}:{'c' if kind == Identity.Kind.CUSTOMER else 'v'}:{value}"
               for kind, value in rows])


# ------------------------------------------------------------------ writes


def _record(shop_id: int, entered: dict[int, list[int]], left: dict[int, list[int]], source: str,
            now: datetime) -> None:
    """Apply membership diffs per segment and log them, leaving before entering.

    Member counts move with F() so concurrent writers never lose an update.
    """
    for segment_id, profile_ids in left.items():
        if not profile_ids:
            continue
        SegmentMembership.objects.for_shop(shop_id).filter(segment_id=segment_id, profile_id__in=profile_ids).delete()
        SegmentMembershipChange.objects.bulk_create(
            [SegmentMembershipChange(shop_id=shop_id, segment_id=segment_id, profile_id=p, at=now, source=source,
                                     change=SegmentMembershipChange.Change.LEFT) for p in profile_ids],
            batch_size=2000,
        )
    for segment_id, profile_ids in entered.items():
        if not profile_ids:
            continue
        SegmentMembership.objects.bulk_create(
            [SegmentMembership(shop_id=shop_id, segment_id=segment_id, profile_id=p, since=now) for p in profile_ids],
            ignore_conflicts=True, batch_size=2000,
        )
        SegmentMembershipChange.objects.bulk_create(
            [SegmentMembershipChange(shop_id=shop_id, segment_id=segment_id, profile_id=p, at=now, source=source,
                                     change=SegmentMembershipChange.Change.ENTERED) for p in profile_ids],
            batch_size=2000,
        )
    for segment_id in set(entered) | set(left):
        delta = len(entered.get(segment_id, [])) - len(left.get(segment_id, []))
        if delta:
            Segment.objects.for_shop(shop_id).filter(pk=segment_id).update(member_count=F("member_count") + delta)


def update_profile_memberships(profile: CustomerProfile, now: datetime | None = None,
                               source: str = "realtime") -> tuple[list[str], list[str]]:
    """Re-evaluate every active segment for one profile; returns (entered slugs, left slugs)."""
    shop_id = profile.shop_id
    ctx = context_for(shop_id, now)
    current = set() if hasattr(profile, "fresh_links") else set(
        SegmentMembership.objects.for_shop(shop_id).filter(profile=profile).values_list("segment_id", flat=True))
    entered: dict[int, list[int]] = {}
    left: dict[int, list[int]] = {}
    slugs_in, slugs_out = [], []
    for segment_id, slug, rules in active_segments(shop_id):
        try:
            now_in = profile.is_active and matches(rules, profile, ctx)
        except (KeyError, TypeError, ValueError):  # a rule saved before a field changed: skip, don't fail the task
            logger.warning("segment %s has an unreadable rule", segment_id)
            continue
        was_in = segment_id in current
        if now_in and not was_in:
            entered[segment_id] = [profile.pk]
            slugs_in.append(slug)
        elif was_in and not now_in:
            left[segment_id] = [profile.pk]
            slugs_out.append(slug)
    if not profile.is_active:  # a merged-away profile leaves everything, including inactive segments
        for segment_id in current - set(left):
            left[segment_id] = [profile.pk]
    if entered or left:
        with transaction.atomic():
            _record(shop_id, entered, left, source, ctx.now)
    forget_keys(profile)
    # Again once the caller's transaction commits: a reader between the first delete and the commit would have
    # cached the old keys for KEYS_TTL.
    transaction.on_commit(partial(forget_keys, profile))
    return slugs_in, slugs_out


def evaluate_segment(segment: Segment, now: datetime | None = None, source: str = "full_pass") -> tuple[int, int]:
    """Recompute one segment over the whole shop with one query; returns (entered, left) counts."""
    shop_id = segment.shop_id
    ctx = context_for(shop_id, now)
    should = set(
        CustomerProfile.objects.for_shop(shop_id).filter(is_active=True).filter(to_q(segment.rules, ctx))
        .values_list("pk", flat=True)
    )
    current = set(SegmentMembership.objects.for_shop(shop_id).filter(segment=segment)
                  .values_list("profile_id", flat=True))
    entered, left = sorted(should - current), sorted(current - should)
    with transaction.atomic():
        _record(shop_id, {segment.pk: entered}, {segment.pk: left}, source, ctx.now)
        Segment.objects.for_shop(shop_id).filter(pk=segment.pk).update(member_count=len(should), evaluated_at=ctx.now)
    forget_keys_of(shop_id, entered + left)
    if entered or left:
        from .signals import memberships_changed

        transaction.on_commit(lambda: memberships_changed.send(
            sender=Segment, shop_id=shop_id, segment_id=segment.pk, entered=len(entered), left=len(left)))
    return len(entered), len(left)


def full_pass(shop: Shop | int, now: datetime | None = None) -> dict[str, tuple[int, int]]:
    """Every active segment of the shop, so time-based rules ("no order in 60 days") stay right."""
    shop_id = _shop_id(shop)
    out = {}
    for segment in Segment.objects.for_shop(shop_id).filter(is_active=True):
        out[segment.slug] = evaluate_segment(segment, now)
    from .due import refresh_shop

    refresh_shop(shop_id, now)  # the pass is the moment every profile's next flip is known again
    return out

"""What the storefront asks of experiments: which arm a visitor sees, and recording that they saw it."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.core import health
from backend.core.outage import SHARED_CACHE_ERRORS, Unavailable
from backend.shops.models import Shop

from .assignment import Arm, assign
from .models import Experiment, Exposure

_CACHE_TTL = 30
# Every personal widget request asks, so each worker keeps the answer a moment instead of a cache round trip each.
_LOCAL_TTL = 1.0
_local: dict[int, tuple[float, list[dict[str, Any]]]] = {}
# (shop, experiment, salt, visitor) this worker has already recorded: a widget echoes its arm on every impression
# (and a popup's hold-out may report from several tabs), but a visitor is exposed once (the row's unique constraint
# keeps the first time); the memo spares the database the repeated writes.
_recorded: dict[tuple[int, int, str, str], None] = {}
_RECORDED_MAX = 100_000


@dataclass(frozen=True)
class Assignment:
    experiment_id: int
    arm: str
    config: dict[str, Any]


def _cache_key(shop_id: int) -> str:
    return f"experiments:running:{shop_id}"


def running_experiments(shop: Shop | int) -> list[dict[str, Any]]:
    shop_id = shop if isinstance(shop, int) else shop.pk
    memo = _local.get(shop_id)
    if memo is not None and memo[0] > time.monotonic():
        return memo[1]
    try:
        if health.cache_known_down():
            raise Unavailable("cache")
        cached = cache.get(_cache_key(shop_id))
    except (Unavailable, *SHARED_CACHE_ERRORS) as exc:
        # The cache is down: the experiments this worker last saw, so a visitor keeps their arm (and its payload).
        if not isinstance(exc, Unavailable):
            health.cache_failed(exc)
        if memo is None:
            raise
        return memo[1]
    if cached is None:
        cached = list(
            Experiment.objects.for_shop(shop_id)
            .filter(status=Experiment.Status.RUNNING)
            .values("id", "target_kind", "target_key", "arms", "salt")
        )
        cache.set(_cache_key(shop_id), cached, _CACHE_TTL)
    if len(_local) > 10_000:
        _local.clear()
    _local[shop_id] = (time.monotonic() + _LOCAL_TTL, cached)
    return cached


def forget_running(shop: Shop | int) -> None:
    """Called when an experiment starts or stops so the storefront sees it at once (other workers within
    _LOCAL_TTL)."""
    shop_id = shop if isinstance(shop, int) else shop.pk
    cache.delete(_cache_key(shop_id))
    _local.pop(shop_id, None)


def forget_local() -> None:
    """Drop this process's memos (tests, which reuse shop ids across rolled-back transactions)."""
    _local.clear()
    _recorded.clear()


def arm_for(shop: Shop | int, target_kind: str, target_key: str, visitor_id: str) -> Assignment | None:
    if not visitor_id:
        return None
    for exp in running_experiments(shop):
        if exp["target_kind"] == target_kind and exp["target_key"] == target_key and exp["arms"]:
            arms = [Arm(a["key"], float(a.get("weight", 1))) for a in exp["arms"]]
            key = assign(exp["salt"], visitor_id, arms)
            config = next((a.get("config") or {}) for a in exp["arms"] if a["key"] == key)
            return Assignment(exp["id"], key, dict(config))
    return None


def record_exposures(shop: Shop | int, seen: list[tuple[str, str, str, datetime | None]]) -> int:
    """Record (experiment id, arm, visitor id, when) reported by the storefront on a real impression, once per
    visitor and experiment; returns how many were new to this worker.

    The storefront can't choose its arm: a report whose arm differs from the deterministic assignment is dropped,
    and so is one naming a popup's hold-out arm (nothing was shown: only `record_would_show` counts that arm).
    """
    shop_id = shop if isinstance(shop, int) else shop.pk
    running = {str(e["id"]): e for e in running_experiments(shop_id)}
    rows: dict[tuple[int, int, str, str], Exposure] = {}
    for experiment_id, arm, visitor_id, when in seen:
        exp = running.get(str(experiment_id))
        if exp is None or not visitor_id:
            continue
        arms = [Arm(a["key"], float(a.get("weight", 1))) for a in exp["arms"]]
        if assign(exp["salt"], visitor_id, arms) != arm or is_popup_holdout(exp, arm):
            continue
        key = (shop_id, exp["id"], exp["salt"], visitor_id)
        if key in _recorded or key in rows:
            continue
        rows[key] = Exposure(shop_id=shop_id, experiment_id=exp["id"], arm=arm, visitor_id=visitor_id,
                             first_exposed_at=when or timezone.now())
    if not rows:
        return 0
    Exposure.objects.bulk_create(rows.values(), ignore_conflicts=True)
    if len(_recorded) + len(rows) > _RECORDED_MAX:
        _recorded.clear()
    # Remembered once the rows are committed: a rolled-back write must not stop the next report from recording.
    keys = list(rows)
    transaction.on_commit(lambda: _recorded.update(dict.fromkeys(keys)))
    return len(rows)


def is_popup_holdout(exp: dict[str, Any], arm: str) -> bool:
    """A popup experiment's arm that never shows the popup."""
    config = next((a.get("config") or {} for a in exp["arms"] if a["key"] == arm), {})
    return exp["target_kind"] == "popup" and config.get("show") is False


def record_would_show(shop_id: int, experiment_id: str, arm: str, visitor_id: str, campaign_key: str) -> str:
    """Expose a popup hold-out visitor at the moment the popup would have appeared: "new", "already" (counted
    before), "not_running" (no running experiment with that id on that campaign) or "not_holdout" (the visitor's
    arm, as assigned now, is not that hold-out arm).

    A row the old rule wrote at page load (source page_load, not counted) becomes this exposure, timed now: the
    unique constraint allows one row per visitor, and the old time says nothing about when the popup would show.
    """
    exp = next((e for e in running_experiments(shop_id) if str(e["id"]) == experiment_id), None)
    if exp is None or exp["target_kind"] != "popup" or exp["target_key"] != campaign_key or not exp["arms"]:
        return "not_running"
    arms = [Arm(a["key"], float(a.get("weight", 1))) for a in exp["arms"]]
    if assign(exp["salt"], visitor_id, arms) != arm or not is_popup_holdout(exp, arm):
        return "not_holdout"
    now = timezone.now()
    rows = Exposure.objects.for_shop(shop_id).filter(experiment_id=exp["id"], visitor_id=visitor_id)
    if rows.filter(source=Exposure.Source.PAGE_LOAD).update(source=Exposure.Source.WOULD_SHOW, first_exposed_at=now):
        return "new"
    if rows.exists():
        return "already"
    try:
        with transaction.atomic():  # a savepoint: two tabs reporting at once meet at the unique constraint
            Exposure.objects.create(shop_id=shop_id, experiment_id=exp["id"], arm=arm, visitor_id=visitor_id,
                                    first_exposed_at=now, source=Exposure.Source.WOULD_SHOW)
    except IntegrityError:
        return "already"
    return "new"

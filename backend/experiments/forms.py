"""Validation of an experiment as a merchant defines it (the admin form and the JSON API share it)."""
from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.shops.models import Shop
from backend.storefront.merchandising import algorithm_choices
from backend.storefront.models import Widget

from .models import Experiment

MAX_PERCENT = 90  # as the popups' own offer validation
KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,29}$")
MAX_ARMS = 5
TITLE_MAX = 120


class ExperimentInvalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def popup_keys(shop: Shop) -> list[str]:
    from backend.popups.models import Campaign

    return [str(pk) for pk in Campaign.objects.for_shop(shop).order_by("pk").values_list("pk", flat=True)]


def _arm_config(kind: str, target: str, raw: dict[str, Any], errors: dict[str, str], i: int) -> dict[str, Any]:
    """What an arm overrides, in the target's own terms: a widget's rule fields, or a popup's show/offer/copy."""
    holdout = raw.get("holdout") in (True, "on", "1", "true")
    if holdout:
        return {"enabled": False} if kind == "widget" else {"show": False}
    config: dict[str, Any] = {}
    algorithm = str(raw.get("algorithm") or "")
    if algorithm:
        if kind != "widget" or algorithm not in algorithm_choices(target):
            errors[f"arms.{i}.algorithm"] = _("this algorithm belongs to another widget; choose one of this widget's")
        else:
            config["algorithm"] = algorithm
    titles = {}
    for lang in ("en", "es"):
        title = str(raw.get(f"title_{lang}") or "").strip()
        if len(title) > TITLE_MAX:
            errors[f"arms.{i}.title_{lang}"] = _("at most %(n)s characters") % {"n": TITLE_MAX}
        elif title:
            titles[lang] = title
    if kind == "widget":
        config.update({f"title_{lang}": title for lang, title in titles.items()})
    elif titles:  # a popup arm's title is its headline
        config["copy"] = {lang: {"headline": title} for lang, title in titles.items()}
    offer = str(raw.get("offer") or "").strip().lower()
    if offer and kind == "popup":
        if offer == "free_shipping":
            config["offer"] = {"kind": "free_shipping"}
        elif offer.rstrip("%").strip().isdecimal() and 0 < int(offer.rstrip("%").strip()) <= MAX_PERCENT:
            config["offer"] = {"kind": "percent", "value": int(offer.rstrip("%").strip())}
        else:
            errors[f"arms.{i}.offer"] = _("a percentage from 1 to %(max)s, or free_shipping") % {"max": MAX_PERCENT}
    elif offer:
        errors[f"arms.{i}.offer"] = _("offers apply to popups only")
    return config


def clean_experiment(shop: Shop, data: dict[str, Any]) -> dict[str, Any]:
    """Fields for Experiment(**fields), or ExperimentInvalid with a reason per field."""
    errors: dict[str, str] = {}
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 200:
        errors["name"] = _("give it a name (up to 200 characters)")
    kind = str(data.get("target_kind") or "widget")
    target = str(data.get("target_key") or "")
    if kind == "widget":
        if target not in Widget.values:
            errors["target_key"] = _("choose one of the widgets")
    elif kind == "popup":
        if target not in popup_keys(shop):
            errors["target_key"] = _("choose one of your popup campaigns")
    else:
        errors["target_kind"] = _("choose a widget or a popup campaign")
    metric = str(data.get("primary_metric") or Experiment.Metric.CONVERSION)
    if metric not in Experiment.Metric.values:
        errors["primary_metric"] = _("choose conversion rate or revenue per visitor")
    raw_arms = data.get("arms")
    arms: list[dict[str, Any]] = []
    if not isinstance(raw_arms, list) or not 2 <= len(raw_arms) <= MAX_ARMS:
        errors["arms"] = _("an experiment needs 2 to %(n)s variants") % {"n": MAX_ARMS}
        raw_arms = []
    for i, raw in enumerate(raw_arms):
        if not isinstance(raw, dict):
            errors[f"arms.{i}"] = _("not a variant")
            continue
        key = str(raw.get("key") or "").strip().lower()
        if not KEY.match(key):
            errors[f"arms.{i}.key"] = _("use lowercase letters, digits, - or _ (up to 30)")
        try:
            weight = float(raw.get("weight", 1))
        except (TypeError, ValueError):
            weight = -1.0
        if not 0 < weight <= 100:
            errors[f"arms.{i}.weight"] = _("a number above 0, up to 100")
        arms.append({"key": key, "weight": weight, "config": _arm_config(kind, target, raw, errors, i)})
    if len({a["key"] for a in arms}) != len(arms):
        errors["arms"] = _("each variant needs its own name")
    if errors:
        raise ExperimentInvalid(errors)
    return {"name": name, "target_kind": kind, "target_key": target, "primary_metric": metric, "arms": arms}


def arms_from_form(post: Any) -> list[dict[str, Any]]:
    """The form's fixed rows (arm-0-key, ...) as the list clean_experiment takes; empty rows are skipped."""
    arms = []
    for i in range(MAX_ARMS):
        key = post.get(f"arm-{i}-key", "").strip()
        if not key:
            continue
        arms.append({
            "key": key, "weight": post.get(f"arm-{i}-weight", "1") or "1",
            "algorithm": post.get(f"arm-{i}-algorithm", ""), "title_en": post.get(f"arm-{i}-title_en", ""),
            "title_es": post.get(f"arm-{i}-title_es", ""), "holdout": post.get(f"arm-{i}-holdout", ""),
            "offer": post.get(f"arm-{i}-offer", ""),
        })
    return arms


_FIELD_WORDS = {
    "name": gettext_lazy("Name"), "target_key": gettext_lazy("Test"), "target_kind": gettext_lazy("Test"),
    "primary_metric": gettext_lazy("Primary metric"), "arms": gettext_lazy("Variants"),
    "key": gettext_lazy("Name"), "weight": gettext_lazy("Weight"), "algorithm": gettext_lazy("Algorithm"),
    "title_en": gettext_lazy("Title (English)"), "title_es": gettext_lazy("Title (Spanish)"),
    "offer": gettext_lazy("Offer (popups)"),
}


def error_lines(errors: dict[str, str]) -> list[str]:
    """The refusals as sentences naming the field in words ("Variant 2 · Algorithm: ..."), never "arms.1.algorithm"."""
    lines = []
    for key, message in errors.items():
        parts = key.split(".")
        if parts[0] == "arms" and len(parts) > 1 and parts[1].isdecimal():
            where = _("Variant %(n)s") % {"n": int(parts[1]) + 1}
            if len(parts) > 2:
                where = f"{where} · {_FIELD_WORDS.get(parts[2], parts[2])}"
        else:
            where = str(_FIELD_WORDS.get(parts[0], parts[0]))
        lines.append(f"{where}: {message}")
    return lines

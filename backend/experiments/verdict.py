"""The result of an experiment in plain words, in the merchant's language."""
from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from .statistics import Comparison, SampleRatioCheck

_METRIC = {"conversion": _lazy("conversion rate"), "revenue_per_visitor": _lazy("revenue per visitor")}
MIN_VISITORS = 100


@dataclass(frozen=True)
class Verdict:
    kind: str  # srm | wait | win | lose | flat
    text: str


def _fmt(value: float, metric: str) -> str:
    if metric == "conversion":
        return f"{value * 100:+.2f} pp"
    return f"{value:+.2f}"


def verdict(
    arm: str,
    comparison: Comparison,
    srm: SampleRatioCheck,
    visitors: int,
    metric: str,
    locale: str = "en",
) -> Verdict:
    with translation.override(locale if locale in ("es", "en") else "en"):
        return _verdict(arm, comparison, srm, visitors, metric)


def _verdict(arm: str, comparison: Comparison, srm: SampleRatioCheck, visitors: int, metric: str) -> Verdict:
    if srm.mismatch:
        observed = "/".join(str(c) for c in srm.observed)
        expected = "/".join(f"{e:.0f}" for e in srm.expected)
        return Verdict("srm", _("Traffic split is off (%(observed)s vs expected %(expected)s); results can't be "
                                "trusted until fixed.") % {"observed": observed, "expected": expected})
    if visitors < MIN_VISITORS or not (math.isfinite(comparison.lower) and math.isfinite(comparison.upper)):
        # An unbounded interval (an arm with almost no visitors) says nothing yet: never print infinities.
        return Verdict("wait", _("Not enough visitors yet: %(n)s so far.") % {"n": visitors})
    parts = {
        "arm": arm,
        "metric": str(_METRIC.get(metric, metric)),
        "lift": _fmt(comparison.difference, metric),
        "lo": _fmt(comparison.lower, metric),
        "hi": _fmt(comparison.upper, metric),
    }
    if comparison.significant and comparison.difference > 0:
        return Verdict("win", _("“%(arm)s” wins: %(lift)s %(metric)s (between %(lo)s and %(hi)s). You can use this "
                                "variant.") % parts)
    if comparison.significant:
        return Verdict("lose", _("“%(arm)s” is worse: %(lift)s %(metric)s (between %(lo)s and %(hi)s). Keep the "
                                 "control.") % parts)
    return Verdict("flat", _("No clear difference yet for “%(arm)s”: the effect is between %(lo)s and %(hi)s. Keep "
                             "it running or stop.") % parts)

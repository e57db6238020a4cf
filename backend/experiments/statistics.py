"""Always-valid inference for A/B tests: a mixture SPRT and its confidence sequence, plus the SRM check.

Merchants look at results every day. A fixed-horizon p-value read repeatedly inflates false positives; the mixture
sequential probability ratio test (mSPRT, Johari et al. 2017, "Always Valid Inference") stays valid at every look.
With a normal mixing distribution N(0, tau^2) over the effect and the difference of means approximately normal with
variance V, the mixture likelihood ratio and the matching confidence sequence have closed forms (used below).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

SRM_ALPHA = 0.001


@dataclass(frozen=True)
class ArmStats:
    """Sufficient statistics of a per-visitor metric (1/0 for conversion, revenue for revenue per visitor)."""

    n: int
    total: float
    total_sq: float

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        if self.n < 2:
            return 0.0
        return max((self.total_sq - self.total**2 / self.n) / (self.n - 1), 0.0)


@dataclass(frozen=True)
class Comparison:
    difference: float  # treatment mean − control mean
    lower: float  # confidence sequence bounds on the difference, valid at every look
    upper: float
    relative_lift: float | None
    p_value: float  # always-valid p-value (never rises as data accrue)
    significant: bool


def mixture_ratio(diff: np.ndarray | float, var: np.ndarray | float, tau2: float) -> np.ndarray | float:
    """The normal-mixture likelihood ratio Λ for an observed difference with sampling variance `var`."""
    return np.sqrt(var / (var + tau2)) * np.exp(diff**2 * tau2 / (2 * var * (var + tau2)))


def cs_halfwidth(var: np.ndarray | float, tau2: float, alpha: float) -> np.ndarray | float:
    """Half-width of the (1 − alpha) confidence sequence: the set of effects whose Λ stays below 1/alpha."""
    return np.sqrt(var * (var + tau2) / tau2 * (np.log((var + tau2) / var) - 2 * math.log(alpha)))


def default_tau2(control: ArmStats, planned_per_arm: int = 5_000) -> float:
    """Tune the mixture to be tightest near the planned sample size (affects width only; validity holds for any)."""
    sigma2 = control.variance or max(control.mean * (1 - control.mean), 1e-6)
    return 2 * sigma2 / max(planned_per_arm, 1)


def compare(
    control: ArmStats,
    treatment: ArmStats,
    alpha: float = 0.05,
    tau2: float | None = None,
    previous_p: float = 1.0,
) -> Comparison:
    """Compare two arms at the current look. Pass the last look's p-value to keep it monotone across looks."""
    if control.n < 2 or treatment.n < 2:
        return Comparison(0.0, -math.inf, math.inf, None, previous_p, False)
    var = control.variance / control.n + treatment.variance / treatment.n
    var = max(var, 1e-12)
    tau2 = tau2 if tau2 is not None else default_tau2(control)
    diff = treatment.mean - control.mean
    ratio = float(mixture_ratio(diff, var, tau2))
    p_value = min(previous_p, 1.0 / ratio if ratio > 0 else 1.0)
    half = float(cs_halfwidth(var, tau2, alpha))
    lift = diff / control.mean if control.mean else None
    return Comparison(diff, diff - half, diff + half, lift, p_value, p_value < alpha)


@dataclass(frozen=True)
class SampleRatioCheck:
    p_value: float
    mismatch: bool
    observed: tuple[int, ...]
    expected: tuple[float, ...]


def sample_ratio_mismatch(counts: Sequence[int], weights: Sequence[float]) -> SampleRatioCheck:
    """Chi-squared goodness of fit of exposures to the configured split; flagged at p < 0.001."""
    total = sum(counts)
    wsum = sum(weights)
    if total == 0 or wsum <= 0 or len(counts) < 2:
        return SampleRatioCheck(1.0, False, tuple(counts), tuple(0.0 for _ in counts))
    expected = [total * w / wsum for w in weights]
    p = float(stats.chisquare(counts, expected).pvalue)
    return SampleRatioCheck(p, p < SRM_ALPHA, tuple(counts), tuple(expected))

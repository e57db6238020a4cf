"""Simulated traffic with a known truth: the sequential test must hold its stated error rates under daily peeking."""
import numpy as np
import pytest
from scipy import stats

from backend.experiments.statistics import ArmStats, compare, cs_halfwidth, default_tau2, mixture_ratio

ALPHA = 0.05
REPS = 300
N_MAX = 20_000
LOOKS = np.arange(500, N_MAX + 1, 500)  # a merchant checking 40 times


def _paths(rng, p_control, p_treat):
    a = rng.random((REPS, N_MAX)) < p_control
    b = rng.random((REPS, N_MAX)) < p_treat
    ca = np.cumsum(a, axis=1)[:, LOOKS - 1]
    cb = np.cumsum(b, axis=1)[:, LOOKS - 1]
    return ca, cb


def _look_stats(ca, cb):
    n = LOOKS.astype(float)
    pa, pb = ca / n, cb / n
    var = pa * (1 - pa) / (n - 1) + pb * (1 - pb) / (n - 1)
    var = np.maximum(var, 1e-12)
    return pb - pa, var


def _tau2(p):
    return default_tau2(ArmStats(n=1000, total=1000 * p, total_sq=1000 * p))


def test_no_lift_keeps_false_positives_at_alpha_under_repeated_peeking():
    rng = np.random.default_rng(7)
    ca, cb = _paths(rng, 0.10, 0.10)
    diff, var = _look_stats(ca, cb)
    ratio = mixture_ratio(diff, var, _tau2(0.10))
    false_positive_rate = np.mean((ratio >= 1 / ALPHA).any(axis=1))
    # Monte Carlo slack: 3 standard errors of a proportion at 0.05 over 300 runs.
    assert false_positive_rate <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / REPS)

    # The same peeking with a fixed-horizon z-test is the trap the sequential test avoids.
    z = np.abs(diff) / np.sqrt(var)
    naive_rate = np.mean((z > stats.norm.ppf(1 - ALPHA / 2)).any(axis=1))
    assert naive_rate > 2 * ALPHA


def test_known_lift_is_inside_the_interval_at_every_look_at_the_stated_rate():
    rng = np.random.default_rng(11)
    p_a, p_b = 0.10, 0.12
    ca, cb = _paths(rng, p_a, p_b)
    diff, var = _look_stats(ca, cb)
    half = cs_halfwidth(var, _tau2(p_a), ALPHA)
    covered_always = ((diff - half <= p_b - p_a) & (p_b - p_a <= diff + half)).all(axis=1)
    assert covered_always.mean() >= 1 - ALPHA - 3 * np.sqrt(ALPHA * (1 - ALPHA) / REPS)
    # And the test finds a 20 % relative lift by the end in nearly every run.
    detected = (mixture_ratio(diff, var, _tau2(p_a)) >= 1 / ALPHA).any(axis=1)
    assert detected.mean() > 0.9


def test_compare_reports_interval_and_plain_significance():
    control = ArmStats(n=10_000, total=1_000, total_sq=1_000)
    treatment = ArmStats(n=10_000, total=1_250, total_sq=1_250)
    result = compare(control, treatment)
    assert result.significant
    assert result.lower < 0.025 < result.upper
    assert result.relative_lift == pytest.approx(0.25)
    same = compare(control, ArmStats(n=10_000, total=1_010, total_sq=1_010))
    assert not same.significant and same.lower < 0 < same.upper


def test_p_value_never_rises_between_looks():
    control = ArmStats(n=5_000, total=500, total_sq=500)
    first = compare(control, ArmStats(n=5_000, total=600, total_sq=600))
    later = compare(control, ArmStats(n=5_000, total=505, total_sq=505), previous_p=first.p_value)
    assert later.p_value <= first.p_value

"""Lifetime value: the published CDNOW estimates, parameter recovery, and the per-shop fit with its fallback."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from backend.customers.models import CustomerProfile
from backend.segments import clv
from backend.segments.models import ClvFit
from backend.segments.tasks import refit_shop
from tests.customers.factories import make_customer, make_order

CDNOW = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cdnow"
SUMMARY = CDNOW / "cdnow_customers_summary_with_transactions.csv"


def _load_summary():
    if not SUMMARY.exists():
        pytest.skip(f"CDNOW data not found at {SUMMARY} (../shared/data/cdnow is only on developer machines and CI)")
    with SUMMARY.open() as fh:
        rows = list(csv.DictReader(fh))
    cols = {k: np.array([float(r[k]) for r in rows]) for k in ("x", "t_x", "T", "zbar")}
    return cols["x"], cols["t_x"], cols["T"], cols["zbar"]


def _within(actual: float, published: float, rel: float = 0.01) -> bool:
    return abs(actual - published) <= rel * abs(published)


@pytest.mark.shared
def test_bgnbd_reproduces_fader_hardie_lee_2005_on_cdnow():
    x, t_x, T, _ = _load_summary()
    fit = clv.fit_bgnbd(x, t_x, T)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # FHL 2005, Marketing Science 24(2), p. 280
    assert fit.converged
    for name, value in published.items():
        assert _within(fit.params[name], value), (name, fit.params[name], value)
    assert _within(fit.log_likelihood, -9582.4, 0.0001)


@pytest.mark.shared
def test_gamma_gamma_reproduces_fader_hardie_2013_on_cdnow():
    x, _, _, zbar = _load_summary()
    repeaters = x > 0
    assert repeaters.sum() == 946
    fit = clv.fit_gamma_gamma(x[repeaters], zbar[repeaters])
    published = {"p": 6.25, "q": 3.74, "gamma": 15.44}  # Fader & Hardie (2013), "The Gamma-Gamma Model of ..."
    for name, value in published.items():
        assert _within(fit.params[name], value), (name, fit.params[name], value)
    assert _within(fit.log_likelihood, -4055.92, 0.0001)


@pytest.mark.shared
def test_cdnow_predictions_behave():
    x, t_x, T, zbar = _load_summary()
    params = clv.BgNbdParams(**clv.fit_bgnbd(x, t_x, T).params)
    alive = clv.bgnbd_p_alive(params, x, t_x, T)
    assert np.all(alive[x == 0] == 1.0)  # never repeated: the model cannot have seen them leave
    # Same frequency, longer silence since the last purchase: less likely to still be a customer.
    assert clv.bgnbd_p_alive(params, [3], [5.0], [38.0])[0] < clv.bgnbd_p_alive(params, [3], [35.0], [38.0])[0]
    gg = clv.GammaGammaParams(**clv.fit_gamma_gamma(x[x > 0], zbar[x > 0]).params)
    spend = clv.gamma_gamma_expected_spend(gg, x, zbar)
    assert np.all(spend > 0)


def test_simulated_parameters_are_recovered():
    true = clv.BgNbdParams(r=0.5, alpha=20.0, a=0.8, b=2.5)
    T = np.random.default_rng(3).choice(np.arange(60.0, 400.0, 30.0), 20_000)  # monthly cohorts  # noqa: N806
    x, t_x = clv.simulate_bgnbd(true, T, seed=4)
    fit = clv.fit_bgnbd(x, np.round(t_x), T)
    for name in ("r", "alpha", "a", "b"):
        assert _within(fit.params[name], getattr(true, name), 0.15), (name, fit.params)


def test_conditional_forecasts_match_what_simulated_customers_then_do():
    # E[purchases in the next t | history], summed over customers, must equal the purchases they go on to make
    # when the world really is BG/NBD: checks eq. 10 and P(alive) end to end, independent of any fit.
    true = clv.BgNbdParams(r=0.6, alpha=15.0, a=0.7, b=2.0)
    T = np.random.default_rng(5).uniform(30, 300, 40_000)  # noqa: N806
    x, t_x, later = clv.simulate_bgnbd(true, T, seed=6, holdout=90.0)
    expected = clv.bgnbd_expected_purchases(true, 90.0, x, t_x, T)
    assert _within(expected.sum(), later.sum(), 0.03), (expected.sum(), later.sum())
    repeaters = x >= 3
    assert _within(expected[repeaters].sum(), later[repeaters].sum(), 0.05)


@pytest.mark.django_db
def test_a_small_shop_falls_back_to_rfm_and_says_why(shop):
    for i in range(12):
        c = make_customer(shop, email=f"s{i}@example.com")
        for k in range(i % 3 + 1):
            make_order(shop, c, f"{10 + i * 5}.00", days_ago=10 + 20 * k + i)
    refit_shop(shop.pk)
    fit = ClvFit.objects.for_shop(shop).get()
    assert fit.method == ClvFit.Method.RFM
    assert fit.reason == "only 12 customers with orders (the model needs 200)"
    assert fit.reason_es == "solo 12 clientes con pedidos (el modelo necesita 200)"
    profiles = list(CustomerProfile.objects.for_shop(shop).filter(orders_count__gte=1))
    assert len(profiles) == 12
    assert {p.value_tier_source for p in profiles} == {"rfm"}
    assert all(p.expected_value_365 is None for p in profiles)
    assert {p.value_tier for p in profiles} >= {"vip", "low"}
    top = max(profiles, key=lambda p: (p.r_score + p.f_score + p.m_score, p.total_spent))
    assert top.value_tier == "vip"

# A shop with history: tests/segments/test_valuation_backtest.py (the model is chosen by the shop's backtest).

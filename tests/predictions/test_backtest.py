"""The backtest's metrics, its choice rule, and the BG/NBD candidate refusing a fit that says nobody ever leaves."""
from __future__ import annotations

import numpy as np
import pytest

from backend.predictions import backtest, model_store
from backend.predictions import clv_candidates as cands
from backend.segments import clv

TODAY = 800_000


def test_metrics_are_what_a_merchant_would_compute_by_hand():
    s = backtest.score(np.array([3.0, 2.0, 1.0, 0.5, 0.0]), np.array([10.0, 0.0, 5.0, 0.0, 0.0]))
    assert s.capture == pytest.approx(10 / 15)  # the predicted top 20 % (one of five) brought 10 of 15
    assert s.predicted_top == 3.0 and s.actual_top == 10.0
    assert s.total_error == pytest.approx(6.5 / 15 - 1)
    # ranks 5,4,3,2,1 against 5,2,4,2,2 (the three zeros share rank 2): 6 / sqrt(10 * 8)
    assert s.spearman == pytest.approx(6 / 80 ** 0.5)


def test_a_tie_goes_to_the_baseline_and_a_better_model_wins():
    same = backtest.score(np.array([2.0, 1.0, 0.0]), np.array([5.0, 1.0, 0.0]))
    worse = backtest.score(np.array([0.0, 1.0, 2.0]), np.array([5.0, 1.0, 0.0]))
    tie = [backtest.Outcome("gbm", same), backtest.Outcome("naive", same), backtest.Outcome("bgnbd_gg", worse)]
    assert backtest.choose(tie) == "naive"
    assert backtest.choose([backtest.Outcome("gbm", same), backtest.Outcome("naive", worse)]) == "gbm"


def _log_from_bgnbd(params: clv.BgNbdParams, n: int, seed: int) -> cands.OrderLog:
    """Customers who buy and drop out the BG/NBD way, each order worth a customer-specific amount."""
    rng = np.random.default_rng(seed)
    ids, days, amounts = [], [], []
    for c in range(n):
        first = int(rng.integers(150, 500))
        lam, p = rng.gamma(params.r, 1 / params.alpha), rng.beta(params.a, params.b)
        mean = rng.gamma(4.0, 10.0)
        t = 0.0
        while True:
            ids.append(c)
            days.append(TODAY - first + int(t))
            amounts.append(round(rng.gamma(5.0, mean / 5.0), 2))
            if rng.random() < p:
                break
            t += rng.exponential(1 / lam)
            if t > first:
                break
    return cands.OrderLog.build(ids, days, amounts)


def _log_of_steady_buyers(n: int, seed: int) -> cands.OrderLog:
    """Everyone buys every month or so and nobody ever stops: a shop of subscribers."""
    rng = np.random.default_rng(seed)
    ids, days, amounts = [], [], []
    for c in range(n):
        day = TODAY - int(rng.integers(200, 420))
        while day <= TODAY:
            ids.append(c)
            days.append(day)
            amounts.append(round(float(rng.uniform(20, 60)), 2))
            day += int(rng.integers(20, 40))
    return cands.OrderLog.build(ids, days, amounts)


def test_bgnbd_is_a_candidate_where_customers_drop_out():
    log = _log_from_bgnbd(clv.BgNbdParams(r=0.8, alpha=40.0, a=0.8, b=2.5), 1500, seed=1)
    fitted = cands.fit_candidate("bgnbd_gg", log, TODAY, 90)
    pred = fitted.predict(log, TODAY, 90)
    assert pred.p_alive is not None and np.ptp(pred.p_alive) > 0.5  # it tells lapsed from active


def test_bgnbd_that_sees_nobody_leave_is_refused_by_what_it_implies():
    log = _log_of_steady_buyers(300, seed=2)
    s = cands.summarize(log, TODAY)
    raw = clv.fit_bgnbd(s.x, (s.last - s.first).astype(float), (TODAY - s.first).astype(float))
    assert abs(raw.params["a"] - 1) > 1e-3  # the old guard (a == 1) would have let this fit through
    with pytest.raises(cands.Unusable) as why:
        cands.fit_candidate("bgnbd_gg", log, TODAY, 90)
    assert why.value.en.startswith("the purchase model sees no customer leaving (P(alive) between")
    assert why.value.es.startswith("el modelo de compras no ve irse a ningún cliente")
    result = backtest.backtest_clv(log, TODAY)
    assert result.outcome("bgnbd_gg").score is None and result.chosen != "bgnbd_gg"
    assert {o.name for o in result.outcomes if o.score} >= {"naive", "last_period"}


def test_the_gradient_boosted_model_learns_from_earlier_windows_only():
    log = _log_from_bgnbd(clv.BgNbdParams(r=0.8, alpha=40.0, a=0.8, b=2.5), 800, seed=3)
    fitted = cands.fit_candidate("gbm", log, TODAY - 90, 90)
    # Every window it learned from ended by the day it was fitted: orders after it cannot have been seen.
    assert max(cands._snapshots(log.upto(TODAY - 90), TODAY - 90, fitted.horizon)) + fitted.horizon <= TODAY - 90
    pred = fitted.predict(log, TODAY - 90, 90)
    assert pred.value.shape == np.unique(log.upto(TODAY - 90).customer).shape and (pred.value >= 0).all()


def test_a_young_shop_cannot_train_the_gradient_boosted_model_and_is_told_why():
    log = _log_of_steady_buyers(100, seed=4).upto(TODAY)
    young = cands.OrderLog.build(*(getattr(log, f)[log.day > TODAY - 60] for f in
                                   ("customer", "day", "amount", "discount", "online")))
    with pytest.raises(cands.Unusable) as why:
        cands.fit_candidate("gbm", young, TODAY, 90)
    assert why.value.en == "not enough history to learn from earlier periods (needs 75 days)"
    # A hundred days are enough: 30-day windows every 15 days.
    older = cands.OrderLog.build(*(getattr(log, f)[log.day > TODAY - 100] for f in
                                   ("customer", "day", "amount", "discount", "online")))
    assert cands.fit_candidate("gbm", older, TODAY, 90).horizon == 30


def test_a_stored_model_loads_only_with_our_signature():
    blob = model_store.dump({"weights": [1, 2, 3]})
    assert model_store.load(blob) == {"weights": [1, 2, 3]}
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    assert model_store.load(tampered) is None
    assert model_store.load(b"0" * 64 + blob[64:]) is None


def test_a_shop_of_one_time_buyers_backtests_without_crashing():
    # Nobody bought twice before the windows the gradient-boosted model learns from: its inter-purchase features
    # are missing for every row (scikit-learn cannot bin an all-missing column) and its labels are all zero.
    rng = np.random.default_rng(6)
    n = 300
    first = TODAY - rng.integers(100, 400, n)
    second = TODAY - rng.integers(95, 100, n)
    log = cands.OrderLog.build(np.r_[np.arange(n), np.arange(n)], np.r_[first, second], rng.uniform(10, 90, 2 * n))
    with pytest.raises(cands.Unusable) as why:
        cands.fit_candidate("gbm", log, TODAY - 90, 90)
    assert why.value.en == "nobody bought again in the earlier periods it would learn from"
    result = backtest.backtest_clv(log, TODAY)
    assert result.outcome("gbm").score is None and result.chosen in {"naive", "last_period"}


@pytest.mark.parametrize("seed", range(6))
def test_any_small_odd_shop_gets_a_choice_and_every_candidate_a_score_or_a_reason(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(20, 400))
    span = int(rng.integers(120, 700))
    per_customer = rng.integers(1, [2, 4, 12][seed % 3], n)
    ids = np.repeat(np.arange(n), per_customer)
    days = TODAY - rng.integers(0, span, len(ids))
    amounts = np.round(rng.lognormal(3, 1, len(ids)) * (rng.random(len(ids)) > 0.05), 2)  # some zero orders
    result = backtest.backtest_clv(cands.OrderLog.build(ids, days, amounts), TODAY)
    assert result.chosen in cands.CANDIDATES
    for o in result.outcomes:
        assert (o.score is not None) != bool(o.unusable_en) and (o.score is not None) != bool(o.unusable_es)


def test_features_see_the_season_ahead_and_the_last_gap():
    # Customer 1 bought in last year's December only; customer 2 buys every 10 days, the last gap 30.
    dec_last_year = TODAY - 365 + 20
    log = cands.OrderLog.build([1, 2, 2, 2, 2], [dec_last_year, TODAY - 50, TODAY - 40, TODAY - 30, TODAY],
                               [80.0, 5.0, 5.0, 5.0, 5.0])
    ids, x = cands.features(log, TODAY, horizon=30)
    col = {name: x[:, i] for i, name in enumerate(cands.FEATURES)}
    assert ids.tolist() == [1, 2]
    assert col["year_ago_window"].tolist() == [80.0, 0.0]  # the same 30 days, one year earlier
    assert col["last_gap"][1] == 30 and np.isnan(col["last_gap"][0])
    assert col["gap_change"][1] == pytest.approx(30 / (50 / 3))
    # A window that misses last December does not see it.
    _, x_short = cands.features(log, TODAY, horizon=10)
    assert x_short[0, cands.FEATURES.index("year_ago_window")] == 0.0


def test_a_model_stored_before_the_seasonal_features_still_scores():
    log = _log_from_bgnbd(clv.BgNbdParams(r=0.8, alpha=20.0, a=0.8, b=2.5), 400, seed=3)
    fitted = cands.fit_candidate("gbm", log, TODAY - 90, 90)
    assert fitted.naive_share in cands.NAIVE_SHARES
    old = cands.GradientBoosted(fitted.model, fitted.horizon, fitted.rounds)
    ids, x = cands.features(log, TODAY - 90, 90, cands.FEATURES_V1)
    from sklearn.ensemble import HistGradientBoostingRegressor

    old.model = HistGradientBoostingRegressor(max_iter=5).fit(x, np.arange(len(ids), dtype=float))
    del old.naive_share, old.features, old.target, old.smear  # what an older pickle carries
    assert len(old.predict(log, TODAY - 90, 90).value) == len(ids)


def test_the_blend_is_chosen_before_the_cut_and_the_backtest_only_scores_it():
    log = _log_from_bgnbd(clv.BgNbdParams(r=0.8, alpha=20.0, a=0.8, b=2.5), 400, seed=5)
    result = backtest.backtest_clv(log, TODAY)
    gbm = result.outcome("gbm")
    assert gbm.naive_share in cands.NAIVE_SHARES
    assert result.as_metrics()["gbm"]["naive_share"] == gbm.naive_share
    # The model fitted on the orders before the cut alone, served as fitted, is exactly what was scored: the
    # held-out window chose no share (a choice made on it would flatter the score).
    seen, cut = log.upto(TODAY - 90), TODAY - 90
    fitted = cands.fit_candidate("gbm", seen, cut, 90)
    assert fitted.naive_share == gbm.naive_share
    later = log.spend_between(cut, TODAY)
    actual = np.array([later.get(c, 0.0) for c in np.unique(seen.customer).tolist()])
    assert backtest.score(fitted.predict(seen, cut, 90).value, actual).merit == pytest.approx(gbm.score.merit)


def test_blending_in_the_baseline_moves_ranks_not_the_forecast_total():
    model, naive = np.array([10.0, 5.0, 5.0]), np.array([0.0, 300.0, 0.0])
    mixed = cands.blend(model, naive, 0.5)
    assert mixed.sum() == pytest.approx(20.0)  # the model's total, whatever naive's level
    assert mixed.tolist() == pytest.approx([5.0, 12.5, 2.5])
    assert cands.blend(model, np.zeros(3), 0.5).tolist() == model.tolist()


def _log_spanning(days: int) -> cands.OrderLog:
    """Steady buyers whose first order in the shop was `days` days before TODAY."""
    log = _log_of_steady_buyers(60, seed=7)
    keep = log.day > TODAY - days
    return cands.OrderLog.build(np.r_[999, log.customer[keep]], np.r_[TODAY - days, log.day[keep]],
                                np.r_[25.0, log.amount[keep]])


def test_a_young_shop_holds_out_a_third_of_its_history_and_an_older_one_a_quarter_year():
    # Six months of orders: fitted on three and tested on three, the candidates would learn from half the shop.
    assert backtest.holdout_for(_log_spanning(180), TODAY) == 60
    assert backtest.holdout_for(_log_spanning(219), TODAY) == 73
    assert backtest.holdout_for(_log_spanning(400), TODAY) == 90
    assert backtest.holdout_for(_log_spanning(50), TODAY) == 30  # never less than a month
    assert backtest.holdout_for(_log_spanning(400), TODAY - 280) == 40  # only the history up to the day counts
    result = backtest.backtest_clv(_log_spanning(180), TODAY, names=("naive", "last_period"))
    assert (result.cut, result.end) == (TODAY - 60, TODAY)
    assert backtest.backtest_clv(_log_spanning(180), TODAY, 90, names=("naive",)).cut == TODAY - 90


def test_the_blend_keeps_the_models_total_at_every_horizon(monkeypatch):
    # Half the customers arrived in the last four months: their naive money is not linear in the horizon (a
    # customer younger than the horizon counts as that old), so one rate taken at 90 days moved the 150-day total.
    old = _log_from_bgnbd(clv.BgNbdParams(r=0.8, alpha=20.0, a=0.8, b=2.5), 300, seed=8)
    rng = np.random.default_rng(8)
    new_ids = np.repeat(np.arange(1000, 1300), 2)
    new_days = TODAY - rng.integers(0, 120, len(new_ids))
    log = cands.OrderLog.build(np.r_[old.customer, new_ids], np.r_[old.day, new_days],
                               np.r_[old.amount, rng.uniform(10, 80, len(new_ids))])
    monkeypatch.setattr(cands, "_naive_share", lambda *a, **k: 0.5)  # a blend, whatever this shop's window says
    fitted = cands.fit_candidate("gbm", log, TODAY, 90)
    assert fitted.naive_share == 0.5
    for h in (30, 90, 150, 365):
        pure = fitted.predict(log, TODAY, h, blended=False, leveled=False).value.sum()
        assert fitted.predict(log, TODAY, h, leveled=False).value.sum() == pytest.approx(pure, rel=1e-9)
    assert fitted.naive_rate(150) != pytest.approx(fitted.naive_rate(90), rel=0.01)
    # The rate is fixed when fitted: one customer scored alone gets what it gets among all the others.
    full = fitted.predict(log, TODAY, 150)
    alone = fitted.predict(log.only([1005]), TODAY, 150)
    assert alone.value[0] == pytest.approx(full.value[full.customers.tolist().index(1005)])
    # A model stored before one rate per horizon blends with its single rate.
    del fitted.naive_scales
    assert fitted.naive_rate(150) == fitted.naive_scale


def _totals(fitted: cands.GradientBoosted, log: cands.OrderLog, h: int) -> tuple[float, float]:
    return (fitted.predict(log, TODAY, h).value.sum(), fitted.predict(log, TODAY, h, leveled=False).value.sum())


def test_the_shop_total_is_the_mean_of_the_boosted_models_and_bgnbds_where_customers_drop_out():
    log = _log_from_bgnbd(clv.BgNbdParams(r=0.8, alpha=20.0, a=0.8, b=2.5), 500, seed=9)
    fitted = cands.fit_candidate("gbm", log, TODAY, 90)
    bg = cands.fit_candidate("bgnbd_gg", log, TODAY, 90)
    assert cands.anchor_totals(log, TODAY, [90])[0] == "bgnbd_gg"
    for h in (30, 90, 150, 365):
        served, own = _totals(fitted, log, h)
        assert served == pytest.approx((own + bg.predict(log, TODAY, h).value.sum()) / 2, rel=0.01)
    # Every customer moves by the same factor: who ranks above whom, and so the tiers, stay the model's.
    leveled, raw = fitted.predict(log, TODAY, 150).value, fitted.predict(log, TODAY, 150, leveled=False).value
    assert np.allclose(leveled, raw * fitted.level(150))
    assert fitted.level(150) != pytest.approx(1.0, abs=1e-3)
    # Fixed when fitted: one customer scored alone gets what it gets among all the others.
    full = fitted.predict(log, TODAY, 150)
    one = int(full.customers[np.argmax(full.value)])
    assert fitted.predict(log.only([one]), TODAY, 150).value[0] == pytest.approx(full.value.max())


def test_where_bgnbd_sees_nobody_leave_the_shop_total_leans_on_the_naive_baseline():
    log = _log_of_steady_buyers(300, seed=10)
    fitted = cands.fit_candidate("gbm", log, TODAY, 90)
    assert cands.anchor_totals(log, TODAY, [90])[0] == "naive"
    served, own = _totals(fitted, log, 150)
    assert served == pytest.approx((own + cands.Naive().predict(log, TODAY, 150).value.sum()) / 2, rel=0.01)


def test_a_model_stored_before_the_shop_level_keeps_its_own_total():
    log = _log_of_steady_buyers(200, seed=11)
    fitted = cands.fit_candidate("gbm", log, TODAY, 90)
    del fitted.level_scales  # what an older pickle carries
    served, own = _totals(fitted, log, 150)
    assert fitted.level(150) == 1.0 and served == own

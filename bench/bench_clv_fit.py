"""CLV fit time for 100,000 customers (issue 5): BG/NBD + Gamma-Gamma by maximum likelihood (SciPy L-BFGS-B).

Customers are drawn from known parameters (daily time unit, one to eighteen months of history), so the bench
also prints the recovered parameters next to the true ones. Then the same shop's predictions (P(alive), expected
orders and value over 90 and 365 days) are timed, since a refit always rescores every profile.
Usage: bench_clv_fit.py [--customers 100000] [--seed 1]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.segments import clv  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    n = args.customers
    rng = np.random.default_rng(args.seed)

    # CDNOW-like purchase behaviour, rescaled from weeks to days.
    true_bg = clv.BgNbdParams(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426)
    true_gg = clv.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    T = rng.integers(30, 548, n).astype(float)  # noqa: N806 - days since each customer's first order
    t0 = time.perf_counter()
    x, t_x = clv.simulate_bgnbd(true_bg, T, seed=args.seed)
    t_x = np.floor(t_x)  # the app works at day granularity
    # Spend: per-customer scale nu ~ Gamma(q, gamma), each transaction ~ Gamma(p, nu); mbar = mean of x of them.
    nu = rng.gamma(true_gg.q, 1.0 / true_gg.gamma, n)
    mbar = np.where(x > 0, rng.gamma(true_gg.p * np.maximum(x, 1), 1.0 / (nu * np.maximum(x, 1))), 0.0)
    mbar = np.round(mbar, 2)
    gen = time.perf_counter() - t0

    t1 = time.perf_counter()
    bg = clv.fit_bgnbd(x, t_x, T)
    t_bg = time.perf_counter() - t1
    t2 = time.perf_counter()
    keep = (x > 0) & (mbar > 0)
    gg = clv.fit_gamma_gamma(x[keep], mbar[keep])
    t_gg = time.perf_counter() - t2

    t3 = time.perf_counter()
    p = clv.BgNbdParams(**bg.params)
    g = clv.GammaGammaParams(**gg.params)
    alive = clv.bgnbd_p_alive(p, x, t_x, T)
    spend = clv.gamma_gamma_expected_spend(g, x, np.where(mbar > 0, mbar, 1.0))
    values = {h: clv.bgnbd_expected_purchases(p, h, x, t_x, T) * spend for h in (90, 365)}
    t_pred = time.perf_counter() - t3

    print(f"customers: {n:,}  repeaters: {int((x > 0).sum()):,}  repeat purchases: {int(x.sum()):,}  "
          f"(simulated in {gen:.2f} s)")
    print(f"BG/NBD fit:      {t_bg:6.2f} s  ({bg.iterations} iterations, converged={bg.converged}, "
          f"LL={bg.log_likelihood:,.1f})")
    print(f"Gamma-Gamma fit: {t_gg:6.2f} s  ({gg.iterations} iterations, converged={gg.converged})")
    print(f"predictions:     {t_pred:6.2f} s  (P(alive), orders and value over 90 and 365 days, {n:,} customers)")
    print(f"total fit + score: {t_bg + t_gg + t_pred:.2f} s")
    print("parameter   true      recovered   error")
    for name in ("r", "alpha", "a", "b"):
        tv, rv = getattr(true_bg, name), bg.params[name]
        print(f"  {name:<9} {tv:8.3f}  {rv:10.3f}   {100 * (rv - tv) / tv:+6.1f} %")
    for name in ("p", "q", "gamma"):
        tv, rv = getattr(true_gg, name), gg.params[name]
        print(f"  {name:<9} {tv:8.3f}  {rv:10.3f}   {100 * (rv - tv) / tv:+6.1f} %")
    print(f"mean P(alive) {alive.mean():.3f}; mean predicted value 90 d {values[90].mean():.2f}, "
          f"365 d {values[365].mean():.2f}")


if __name__ == "__main__":
    main()

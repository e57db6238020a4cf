"""Predicted lifetime value: BG/NBD for how often a customer buys, Gamma-Gamma for how much.

Both models are fitted per shop by maximum likelihood. The log-likelihoods are written from the papers:
- BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", eq. (6), in the numerically
  stable form of Fader & Hardie's note 027 ("Overcoming the BG/NBD model's #NUM! error problem").
- Gamma-Gamma: Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value", eq. (3) (full density).
Parameters are optimised in log space (so they stay positive) with L-BFGS-B. Identical (x, t_x, T) rows are
collapsed with a weight first: shops have many customers sharing a history at day granularity, which makes a
100,000-customer fit a few thousand-row problem.

Units: whatever the caller uses for t_x and T (days in the app, weeks for the CDNOW reproduction).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import optimize, special

# Below these, parameter estimates are noise: the shop gets an RFM tier instead, and is told why.
MIN_CUSTOMERS = 200
MIN_REPEAT_CUSTOMERS = 50
MIN_SPAN_DAYS = 90


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float


@dataclass
class FitResult:
    params: dict
    log_likelihood: float
    converged: bool
    iterations: int
    message: str = ""
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _collapse(*cols: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows and their counts: the likelihood of n identical customers is n times one."""
    stacked = np.column_stack(cols)
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    return [uniq[:, i] for i in range(uniq.shape[1])], counts.astype(float)


def _minimize(nll, theta0: np.ndarray, n: int) -> optimize.OptimizeResult:  # noqa: ANN001 - a callable
    """L-BFGS-B in log-parameters; when its line search gives up near the optimum (finite-difference gradients
    are noisy there), Nelder-Mead polishes from where it stopped and decides convergence."""
    bounds = [(-12.0, 12.0)] * n  # keeps exp() finite; real shops sit far inside
    res = optimize.minimize(nll, theta0, method="L-BFGS-B", bounds=bounds,
                            options={"maxiter": 2000, "ftol": 1e-12, "gtol": 1e-8})
    if res.success:
        return res
    polished = optimize.minimize(nll, res.x, method="Nelder-Mead", bounds=bounds,
                                 options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-9})
    polished.nit = int(res.nit) + int(polished.nit)
    return polished


# ---------------------------------------------------------------- BG/NBD


def bgnbd_log_likelihood(params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:  # noqa: N803
    """Per-customer log-likelihood (FHL 2005, eq. 6; stable form of note 027)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))  # noqa: N806
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    # ln(a) - ln(b + x - 1) - (r + x) ln(alpha + t_x), only defined (and only present) when x > 0
    a4 = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return a1 + a2 + np.logaddexp(a3, a4)


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, start: BgNbdParams | None = None) -> FitResult:  # noqa: N803
    (ux, utx, uT), w = _collapse(np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float))
    scale = float(np.mean(uT)) or 1.0
    s0 = start or BgNbdParams(r=1.0, alpha=scale, a=1.0, b=1.0)

    def nll(theta: np.ndarray) -> float:
        r, alpha, a, b = np.exp(theta)
        ll = bgnbd_log_likelihood(BgNbdParams(r, alpha, a, b), ux, utx, uT)
        value = -float(np.dot(w, ll))
        return value if np.isfinite(value) else 1e300

    res = _minimize(nll, np.log([s0.r, s0.alpha, s0.a, s0.b]), 4)
    r, alpha, a, b = (float(v) for v in np.exp(res.x))
    return FitResult(
        params={"r": r, "alpha": alpha, "a": a, "b": b},
        log_likelihood=-float(res.fun),
        converged=bool(res.success),
        iterations=int(res.nit),
        message=str(res.message),
    )


def bgnbd_p_alive(params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:  # noqa: N803
    """P(alive | x, t_x, T) (FHL 2005, eq. 12). A customer who never repeated is alive with certainty."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))  # noqa: N806
    repeat = x > 0
    log_ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    odds = np.where(repeat, np.exp(np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) + log_ratio), 0.0)
    return 1.0 / (1.0 + odds)


def bgnbd_expected_purchases(
    params: BgNbdParams, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray  # noqa: N803
) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in the next t periods (FHL 2005, eq. 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))  # noqa: N806
    z = t / (alpha + T + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    numer = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    repeat = x > 0
    odds = np.where(
        repeat,
        a / np.where(repeat, b + x - 1, 1.0) * ((alpha + T) / (alpha + t_x)) ** (r + x),
        0.0,
    )
    out = numer / (1 + odds)
    return np.clip(np.nan_to_num(out, nan=0.0, posinf=0.0), 0.0, None)


# ---------------------------------------------------------------- Gamma-Gamma


def gamma_gamma_log_likelihood(params: GammaGammaParams, x: np.ndarray, mbar: np.ndarray) -> np.ndarray:
    """Per-customer log-likelihood of mean spend mbar over x transactions (Fader & Hardie 2013, eq. 3)."""
    p, q, g = params.p, params.q, params.gamma
    x = np.asarray(x, dtype=float)
    mbar = np.asarray(mbar, dtype=float)
    px = p * x
    return (
        special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
        + q * np.log(g) + (px - 1) * np.log(mbar) + px * np.log(x) - (px + q) * np.log(g + x * mbar)
    )


def fit_gamma_gamma(x: np.ndarray, mbar: np.ndarray, start: GammaGammaParams | None = None) -> FitResult:
    x = np.asarray(x, float)
    mbar = np.asarray(mbar, float)
    keep = (x > 0) & (mbar > 0)
    (ux, um), w = _collapse(x[keep], mbar[keep])
    s0 = start or GammaGammaParams(p=1.0, q=1.0, gamma=float(np.mean(um)) if len(um) else 1.0)

    def nll(theta: np.ndarray) -> float:
        p, q, g = np.exp(theta)
        value = -float(np.dot(w, gamma_gamma_log_likelihood(GammaGammaParams(p, q, g), ux, um)))
        return value if np.isfinite(value) else 1e300

    res = _minimize(nll, np.log([s0.p, s0.q, s0.gamma]), 3)
    p, q, g = (float(v) for v in np.exp(res.x))
    return FitResult(
        params={"p": p, "q": q, "gamma": g},
        log_likelihood=-float(res.fun),
        converged=bool(res.success),
        iterations=int(res.nit),
        message=str(res.message),
    )


def gamma_gamma_expected_spend(params: GammaGammaParams, x: np.ndarray, mbar: np.ndarray) -> np.ndarray:
    """E[M | x, mbar] (Fader & Hardie 2013, eq. 5); customers without repeats get the population mean."""
    p, q, g = params.p, params.q, params.gamma
    x = np.asarray(x, dtype=float)
    mbar = np.asarray(mbar, dtype=float)
    population_mean = p * g / (q - 1) if q > 1 else float("nan")
    conditional = (p * (g + x * mbar)) / np.maximum(p * x + q - 1, 1e-12)
    return np.where(x > 0, conditional, population_mean)


# ---------------------------------------------------------------- simulation (benches and tests)


def simulate_bgnbd(params: BgNbdParams, T: np.ndarray, seed: int = 0,  # noqa: N803
                   holdout: float = 0.0) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw (x, t_x) for customers observed for T periods from the BG/NBD generative story.

    With `holdout` > 0 also return each customer's purchases in (T, T + holdout], for checking forecasts.
    """
    rng = np.random.default_rng(seed)
    T = np.asarray(T, dtype=float)  # noqa: N806
    n = len(T)
    lam = rng.gamma(params.r, 1.0 / params.alpha, size=n)
    p_drop = rng.beta(params.a, params.b, size=n)
    x = np.zeros(n, dtype=int)
    later = np.zeros(n, dtype=int)
    t_x = np.zeros(n)
    t = np.zeros(n)
    end = T + holdout
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        t_next = t[idx] + rng.exponential(1.0 / lam[idx])
        inside = t_next <= end[idx]
        active[idx[~inside]] = False
        buy = idx[inside]
        t[buy] = t_next[inside]
        calibration = t[buy] <= T[buy]
        x[buy[calibration]] += 1
        t_x[buy[calibration]] = t[buy[calibration]]
        later[buy[~calibration]] += 1
        # After each purchase the customer drops out with probability p (the "BG" part).
        dropped = rng.random(len(buy)) < p_drop[buy]
        active[buy[dropped]] = False
    if holdout:
        return x, t_x, later
    return x, t_x

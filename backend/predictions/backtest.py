"""One backtest for every prediction: hold out the shop's own most recent window, fit each candidate on what came
before, score it on what really happened, and pick what wins for this shop.

Metrics (all on customers who had bought before the cut, against what they spent in the held-out window):
- spearman: rank correlation of predicted and actual spend (ties averaged);
- capture: share of the window's actual revenue that came from the predicted top 20 % of customers;
- total_error: predicted total / actual total - 1.
The winner maximises the mean of spearman and capture (ranking is what tiers and offers use); naive baselines
are candidates too, so the winner is never worse than them on the shop's own history.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats

from . import clv_candidates as cands

logger = logging.getLogger("personalize.predictions")
HOLDOUT_DAYS = 90
# A young shop holds out less: the candidates keep at least two thirds of its history to learn from. Fitted on
# half of six months, the boosted model measures its own starvation, not the model that will serve (UCI Online
# Retail cut 2011-05-31: it lost a 90-day backtest fitted on 3 months, won a 60-day one, and was better on the
# real next 150 days). Never less than a month: shorter windows rank buyers by luck.
MIN_HOLDOUT_DAYS = 30
HISTORY_SHARE_HELD_OUT = 1 / 3
TOP_SHARE = 0.20


@dataclass
class Score:
    spearman: float
    capture: float
    total_error: float
    predicted_total: float
    actual_total: float
    predicted_top: float  # what the model said its top 20 % would spend
    actual_top: float  # what they did spend
    seconds: float

    @property
    def merit(self) -> float:
        return (self.spearman + self.capture) / 2


def score(predicted: np.ndarray, actual: np.ndarray, seconds: float = 0.0) -> Score:
    predicted = np.asarray(predicted, float)
    actual = np.asarray(actual, float)
    n = len(actual)
    # A constant side (nobody bought in the window, or one prediction for all) ranks nothing: no correlation.
    ranks = n > 2 and np.ptp(predicted) > 0 and np.ptp(actual) > 0
    rho = float(stats.spearmanr(predicted, actual).statistic) if ranks else 0.0
    top = np.argsort(-predicted, kind="stable")[: max(1, int(round(TOP_SHARE * n)))] if n else np.zeros(0, int)
    total = float(actual.sum())
    return Score(spearman=0.0 if np.isnan(rho) else rho,
                 capture=float(actual[top].sum() / total) if total > 0 else 0.0,
                 total_error=float(predicted.sum() / total - 1) if total > 0 else 0.0,
                 predicted_total=float(predicted.sum()), actual_total=total,
                 predicted_top=float(predicted[top].sum()), actual_top=float(actual[top].sum()), seconds=seconds)


@dataclass
class Outcome:
    """One candidate in one backtest: its score, or why it could not take part."""

    name: str
    score: Score | None = None
    unusable_en: str = ""
    unusable_es: str = ""
    naive_share: float | None = None  # gbm only: the share of the naive baseline it blends in (chosen in its fit)


@dataclass
class ClvBacktest:
    cut: int  # last day the candidates saw
    end: int  # last day of the held-out window
    n_customers: int
    outcomes: list[Outcome] = field(default_factory=list)
    chosen: str = ""

    def outcome(self, name: str) -> Outcome:
        return next(o for o in self.outcomes if o.name == name)

    def as_metrics(self) -> dict:
        return {o.name: ({**asdict(o.score), **({} if o.naive_share is None else {"naive_share": o.naive_share})}
                         if o.score else {"unusable": o.unusable_en, "unusable_es": o.unusable_es})
                for o in self.outcomes}


def choose(outcomes: list[Outcome]) -> str:
    """Best merit wins; a tie goes to the simpler candidate (CANDIDATES runs from most to least complex): a
    fancier model must earn its place."""
    scored = [o for o in outcomes if o.score is not None]
    order = {name: i for i, name in enumerate(reversed(cands.CANDIDATES))}
    best = max(scored, key=lambda o: (round(o.score.merit, 6), -order[o.name]))
    return best.name


def holdout_for(log: cands.OrderLog, today: int) -> int:
    """Days the shop's backtest holds out: a third of its history, between a month and HOLDOUT_DAYS."""
    seen = log.day[log.day <= today]
    history = int(today - seen.min()) if len(seen) else 0
    return int(min(HOLDOUT_DAYS, max(MIN_HOLDOUT_DAYS, history * HISTORY_SHARE_HELD_OUT)))


def backtest_clv(log: cands.OrderLog, today: int, holdout: int | None = None,
                 names: tuple[str, ...] = cands.CANDIDATES) -> ClvBacktest:
    """Fit every candidate on orders up to `today - holdout`, score each on the `holdout` days after (by default
    as many days as `holdout_for` gives this shop's history)."""
    holdout = holdout_for(log, today) if holdout is None else holdout
    cut = today - holdout
    seen = log.upto(cut)
    customers = np.unique(seen.customer)
    later = log.spend_between(cut, today)
    actual = np.array([later.get(c, 0.0) for c in customers.tolist()])
    result = ClvBacktest(cut=cut, end=today, n_customers=len(customers))
    for name in names:
        started = time.perf_counter()
        try:
            fitted = cands.fit_candidate(name, seen, cut, holdout)
            pred = fitted.predict(seen, cut, holdout)
            if not np.array_equal(pred.customers, customers):
                raise ValueError("the candidate did not predict every customer")
            # The blend was chosen inside the fit, on a window before the cut: nothing is chosen on the scored one.
            share = fitted.naive_share if isinstance(fitted, cands.GradientBoosted) else None
            scored = score(pred.value, actual, time.perf_counter() - started)
        except cands.Unusable as why:
            result.outcomes.append(Outcome(name, unusable_en=why.en, unusable_es=why.es))
            continue
        except Exception:  # one candidate's bug must not leave the shop's tiers stale: log it, the others compete
            logger.exception("CLV candidate %s failed", name)
            result.outcomes.append(Outcome(name, unusable_en="it failed on this shop's data (logged for us)",
                                           unusable_es="falló con los datos de esta tienda (queda registrado)"))
            continue
        result.outcomes.append(Outcome(name, scored, naive_share=share))
    result.chosen = choose(result.outcomes)
    return result

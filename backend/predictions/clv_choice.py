"""Per shop: backtest every lifetime-value candidate, store the backtest, refit the winner on everything.

`choose` is what the segments' valuation calls on each scheduled refit; the winner it returns scores profiles
until the next one. When the winner cannot be refitted on the full history (say BG/NBD turns degenerate once
the last quarter is added), the next best of the backtest takes its place, and the stored reason says so.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date

import numpy as np

from . import backtest
from . import clv_candidates as cands
from .models import Backtest

logger = logging.getLogger("personalize.predictions")
LABELS = {
    "bgnbd_gg": ("BG/NBD + Gamma-Gamma", "BG/NBD + Gamma-Gamma"),
    "gbm": ("gradient boosting on your earlier periods", "gradient boosting sobre tus periodos anteriores"),
    "naive": ("past spend per day", "gasto diario pasado"),
    "last_period": ("last period's spend", "gasto del último periodo"),
}


@dataclass
class Choice:
    name: str
    fitted: cands.Fitted
    backtest: Backtest


def _reasons(result: backtest.ClvBacktest, name: str, skipped: list[tuple[str, str, str]]) -> tuple[str, str]:
    outcome = result.outcome(name)
    s = outcome.score
    label_en, label_es = LABELS[name]
    if outcome.naive_share:
        pct = round(100 * outcome.naive_share)
        label_en += f" blended {pct} % with past spend per day"
        label_es += f" mezclado al {pct} % con el gasto diario pasado"
    en = [f"{label_en} ranked your customers best on the held-out {result.end - result.cut} days "
          f"(Spearman {s.spearman:.2f}; its top 20 % brought {100 * s.capture:.0f} % of that revenue)"]
    es = [f"{label_es} ordenó mejor a tus clientes en los {result.end - result.cut} días reservados "
          f"(Spearman {s.spearman:.2f}; su 20 % superior aportó el {100 * s.capture:.0f} % de esos ingresos)"]
    for other, why_en, why_es in skipped:
        en.append(f"{LABELS[other][0]} not used: {why_en}")
        es.append(f"{LABELS[other][1]} no se usa: {why_es}")
    return "; ".join(en)[:500], "; ".join(es)[:500]


def choose(shop_id: int, log: cands.OrderLog, today: date, holdout: int | None = None,
           horizon: int = backtest.HOLDOUT_DAYS) -> Choice:
    """Backtest on `holdout` days (by default scaled to the shop's history), refit the winner on everything for
    windows of `horizon` days."""
    started = time.perf_counter()
    day = today.toordinal()
    result = backtest.backtest_clv(log, day, holdout)
    skipped = [(o.name, o.unusable_en, o.unusable_es) for o in result.outcomes if o.score is None]
    ranked = sorted((o for o in result.outcomes if o.score is not None),
                    key=lambda o: o.name != result.chosen)  # the backtest's winner first, then the rest
    ranked = [ranked[0]] + sorted(ranked[1:], key=lambda o: -o.score.merit)
    for outcome in ranked:
        try:
            fitted = cands.fit_candidate(outcome.name, log, day, horizon)
            break
        except cands.Unusable as why:  # fine on the older data, not on all of it
            skipped.append((outcome.name, f"on the full history, {why.en}", f"con todo el historial, {why.es}"))
        except Exception:  # a bug in one candidate: the next best serves, and we hear about it
            logger.exception("CLV candidate %s failed on the full history of shop %s", outcome.name, shop_id)
            skipped.append((outcome.name, "it failed on the full history (logged for us)",
                            "falló con todo el historial (queda registrado)"))
    else:  # naive and last_period never refuse, so this is unreachable; keep the loop honest anyway
        raise RuntimeError("no candidate could be fitted")
    en, es = _reasons(result, outcome.name, skipped)
    row = Backtest.objects.create(
        shop_id=shop_id, kind=Backtest.Kind.CLV, cut=date.fromordinal(result.cut), end=date.fromordinal(result.end),
        n_customers=result.n_customers, metrics=result.as_metrics(), chosen=outcome.name, reason=en, reason_es=es,
        seconds=time.perf_counter() - started)
    return Choice(outcome.name, fitted, row)


def typical_gap_days(log: cands.OrderLog, today: int) -> float | None:
    """Median days between purchase days of customers who came back."""
    s = cands.summarize(log, today)
    repeat = s.days > 1
    if not repeat.any():
        return None
    return float(np.median((s.last[repeat] - s.first[repeat]) / (s.days[repeat] - 1)))

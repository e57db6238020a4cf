"""Also-bought's backtest stored per shop, and what the lists and the widgets screen read back from it.

The nightly recompute (recommendations.also_bought.full_recompute) runs the backtest of `also_bought_choice` on
the orders it already read, stores it here next to the CLV backtests, and writes the "auto" lists with the winner.
Lift is guarded: a merchant's explicit pick is served only while the latest backtest shows pure lift beating
popularity on the shop's own held-out window; otherwise the shop gets the chosen lists and the screen says why.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.translation import gettext as _

from .also_bought_choice import AlsoBoughtBacktest, name_of
from .models import Backtest

LABELS = {
    "bm25": ("Balanced", "Equilibrado"), "cosine": ("Similar baskets", "Cestas parecidas"),
    "jaccard": ("Shared buyers", "Compradores en común"), "lift": ("Surprising pairs", "Parejas sorprendentes"),
}


@dataclass(frozen=True)
class Pick:
    algorithm: str  # the similarity behind the "auto" lists
    blend: float  # share of popularity mixed into them (1 = bestsellers)
    lift_ok: bool  # pure lift beat popularity on the latest backtest
    tested: bool = True


UNTESTED = Pick("bm25", 0.0, lift_ok=False, tested=False)  # no returning customers yet: the offline default


def _day(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC).date()


def _label(r: object, lang: int) -> str:
    if r.blend == 1.0:
        return ("bestsellers", "los más vendidos")[lang]
    if r.blend == 0.0:
        return LABELS[r.algorithm][lang]
    share = f"{100 * r.blend:.0f} %"
    return (f"{LABELS[r.algorithm][0]} with {share} bestsellers", f"{LABELS[r.algorithm][1]} con {share} de los más "
                                                                   "vendidos")[lang]


def record(shop_id: int, bt: AlsoBoughtBacktest, seconds: float) -> Backtest:
    """Store one backtest; `chosen` is the winner's name ("" when there was nobody to test on)."""
    metrics = {r.name: {"algorithm": r.algorithm, "blend": r.blend, "recall": r.recall, "hit_rate": r.hit_rate}
               for r in bt.results}
    days = round((bt.end - bt.cut) / 86400)
    if bt.chosen is None:
        en = "no returning customers in the last 90 days yet, so the lists use the default until there are"
        es = ("aún no hay clientes que hayan vuelto en los últimos 90 días, así que las listas usan la opción por "
              "defecto")
    else:
        c, pop = bt.chosen, bt.result("bm25", 1.0)
        en = (f"{_label(c, 0)} found {100 * c.recall:.0f} % of what {bt.n_customers} returning customers bought in "
              f"your last {days} days; bestsellers alone found {100 * pop.recall:.0f} %")
        es = (f"{_label(c, 1)} acertó el {100 * c.recall:.0f} % de lo que compraron {bt.n_customers} clientes que "
              f"volvieron en tus últimos {days} días; los más vendidos solos, el {100 * pop.recall:.0f} %")
    return Backtest.objects.create(
        shop_id=shop_id, kind=Backtest.Kind.ALSO_BOUGHT, cut=_day(bt.cut), end=_day(bt.end),
        n_customers=bt.n_customers, metrics=metrics, chosen=bt.chosen.name if bt.chosen else "", reason=en[:500],
        reason_es=es[:500], seconds=seconds)


def latest_row(shop_id: int) -> Backtest | None:
    return (Backtest.objects.for_shop(shop_id).filter(kind=Backtest.Kind.ALSO_BOUGHT).order_by("-created_at", "-pk")
            .first())


def pick_of(row: Backtest | None) -> Pick:
    if row is None or not row.chosen or row.chosen not in row.metrics:
        return UNTESTED
    m = row.metrics
    chosen = m[row.chosen]
    lift, pop = m.get(name_of("lift", 0.0)), m.get(name_of("bm25", 1.0))
    lift_ok = bool(lift and pop and lift["recall"] > pop["recall"])
    return Pick(str(chosen["algorithm"]), float(chosen["blend"]), lift_ok)


def latest(shop_id: int) -> Pick:
    return pick_of(latest_row(shop_id))


def widget_note(shop_id: int, algorithm: str, lang: str) -> str:
    """The widgets screen's line under the algorithm: why the recommended lists are what they are, and whether
    the merchant's lift pick is served."""
    row = latest_row(shop_id)
    if row is None:
        return ""
    reason = row.reason_es if lang == "es" and row.reason_es else row.reason
    if algorithm == "lift" and not pick_of(row).lift_ok:
        return _("Surprising pairs did no better than bestsellers on your own recent orders, so shoppers see the "
                 "recommended choice instead. Tested: %(reason)s.") % {"reason": reason}
    if algorithm:
        return ""
    return _("Recommended for your shop: %(reason)s.") % {"reason": reason}

"""Per shop: fit the lifetime-value models (clv.py), store the fit, and score profiles against it.

Scoring needs shop-wide numbers (RFM quintiles, value percentiles). The fit stores them as breakpoints, so one
profile can be scored in real time against the shop's latest fit without touching the rest of the shop.
Shops with too little history get an RFM-based tier instead, and the fit row says why.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import numpy as np
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from backend.customers.models import CustomerProfile, Identity
from backend.customers.profiles import write_fields
from backend.predictions import backtest, clv_choice, model_store
from backend.predictions import clv_candidates as cands
from backend.predictions.backtest import HOLDOUT_DAYS

from . import clv
from .models import ClvFit

HORIZONS = (90, 365)
TIER_CUTS = (("high", 70.0), ("medium", 40.0))


@dataclass
class History:
    """One profile's purchase history at day granularity, as the models want it."""

    x: int  # repeat purchase days
    t_x: float  # days from first to last purchase day
    T: float  # days from first purchase day to today  # noqa: N815
    mbar: float  # mean value of repeat purchase days (0 without repeats)
    recency_days: float
    orders: int
    spent: float


def order_log(shop_id: int, profile_ids: list[int] | None = None) -> cands.OrderLog:
    """Every counted order of the shop's active profiles (customer = profile id, day = ordinal of its UTC date)."""
    from backend.orders.models import Order

    ident = Identity.objects.for_shop(shop_id).filter(kind=Identity.Kind.CUSTOMER, customer__isnull=False,
                                                     profile__is_active=True)
    if profile_ids is not None:
        ident = ident.filter(profile_id__in=profile_ids)
    owner = dict(ident.values_list("customer_id", "profile_id"))
    if not owner:
        return cands.OrderLog.build([], [], [])
    orders = Order.objects.for_shop(shop_id).filter(cancelled_at__isnull=True, customer_id__isnull=False)
    if profile_ids is not None:
        orders = orders.filter(customer_id__in=list(owner))
    rows = orders.annotate(when=Coalesce("processed_at", "platform_created_at"),
                           net=F("total_price") - F("total_refunded")).values_list(
        "customer_id", "when", "net", "total_discounts", "channel")
    cols: tuple[list, ...] = ([], [], [], [], [])
    for customer_id, when, net, discounts, channel in rows.iterator(chunk_size=5000):
        pid = owner.get(customer_id)
        if pid is None or when is None:
            continue
        net = float(net or 0)
        discounts = float(discounts or 0)
        for col, value in zip(cols, (pid, when.date().toordinal(), net,
                                     discounts / (net + discounts) if net + discounts > 0 else 0.0,
                                     1.0 if channel == "online" else 0.0), strict=True):
            col.append(value)
    return cands.OrderLog.build(*cols)


def _histories(log: cands.OrderLog, today: date) -> dict[int, History]:
    s = cands.summarize(log, today.toordinal())
    day = today.toordinal()
    return {int(pid): History(x=int(s.x[i]), t_x=float(s.last[i] - s.first[i]), T=float(max(day - s.first[i], 0)),
                              mbar=float(s.mbar[i]), recency_days=float(day - s.last[i]), orders=int(s.orders[i]),
                              spent=float(s.spent[i]))
            for i, pid in enumerate(s.customers.tolist())}


def _quintile_breaks(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.percentile(values, [20, 40, 60, 80])] if len(values) else []


def _score_up(value: float, breaks: list[float]) -> int:
    """1..5: how many quintile breaks the value exceeds, plus one."""
    return 1 + int(np.searchsorted(np.asarray(breaks), value, side="left")) if breaks else 0


def _percentile(score: float, breaks: list[float]) -> float:
    if not breaks:
        return 0.0
    return round(100.0 * np.searchsorted(np.asarray(breaks), score, side="right") / len(breaks), 2)


def _tier(percentile: float, vip_top_percent: int) -> str:
    if percentile > 100 - vip_top_percent:
        return "vip"
    for name, cut in TIER_CUTS:
        if percentile > cut:
            return name
    return "low"


def _rfm_value(h: History, rfm: dict) -> float:
    """The fallback value score: R+F+M quintile scores, ties broken by money spent."""
    r = 6 - _score_up(h.recency_days, rfm.get("recency", [])) if rfm.get("recency") else 0
    f = _score_up(h.orders, rfm.get("frequency", []))
    m = _score_up(h.spent, rfm.get("monetary", []))
    return r + f + m + min(h.spent, 1e9) / 1e10


def _fitted(fit: ClvFit | None) -> cands.Fitted | None:
    """The fit's chosen model, ready to predict; None for RFM (no money prediction)."""
    if fit is None:
        return None
    if fit.method == ClvFit.Method.MODEL:
        gg = fit.gamma_gamma_params
        return cands.BgNbdGammaGamma(clv.BgNbdParams(**fit.bgnbd_params),
                                     clv.GammaGammaParams(**{k: gg[k] for k in ("p", "q", "gamma")}),
                                     float(gg.get("mean_spend", 0.0)))
    if fit.method == ClvFit.Method.GBM:
        # A model that no longer loads scores with the naive baseline until the next refit replaces it.
        # model_state is deferred by latest_fit: its bytes are read only by a worker that has not loaded it yet.
        return model_store.cached(fit.pk) or model_store.load(fit.model_state, fit.pk) or cands.Naive()
    if fit.method == ClvFit.Method.NAIVE:
        return cands.Naive()
    if fit.method == ClvFit.Method.LAST_PERIOD:
        return cands.LastPeriod()
    return None


class ShopValuation:
    """A fit, ready to score profiles."""

    def __init__(self, fit: ClvFit | None):
        self.fit = fit
        self.fitted = _fitted(fit)
        self.model = self.fitted is not None

    def predictions(self, log: cands.OrderLog, today: date) -> dict[str, np.ndarray]:
        """Per customer of the log (sorted ids under "customers"): value and, for BG/NBD only, P(alive) and orders.
        P(alive) comes only from the model that won the shop's backtest; other models leave it out rather than
        show a number nobody tested."""
        day = today.toordinal()
        out: dict[str, np.ndarray] = {}
        for h in HORIZONS:
            pred = self.fitted.predict(log, day, h)
            out["customers"] = pred.customers
            out[f"value_{h}"] = pred.value
            if pred.orders is not None:
                out[f"orders_{h}"] = pred.orders
            if pred.p_alive is not None:
                out["p_alive"] = pred.p_alive
        return out

    def apply(self, profiles: list[CustomerProfile], hist: dict[int, History], vip_top_percent: int,
              log: cands.OrderLog | None = None, today: date | None = None) -> None:
        """Set RFM scores, predictions and tier on the given profiles (not saved)."""
        fit = self.fit
        rfm = fit.rfm_breaks if fit else {}
        buyers = [p for p in profiles if p.pk in hist]
        preds, row = {}, {}
        if self.model and buyers and log is not None and today is not None:
            preds = self.predictions(log, today)
            row = {int(c): i for i, c in enumerate(preds["customers"].tolist())}
        for p in profiles:
            h = hist.get(p.pk)
            if h is None or fit is None:
                p.r_score = p.f_score = p.m_score = 0
                p.p_alive = p.expected_orders_90 = p.expected_orders_365 = None
                p.expected_value_90 = p.expected_value_365 = None
                p.value_percentile, p.value_tier, p.value_tier_source = None, "", ""
                continue
            p.r_score = 6 - _score_up(h.recency_days, rfm.get("recency", [])) if rfm.get("recency") else 0
            p.f_score = _score_up(h.orders, rfm.get("frequency", []))
            p.m_score = _score_up(h.spent, rfm.get("monetary", []))
        if fit is None:  # the shop was never fitted: nothing to rank against yet
            return
        for p in buyers:
            h = hist[p.pk]
            i = row.get(p.pk)
            if i is not None:
                p.p_alive = float(preds["p_alive"][i]) if "p_alive" in preds else None
                p.expected_orders_90 = float(preds["orders_90"][i]) if "orders_90" in preds else None
                p.expected_orders_365 = float(preds["orders_365"][i]) if "orders_365" in preds else None
                p.expected_value_90 = Decimal(f"{preds['value_90'][i]:.2f}")
                p.expected_value_365 = Decimal(f"{preds['value_365'][i]:.2f}")
                score = float(preds["value_365"][i])
                p.value_tier_source = "clv"
            else:
                p.p_alive = p.expected_orders_90 = p.expected_orders_365 = None
                p.expected_value_90 = p.expected_value_365 = None
                score = _rfm_value(h, rfm)
                p.value_tier_source = "rfm"
            p.value_percentile = _percentile(score, fit.value_breaks)
            p.value_tier = _tier(p.value_percentile, vip_top_percent)


SCORED_FIELDS = ["r_score", "f_score", "m_score", "p_alive", "expected_orders_90", "expected_orders_365",
                 "expected_value_90", "expected_value_365", "value_percentile", "value_tier", "value_tier_source"]


def latest_fit(shop_id: int) -> ClvFit | None:
    return ClvFit.objects.for_shop(shop_id).defer("model_state").order_by("-fitted_at", "-pk").first()


def _returning_in_holdout(log: cands.OrderLog, today: int) -> bool:
    cut = today - backtest.holdout_for(log, today)  # the window the shop's backtest will hold out
    before = set(log.upto(cut).customer.tolist())
    return any(spent > 0 for customer, spent in log.spend_between(cut, today).items() if customer in before)


def fit_shop(shop_id: int, now: datetime | None = None) -> ClvFit:
    """Backtest the value models on the shop's own recent orders, store the winner refitted on everything (or say
    why the shop gets RFM tiers instead)."""
    started = time.perf_counter()
    now = now or timezone.now()
    today = now.date()
    log = order_log(shop_id)
    hist = _histories(log, today)
    hs = list(hist.values())
    n = len(hs)
    n_repeat = sum(1 for h in hs if h.x > 0)
    span = max((h.T for h in hs), default=0.0)
    rfm = {
        "recency": _quintile_breaks(np.array([h.recency_days for h in hs])),
        "frequency": _quintile_breaks(np.array([h.orders for h in hs], float)),
        "monetary": _quintile_breaks(np.array([h.spent for h in hs])),
    }
    fit = ClvFit(shop_id=shop_id, n_customers=n, n_repeat=n_repeat, rfm_breaks=rfm, fitted_at=now,
                 typical_gap_days=clv_choice.typical_gap_days(log, today.toordinal()) if n else None)
    need_span = HOLDOUT_DAYS + clv.MIN_SPAN_DAYS  # a quarter to test on and enough before it to learn from
    reason, reason_es = "", ""
    if n < clv.MIN_CUSTOMERS:
        reason = f"only {n} customers with orders (the model needs {clv.MIN_CUSTOMERS})"
        reason_es = f"solo {n} clientes con pedidos (el modelo necesita {clv.MIN_CUSTOMERS})"
    elif span < need_span:
        reason = f"only {span:.0f} days of history (the model needs {need_span})"
        reason_es = f"solo {span:.0f} días de historial (el modelo necesita {need_span})"
    elif not _returning_in_holdout(log, today.toordinal()):
        # Nothing to test against: every candidate would score zero and the tie would rank nobody.
        days = backtest.holdout_for(log, today.toordinal())
        reason = f"no returning customer ordered in the last {days} days, so no prediction can be tested"
        reason_es = (f"ningún cliente recurrente pidió en los últimos {days} días, así que no se puede "
                     "probar ninguna predicción")
    if not reason:
        choice = clv_choice.choose(shop_id, log, today)
        fit.method = choice.name
        fit.backtest = choice.backtest
        if isinstance(choice.fitted, cands.BgNbdGammaGamma):
            fit.bgnbd_params = dict(choice.fitted.bg.__dict__)
            fit.gamma_gamma_params = {**choice.fitted.gg.__dict__, "mean_spend": choice.fitted.mean_spend}
        elif isinstance(choice.fitted, cands.GradientBoosted):
            fit.model_state = model_store.dump(choice.fitted)
    else:
        fit.method = ClvFit.Method.RFM
        fit.reason, fit.reason_es = reason, reason_es
    # Breakpoints of the value score so one profile gets its percentile without the shop.
    valuation = ShopValuation(fit)
    if n:
        if valuation.model:
            scores = valuation.predictions(log, today)["value_365"]
        else:
            scores = np.array([_rfm_value(h, rfm) for h in hs])
        fit.value_breaks = [float(v) for v in np.percentile(scores, np.linspace(0, 100, 201))]
    fit.seconds = time.perf_counter() - started
    fit.save()
    # Only the newest fit scores profiles: older stored models are dead weight in a nightly-growing table.
    ClvFit.objects.for_shop(shop_id).exclude(pk=fit.pk).filter(model_state__isnull=False).update(model_state=None)
    return fit


def score_shop(shop_id: int, vip_top_percent: int = 10, fit: ClvFit | None = None,
               now: datetime | None = None) -> int:
    """Score every active profile of the shop against its latest fit; returns how many changed (and were written)."""
    fit = fit or latest_fit(shop_id)
    now = now or timezone.now()
    log = order_log(shop_id)
    hist = _histories(log, now.date())
    valuation = ShopValuation(fit)
    written = 0
    ids = list(CustomerProfile.objects.for_shop(shop_id).filter(is_active=True).values_list("pk", flat=True))
    for i in range(0, len(ids), 2000):
        batch = list(CustomerProfile.objects.for_shop(shop_id).filter(pk__in=ids[i:i + 2000]))
        before = {p.pk: [getattr(p, f) for f in SCORED_FIELDS] for p in batch}
        batch_ids = [p.pk for p in batch if p.pk in hist]
        batch_log = log.only(batch_ids)
        valuation.apply(batch, hist, vip_top_percent, batch_log, now.date())
        changed = [p for p in batch if [getattr(p, f) for f in SCORED_FIELDS] != before[p.pk]]
        write_fields(changed, SCORED_FIELDS)
        written += len(changed)
    return written


def score_profile(profile: CustomerProfile, vip_top_percent: int = 10, fit: ClvFit | None = None,
                  now: datetime | None = None) -> CustomerProfile:
    """Score one profile in real time (not saved)."""
    fit = fit if fit is not None else latest_fit(profile.shop_id)
    now = now or timezone.now()
    log = order_log(profile.shop_id, [profile.pk])
    ShopValuation(fit).apply([profile], _histories(log, now.date()), vip_top_percent, log, now.date())
    return profile

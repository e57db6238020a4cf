"""Per shop: fit the lifetime-value models (clv.py), store the fit, and score profiles against it.

Scoring needs shop-wide numbers (RFM quintiles, value percentiles). The fit stores them as breakpoints, so one
profile can be scored in real time against the shop's latest fit without touching the rest of the shop.
Shops with too little history get an RFM-based tier instead, and the fit row says why.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import numpy as np
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from backend.customers.models import CustomerProfile, Identity
from backend.customers.profiles import write_fields

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


def _histories(shop_id: int, today: date, profile_ids: list[int] | None = None) -> dict[int, History]:
    from backend.orders.models import Order

    ident = Identity.objects.for_shop(shop_id).filter(kind=Identity.Kind.CUSTOMER, customer__isnull=False,
                                                     profile__is_active=True)
    if profile_ids is not None:
        ident = ident.filter(profile_id__in=profile_ids)
    owner = dict(ident.values_list("customer_id", "profile_id"))
    if not owner:
        return {}
    orders = Order.objects.for_shop(shop_id).filter(cancelled_at__isnull=True, customer_id__isnull=False)
    if profile_ids is not None:
        orders = orders.filter(customer_id__in=list(owner))
    rows = orders.annotate(when=Coalesce("processed_at", "platform_created_at"),
                           net=F("total_price") - F("total_refunded")).values_list("customer_id", "when", "net")
    per_day: dict[int, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[int, int] = defaultdict(int)
    for customer_id, when, net in rows.iterator(chunk_size=5000):
        pid = owner.get(customer_id)
        if pid is None or when is None:
            continue
        per_day[pid][when.date()] += float(net or 0)
        counts[pid] += 1
    out = {}
    for pid, days in per_day.items():
        ordered = sorted(days)
        first, last = ordered[0], ordered[-1]
        repeats = [days[d] for d in ordered[1:]]
        out[pid] = History(
            x=len(ordered) - 1, t_x=float((last - first).days), T=float(max((today - first).days, 0)),
            mbar=float(np.mean(repeats)) if repeats else 0.0, recency_days=float((today - last).days),
            orders=counts[pid], spent=float(sum(days.values())),
        )
    return out


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


class ShopValuation:
    """A fit, ready to score histories."""

    def __init__(self, fit: ClvFit | None):
        self.fit = fit
        self.model = fit is not None and fit.method == ClvFit.Method.MODEL
        if self.model:
            self.bg = clv.BgNbdParams(**fit.bgnbd_params)
            self.gg = clv.GammaGammaParams(**{k: fit.gamma_gamma_params[k] for k in ("p", "q", "gamma")})
            self.mean_spend = float(fit.gamma_gamma_params.get("mean_spend", 0.0))

    def predictions(self, hs: list[History]) -> dict[str, np.ndarray]:
        x = np.array([h.x for h in hs], float)
        t_x = np.array([h.t_x for h in hs], float)
        T = np.array([h.T for h in hs], float)  # noqa: N806
        mbar = np.array([h.mbar for h in hs], float)
        spend = clv.gamma_gamma_expected_spend(self.gg, x, np.where(mbar > 0, mbar, 1.0))
        spend = np.where((x > 0) & (mbar <= 0), self.mean_spend, spend)
        spend = np.nan_to_num(spend, nan=self.mean_spend)
        out = {"p_alive": clv.bgnbd_p_alive(self.bg, x, t_x, T)}
        for h in HORIZONS:
            orders = clv.bgnbd_expected_purchases(self.bg, h, x, t_x, T)
            out[f"orders_{h}"] = orders
            out[f"value_{h}"] = orders * spend
        return out

    def apply(self, profiles: list[CustomerProfile], hist: dict[int, History], vip_top_percent: int) -> None:
        """Set RFM scores, predictions and tier on the given profiles (not saved)."""
        fit = self.fit
        rfm = fit.rfm_breaks if fit else {}
        buyers = [p for p in profiles if p.pk in hist]
        preds = self.predictions([hist[p.pk] for p in buyers]) if self.model and buyers else {}
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
        for i, p in enumerate(buyers):
            h = hist[p.pk]
            if self.model:
                p.p_alive = float(preds["p_alive"][i])
                p.expected_orders_90 = float(preds["orders_90"][i])
                p.expected_orders_365 = float(preds["orders_365"][i])
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
    return ClvFit.objects.for_shop(shop_id).order_by("-fitted_at", "-pk").first()


def fit_shop(shop_id: int, now: datetime | None = None) -> ClvFit:
    """Fit BG/NBD + Gamma-Gamma on the shop's order history (or decide it is too thin) and store the fit."""
    started = time.perf_counter()
    now = now or timezone.now()
    hist = _histories(shop_id, now.date())
    hs = list(hist.values())
    n = len(hs)
    x = np.array([h.x for h in hs], float)
    t_x = np.array([h.t_x for h in hs], float)
    T = np.array([h.T for h in hs], float)  # noqa: N806
    mbar = np.array([h.mbar for h in hs], float)
    n_repeat = int((x > 0).sum())
    span = float(T.max()) if n else 0.0
    rfm = {
        "recency": _quintile_breaks(np.array([h.recency_days for h in hs])),
        "frequency": _quintile_breaks(np.array([h.orders for h in hs], float)),
        "monetary": _quintile_breaks(np.array([h.spent for h in hs])),
    }
    fit = ClvFit(shop_id=shop_id, n_customers=n, n_repeat=n_repeat, rfm_breaks=rfm, fitted_at=now)
    reason, reason_es = "", ""
    if n < clv.MIN_CUSTOMERS:
        reason = f"only {n} customers with orders (the model needs {clv.MIN_CUSTOMERS})"
        reason_es = f"solo {n} clientes con pedidos (el modelo necesita {clv.MIN_CUSTOMERS})"
    elif n_repeat < clv.MIN_REPEAT_CUSTOMERS:
        reason = f"only {n_repeat} repeat customers (the model needs {clv.MIN_REPEAT_CUSTOMERS})"
        reason_es = f"solo {n_repeat} clientes recurrentes (el modelo necesita {clv.MIN_REPEAT_CUSTOMERS})"
    elif span < clv.MIN_SPAN_DAYS:
        reason = f"only {span:.0f} days of history (the model needs {clv.MIN_SPAN_DAYS})"
        reason_es = f"solo {span:.0f} días de historial (el modelo necesita {clv.MIN_SPAN_DAYS})"
    if not reason:
        bg = clv.fit_bgnbd(x, t_x, T)
        repeaters = (x > 0) & (mbar > 0)
        gg = clv.fit_gamma_gamma(x[repeaters], mbar[repeaters])
        if not (bg.converged and gg.converged):
            reason = f"the model did not converge ({bg.message if not bg.converged else gg.message})"[:255]
            reason_es = "el modelo no convergió con los datos de esta tienda"
        elif abs(bg.params["a"] - 1) < 1e-6:
            reason = "the purchase model is degenerate for this shop (a = 1)"
            reason_es = "el modelo de compras es degenerado para esta tienda (a = 1)"
        else:
            fit.method = ClvFit.Method.MODEL
            fit.bgnbd_params = bg.params
            mean_spend = float(np.mean(mbar[repeaters])) if repeaters.any() else 0.0
            fit.gamma_gamma_params = {**gg.params, "mean_spend": mean_spend}
            fit.log_likelihood = bg.log_likelihood
    if reason:
        fit.method = ClvFit.Method.RFM
        fit.reason, fit.reason_es = reason, reason_es
    # Breakpoints of the value score so one profile gets its percentile without the shop.
    valuation = ShopValuation(fit)
    if n:
        if fit.method == ClvFit.Method.MODEL:
            scores = valuation.predictions(hs)["value_365"]
        else:
            scores = np.array([_rfm_value(h, rfm) for h in hs])
        fit.value_breaks = [float(v) for v in np.percentile(scores, np.linspace(0, 100, 201))]
    fit.seconds = time.perf_counter() - started
    fit.save()
    return fit


def score_shop(shop_id: int, vip_top_percent: int = 10, fit: ClvFit | None = None,
               now: datetime | None = None) -> int:
    """Score every active profile of the shop against its latest fit; returns how many changed (and were written)."""
    fit = fit or latest_fit(shop_id)
    now = now or timezone.now()
    hist = _histories(shop_id, now.date())
    valuation = ShopValuation(fit)
    written = 0
    ids = list(CustomerProfile.objects.for_shop(shop_id).filter(is_active=True).values_list("pk", flat=True))
    for i in range(0, len(ids), 2000):
        batch = list(CustomerProfile.objects.for_shop(shop_id).filter(pk__in=ids[i:i + 2000]))
        before = {p.pk: [getattr(p, f) for f in SCORED_FIELDS] for p in batch}
        valuation.apply(batch, hist, vip_top_percent)
        changed = [p for p in batch if [getattr(p, f) for f in SCORED_FIELDS] != before[p.pk]]
        write_fields(changed, SCORED_FIELDS)
        written += len(changed)
    return written


def score_profile(profile: CustomerProfile, vip_top_percent: int = 10, fit: ClvFit | None = None,
                  now: datetime | None = None) -> CustomerProfile:
    """Score one profile in real time (not saved)."""
    fit = fit if fit is not None else latest_fit(profile.shop_id)
    now = now or timezone.now()
    hist = _histories(profile.shop_id, now.date(), [profile.pk])
    ShopValuation(fit).apply([profile], hist, vip_top_percent)
    return profile

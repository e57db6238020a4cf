"""Which lifetime-value model should a shop trust? The per-shop backtest on CDNOW and UCI Online Retail (issue 13).

For each data set and cut date the app sees only the orders up to the cut. It runs its own backtest (holds out its
last 90 days, or a third of its history when that is shorter, fits every candidate on what came before, scores
them) and picks a model. The backtest is nested:
whatever a candidate chooses for itself (the boosted model's rounds and its share of the naive baseline) is chosen
inside its fit, on its own newest training window, so the held-out window only scores. Then every candidate,
refitted on everything up to the cut, predicts each customer's spend over the next HORIZON days and is compared
with what they really spent. Goals (issue 13): the chosen model beats the naive baseline on Spearman and on top-20 %
revenue capture, and its total predicted revenue is within +-10 % of the actual total.
Data: ../shared/data/{cdnow,online_retail_uci} relative to the repo root (skipped, with the reason, when absent).
Usage: bench_clv_backtest.py [--horizon 150] [--holdout DAYS (default: as the app, scaled to the history)]
                             [--cuts all [--every 14]]
With --cuts all, the four cuts above are followed by a sweep over every cut date EVERY days apart that has at
least SWEEP_HISTORY days of orders before it and a full horizon after (CDNOW 20 cuts, UCI Online Retail 8; ~10 min
on an idle two-core machine): per cut the chosen model against naive, then how many cuts pass each goal.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import pickle
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.predictions import backtest  # noqa: E402
from backend.predictions import clv_candidates as cands  # noqa: E402

# ../shared next to the checkout; a git worktree under <checkout-parent>/wt/<name> finds it one level further up.
DATA = next((p / "shared" / "data" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared" / "data").exists()),
            ROOT.parent / "shared" / "data")
# Cut dates inside each data set, chosen so that a full horizon of real orders follows each of them.
CUTS = {
    "CDNOW": [date(1997, 9, 30), date(1997, 12, 31)],
    "UCI Online Retail": [date(2011, 5, 31), date(2011, 7, 10)],
}


def load_cdnow() -> cands.OrderLog | None:
    path = DATA / "cdnow" / "CDNOW_master.txt"
    if not path.exists():
        return None
    ids, days, amounts = [], [], []
    with path.open() as fh:
        next(fh)
        for line in fh:
            cid, ymd, _cds, dollars = line.split()
            ids.append(int(cid))
            days.append(date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:])).toordinal())
            amounts.append(float(dollars))
    return cands.OrderLog.build(ids, days, amounts)


def load_uci() -> cands.OrderLog | None:
    folder = DATA / "online_retail_uci" / "by-day"
    if not folder.exists():
        return None
    invoices: dict[str, list] = {}
    for f in sorted(folder.glob("*.csv.gz")):
        with gzip.open(f, "rt", newline="") as fh:
            for row in csv.DictReader(fh):
                qty = int(row["Quantity"])
                if not row["CustomerID"] or row["InvoiceNo"].startswith("C") or qty <= 0:
                    continue  # the clean set of SOURCE.md: known customers, no cancellations or returns
                inv = invoices.setdefault(row["InvoiceNo"], [int(float(row["CustomerID"])),
                                                             date.fromisoformat(row["InvoiceDate"][:10]).toordinal(),
                                                             0.0])
                inv[2] += qty * float(row["UnitPrice"])
    ids, days, amounts = zip(*invoices.values(), strict=True)
    return cands.OrderLog.build(ids, days, amounts)


def evaluate(name: str, log: cands.OrderLog, cut: date, horizon: int, holdout: int | None) -> dict:
    today = cut.toordinal()
    seen = log.upto(today)
    started = time.perf_counter()
    inner = backtest.backtest_clv(seen, today, holdout)
    inner_s = time.perf_counter() - started
    print(f"\n== {name}, cut {cut} (app sees {len(seen.day):,} orders of {len(np.unique(seen.customer)):,} customers)")
    print(f"   the app's own backtest: fit to {date.fromordinal(inner.cut)}, held out {inner.end - inner.cut} days "
          f"({inner.n_customers:,} customers), {inner_s:.1f} s")
    print(f"   {'candidate':<12} {'spearman':>8} {'top20%':>7} {'total':>8}")
    for o in inner.outcomes:
        if o.score:
            s = o.score
            blend = f"  ({100 * o.naive_share:.0f} % naive blended in, chosen before the cut)" \
                if o.naive_share is not None else ""
            print(f"   {o.name:<12} {s.spearman:8.3f} {s.capture:7.3f} {100 * s.total_error:+7.1f}%{blend}")
        else:
            print(f"   {o.name:<12} unusable: {o.unusable_en}")
    print(f"   chosen: {inner.chosen}")

    later = log.spend_between(today, today + horizon)
    customers = np.unique(seen.customer)
    actual = np.array([later.get(c, 0.0) for c in customers.tolist()])
    window = f"{date.fromordinal(today + 1)}..{date.fromordinal(today + horizon)}"
    print(f"   then, on the real next {horizon} days ({window},"
          f" actual revenue {actual.sum():,.0f}), every candidate refitted on everything up to the cut:")
    print(f"   {'candidate':<12} {'spearman':>8} {'top20%':>7} {'total':>8} {'fit+predict':>11}")
    scores: dict[str, backtest.Score] = {}
    fitted_models: dict[str, cands.Fitted] = {}
    for cand in cands.CANDIDATES:
        t0 = time.perf_counter()
        try:
            # As the app: the boosted model learns HOLDOUT_DAYS windows and scales to other horizons.
            fitted = cands.fit_candidate(cand, seen, today, horizon if cand != "gbm" else backtest.HOLDOUT_DAYS)
        except cands.Unusable as why:
            print(f"   {cand:<12} unusable: {why.en}")
            continue
        fitted_models[cand] = fitted  # as the app serves it: a boosted model blends what its own fit chose
        pred = fitted.predict(seen, today, horizon)
        s = scores[cand] = backtest.score(pred.value, actual, time.perf_counter() - t0)
        mark = "  <- chosen" if cand == inner.chosen else ""
        print(f"   {cand:<12} {s.spearman:8.3f} {s.capture:7.3f} {100 * s.total_error:+7.1f}% {s.seconds:9.1f} s{mark}")
    refit = scores[inner.chosen].seconds
    print(f"   the periodic job's compute for this shop: backtest {inner_s:.1f} s + refit of the winner {refit:.1f} s")
    if "gbm" in fitted_models:
        kb = len(pickle.dumps(fitted_models["gbm"])) / 1024  # what model_store keeps, less its 64-byte signature
        gbm = fitted_models["gbm"]
        print(f"   stored gradient-boosted model: {kb:.0f} KB ({gbm.rounds} rounds, "
              f"{100 * gbm.naive_share:.0f} % naive baseline blended in)")
    chosen, naive = scores[inner.chosen], scores["naive"]
    goals = [
        (f"chosen Spearman {chosen.spearman:.3f} > naive {naive.spearman:.3f}", chosen.spearman > naive.spearman),
        (f"chosen top-20% capture {chosen.capture:.3f} > naive {naive.capture:.3f}", chosen.capture > naive.capture),
        (f"chosen total error {100 * chosen.total_error:+.1f}% within +-10%", abs(chosen.total_error) <= 0.10),
    ]
    for text, ok in goals:
        print(f"   {'PASS' if ok else 'FAIL'}  {text}")
    return {"chosen": inner.chosen, "share": getattr(fitted_models.get(inner.chosen), "naive_share", None),
            "score": chosen, "naive": naive, "goals": [ok for _, ok in goals]}


SWEEP_HISTORY = 120


def sweep_cut(log: cands.OrderLog, today: int, horizon: int, holdout: int | None) -> dict:
    """One cut of the sweep, as the app: backtest, refit the winner on everything, score it and naive."""
    seen = log.upto(today)
    inner = backtest.backtest_clv(seen, today, holdout)
    later = log.spend_between(today, today + horizon)
    actual = np.array([later.get(c, 0.0) for c in np.unique(seen.customer).tolist()])
    out = {"chosen": inner.chosen}
    for cand in {inner.chosen, "naive"}:
        fitted = cands.fit_candidate(cand, seen, today, horizon if cand != "gbm" else backtest.HOLDOUT_DAYS)
        out[cand if cand == "naive" else "score"] = backtest.score(fitted.predict(seen, today, horizon).value, actual)
    out.setdefault("score", out["naive"])
    c, n = out["score"], out["naive"]
    out["goals"] = [c.spearman > n.spearman, c.capture > n.capture, abs(c.total_error) <= 0.10]
    return out


def sweep(name: str, log: cands.OrderLog, horizon: int, holdout: int | None, every: int) -> list[dict]:
    first, last = int(log.day.min()), int(log.day.max())
    days = range(first + SWEEP_HISTORY, last - horizon + 1, every)
    print(f"\n== {name}: sweep over {len(days)} cuts, every {every} days from {date.fromordinal(days[0])}")
    print(f"   {'cut':<10} {'chosen':<12} {'Spearman c/naive':>16} {'top-20% c/naive':>15} {'total':>7}  goals")
    rows = []
    for today in days:
        r = sweep_cut(log, today, horizon, holdout)
        c, n = r["score"], r["naive"]
        print(f"   {date.fromordinal(today)!s:<10} {r['chosen']:<12} {c.spearman:7.3f}/{n.spearman:.3f} "
              f"{c.capture:7.3f}/{n.capture:.3f} {100 * c.total_error:+6.1f}%  "
              + " ".join("PASS" if ok else "FAIL" for ok in r["goals"]), flush=True)
        rows.append(r)
    return rows


def sweep_summary(name: str, rows: list[dict]) -> None:
    if not rows:
        return
    n = len(rows)
    passed = [sum(r["goals"][k] for r in rows) for k in range(3)]
    errors = np.array([r["score"].total_error for r in rows])
    worst = int(np.argmax(np.abs(errors)))
    every = sum(all(r["goals"]) for r in rows)
    print(f"| {name} | {n} | {passed[0]}/{n} | {passed[1]}/{n} | {passed[2]}/{n} | {every}/{n} "
          f"| {100 * np.mean(np.abs(errors)):.1f}% | {100 * errors[worst]:+.1f}% |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--horizon", type=int, default=150, help="days predicted after each cut (~5 months)")
    ap.add_argument("--holdout", type=int, default=None,
                    help="days the app holds out itself (default: as the app, backtest.holdout_for)")
    ap.add_argument("--cuts", choices=("four", "all"), default="four",
                    help="all: also sweep every EVERY days (slow, ~10 min)")
    ap.add_argument("--every", type=int, default=14, help="days between the sweep's cuts")
    args = ap.parse_args()
    results = []
    logs = {}
    for name, loader in (("CDNOW", load_cdnow), ("UCI Online Retail", load_uci)):
        log = logs[name] = loader()
        if log is None:
            print(f"\n== {name}: skipped, data not found under {DATA} (../shared/data is only on developer machines)")
            continue
        for cut in CUTS[name]:
            results.append((name, cut, evaluate(name, log, cut, args.horizon, args.holdout)))
    print(f"\nsummary: the chosen model against naive on the real next {args.horizon} days after each cut")
    print("| data set | cut | chosen | Spearman chosen/naive | top-20% chosen/naive | total error "
          "| Spearman > naive | top-20% > naive | total within 10% |")
    print("|---|---|---|---|---|---|---|---|---|")
    word = {True: "PASS", False: "FAIL"}
    for name, cut, r in results:
        c, n = r["score"], r["naive"]
        label = r["chosen"] + (f" + {100 * r['share']:.0f}% naive" if r["share"] else "")
        print(f"| {name} | {cut} | {label} | {c.spearman:.3f} / {n.spearman:.3f} | {c.capture:.3f} / {n.capture:.3f} "
              f"| {100 * c.total_error:+.1f}% | " + " | ".join(word[ok] for ok in r["goals"]) + " |")

    if args.cuts != "all":
        return
    swept = {name: sweep(name, log, args.horizon, args.holdout, args.every) for name, log in logs.items() if log}
    print(f"\nsweep summary: cuts passing each goal on the real next {args.horizon} days")
    print("| data set | cuts | Spearman > naive | top-20% > naive | total within 10% | all three | mean |total error| "
          "| worst total error |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rows in swept.items():
        sweep_summary(name, rows)
    sweep_summary("both", [r for rows in swept.values() for r in rows])


if __name__ == "__main__":
    main()

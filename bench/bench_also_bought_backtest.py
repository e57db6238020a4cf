"""Also-bought chosen per shop (issue 13): the per-shop backtest picks the similarity and the popularity blend.

UCI Online Retail, cleaned as SOURCE.md says. A shop's basket is a customer's purchase history (as the app builds
it). The backtest holds out the shop's own last 90 days and scores every candidate by recall@10 of the new products
returning customers bought (backend.predictions.also_bought_choice). Shown for the full catalogue and for a small
shop made from the same orders (only its 60 best-selling products and a tenth of its customers), where co-purchase
data is thin. Lift is a candidate too, since merchants can pick it today. Goal: the chosen candidate is at least as
good as popularity on each shop's own history. The nightly recompute runs the same backtest and serves the winner.
Data: ../shared/data/online_retail_uci (skipped, with the reason, when absent).
"""
from __future__ import annotations

import csv
import gzip
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.predictions import also_bought_choice as abc  # noqa: E402

# ../shared next to the checkout; a git worktree under <checkout-parent>/wt/<name> finds it one level further up.
DATA = next((p / "shared" / "data" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared" / "data").exists()),
            ROOT.parent / "shared" / "data")


def load() -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    folder = DATA / "online_retail_uci" / "by-day"
    if not folder.exists():
        return None
    items: dict[str, int] = {}
    cust, item, when = [], [], []
    for f in sorted(folder.glob("*.csv.gz")):
        with gzip.open(f, "rt", newline="") as fh:
            for row in csv.DictReader(fh):
                if not row["CustomerID"] or row["InvoiceNo"].startswith("C") or float(row["Quantity"]) <= 0:
                    continue
                cust.append(int(float(row["CustomerID"])))
                item.append(items.setdefault(row["StockCode"], len(items)))
                when.append(datetime.strptime(row["InvoiceDate"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
                            .timestamp())
    return np.array(cust), np.array(item), np.array(when)


def run(name: str, cust: np.ndarray, item: np.ndarray, when: np.ndarray) -> bool:
    ids, dense = np.unique(item, return_inverse=True)
    started = time.perf_counter()
    bt = abc.backtest_also_bought(cust, dense, when, len(ids))
    seconds = time.perf_counter() - started
    print(f"\n== {name}: {len(ids):,} products, {len(np.unique(cust)):,} customers, {len(item):,} lines; held out "
          f"{datetime.fromtimestamp(bt.cut, UTC):%Y-%m-%d}..{datetime.fromtimestamp(bt.end, UTC):%Y-%m-%d} "
          f"({bt.n_customers:,} returning customers), {seconds:.1f} s")
    print(f"   {'candidate':<22} {'recall@10':>9} {'HR@10':>7}")
    for r in sorted(bt.results, key=lambda r: -r.recall):
        mark = "  <- chosen" if r is bt.chosen else ""
        print(f"   {r.name:<22} {r.recall:9.4f} {r.hit_rate:7.3f}{mark}")
    pop = next(r for r in bt.results if r.blend == 1.0)
    ok = bt.chosen.recall >= pop.recall
    print(f"   {'PASS' if ok else 'FAIL'}  chosen recall@10 {bt.chosen.recall:.4f} >= popularity {pop.recall:.4f}")
    return ok


def run_on_uci(run: Callable[[str, np.ndarray, np.ndarray, np.ndarray], bool]) -> None:
    """`run` on UCI's full catalogue and on a small shop cut from it (its 60 best sellers, a tenth of the
    customers), then the overall PASS/FAIL: the two shops every offline recommendation bench compares on."""
    data = load()
    if data is None:
        print(f"UCI Online Retail not found under {DATA}: skipped (../shared/data is only on developer machines)")
        return
    cust, item, when = data
    results = [run("UCI Online Retail, full catalogue", cust, item, when)]
    sold = np.bincount(item)
    keep = np.isin(item, np.argsort(-sold)[:60]) & np.isin(cust, np.unique(cust)[::10])
    results.append(run("small shop (60 products, a tenth of the customers)", cust[keep], item[keep], when[keep]))
    print("\nsummary: " + ("PASS" if all(results) else "FAIL"))


def main() -> None:
    run_on_uci(run)

if __name__ == "__main__":
    main()

"""Bench 5: next-click prediction on real browsing sessions (YooChoose RSC15, 100k-click sample prepared by
session-rec): HR@20 and MRR@20 of the co-viewed / recently-viewed recommenders against popularity baselines.

Protocol (session-rec's): train on train_full, evaluate every test session position by position: given the
clicks so far, rank items for the next click; items unseen in training are left out of the targets (no model
can predict them). Settings of the co-view model are chosen on session-rec's own validation split
(train_tr -> train_valid), then scored once on the test split.

Models:
  POP               most clicked items in training
  S-POP             items clicked most in this session so far, topped up by POP
  recently viewed   this session's clicks, newest first (what "continue shopping" shows), topped up by POP
  co-viewed (raw)   products viewed in the same sessions as the current one, by number of shared sessions
  co-viewed (core)  the also-bought core (cooccurrence.py) on sessions, the session's recent clicks weighted more;
                    with jaccard and the last click only this is backend.recommendations.fallback.co_viewed
  recently viewed + co-viewed   the session's clicks newest first, then the co-viewed list
Usage: bench_session_next_click.py [--data DIR]
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.recommendations import cooccurrence as co  # noqa: E402

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "yoochoose_rsc15_100k"
K = 20


def read(path: Path) -> dict[int, list[tuple[float, int]]]:
    sessions: dict[int, list[tuple[float, int]]] = defaultdict(list)
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            sessions[int(row["SessionId"])].append((float(row["Time"]), int(row["ItemId"])))
    return {s: sorted(v) for s, v in sessions.items()}


class Model:
    def __init__(self, train: dict[int, list[tuple[float, int]]]) -> None:
        self.ids = {i: n for n, i in enumerate(sorted({i for v in train.values() for _, i in v}))}
        self.n = len(self.ids)
        clicks = np.zeros(self.n)
        rows, cols, times = [], [], []
        for s, v in train.items():
            for t, i in v:
                clicks[self.ids[i]] += 1
                rows.append(s)
                cols.append(self.ids[i])
                times.append(t)
        self.pop = clicks
        self.baskets = co.encode(np.array(rows), np.array(cols), np.array(times), n_items=self.n)
        self.anchor = float(max(times))
        raw = self.baskets.matrix.T @ self.baskets.matrix  # distinct sessions viewing both
        raw.setdiag(0)
        raw.eliminate_zeros()
        self.raw = raw.tocsr()
        self.core: sp.csr_matrix | None = None

    def fit_core(self, params: co.Params) -> None:
        self.core = co.neighbours(self.baskets, self.anchor, params).matrix()

    def rank(self, name: str, prefix: list[int], decay: float = 0.5) -> np.ndarray:
        scores = self.pop / (self.pop.max() + 1) * 1e-6  # popularity breaks ties and fills
        if name == "pop":
            pass
        elif name == "spop":
            for i in prefix:
                scores[i] += 1.0
        elif name == "recent":
            for age, i in enumerate(reversed(prefix)):
                scores[i] = max(scores[i], 1.0 + 1.0 / (age + 1))
        elif name == "raw":
            row = self.raw[prefix[-1]]
            scores[row.indices] += row.data
        elif name in ("core", "recent+core"):
            if name == "recent+core":  # the shopper's own recent clicks first, then what is viewed with them
                for age, i in enumerate(reversed(prefix)):
                    scores[i] = max(scores[i], 1.0 + 1.0 / (age + 1))
            weights = np.zeros(self.n)
            for age, i in enumerate(reversed(prefix)):
                weights[i] += decay**age
            nz = np.flatnonzero(weights)
            s = np.asarray(self.core[nz].T @ weights[nz]).ravel()
            scores = scores + (s / (s.max() + 1e-12) * 0.99 if name == "recent+core" else s)
        top = np.argpartition(-scores, K)[:K]
        return top[np.argsort(-scores[top])]


def evaluate(model: Model, test: dict[int, list[tuple[float, int]]], name: str, **kw) -> tuple[float, float, int]:
    hits = rr = 0.0
    n = 0
    for clicks in test.values():
        items = [model.ids.get(i, -1) for _, i in clicks]
        for pos in range(1, len(items)):
            target = items[pos]
            prefix = [i for i in items[:pos] if i >= 0]
            if target < 0 or not prefix:
                continue
            ranked = model.rank(name, prefix, **kw)
            n += 1
            where = np.flatnonzero(ranked == target)
            if len(where):
                hits += 1
                rr += 1.0 / (where[0] + 1)
    return hits / max(n, 1), rr / max(n, 1), n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    if not args.data.exists():
        print(f"SKIP: {args.data} not found (YooChoose sample lives in ../shared/data, see its SOURCE.md)")
        return
    t0 = time.perf_counter()
    tr = read(args.data / "yoochoose-clicks-100k_train_tr.txt")
    valid = read(args.data / "yoochoose-clicks-100k_train_valid.txt")
    full = read(args.data / "yoochoose-clicks-100k_train_full.txt")
    test = read(args.data / "yoochoose-clicks-100k_test.txt")

    # Tune the co-view core on validation (MRR@20).
    m = Model(tr)
    best, best_mrr = None, -1.0
    for algo in co.ALGORITHMS:
        for min_support in (1,):
            for decay in (0.0, 0.5, 1.0):
                m.fit_core(co.Params(algorithm=algo, min_support=min_support, half_life_days=3650.0, top_k=100))
                hr, mrr, _ = evaluate(m, valid, "core", decay=decay)
                if mrr > best_mrr:
                    best, best_mrr = (algo, min_support, decay), mrr
    algo, min_support, decay = best
    print(f"validation (train_tr -> train_valid): best co-view core {algo}, min_support={min_support}, "
          f"session decay={decay} (MRR@20 {best_mrr:.4f})")

    m = Model(full)
    m.fit_core(co.Params(algorithm=algo, min_support=min_support, half_life_days=3650.0, top_k=100))
    print(f"\ntest: {len(test):,} sessions, train {len(full):,} sessions, {m.n:,} items")
    print(f"{'model':40s} {'HR@20':>7s} {'MRR@20':>7s}  predictions")
    for label, name, kw in [
        ("POP (global popularity)", "pop", {}),
        ("S-POP (session popularity)", "spop", {}),
        ("recently viewed (session history)", "recent", {}),
        ("co-viewed, raw session counts", "raw", {}),
        (f"co-viewed {algo}, last click only", "core", {"decay": 0.0}),
        (f"co-viewed {algo}, session decay {decay:g}", "core", {"decay": decay}),
        (f"recently viewed + co-viewed {algo}", "recent+core", {"decay": decay}),
    ]:
        hr, mrr, n = evaluate(m, test, name, **kw)
        print(f"{label:40s} {hr:7.4f} {mrr:7.4f}  {n:,}")
    print(f"[{time.perf_counter() - t0:.0f} s]")


if __name__ == "__main__":
    main()

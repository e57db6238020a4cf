"""Bench 4: offline quality of also-bought on real orders (UCI Online Retail), side by side with popularity and
`implicit`'s CosineRecommender / BM25Recommender item-item models.

Protocol (issue 3): clean as SOURCE.md says (CustomerID present, not a cancellation, Quantity > 0); train on orders
before 2011-09-01; test on the products each returning customer (bought before) bought from 2011-09-01 to the end
of the data (2011-12-09) that they had not bought before. Every model gets the customer's past purchases and
recommends 10 products they have not bought; item-item models are topped up with popularity when they have fewer
than 10 (the widget is never short), the same way for all of them. recall@10 = hits / |targets|.

Tuning is honest: every model's settings are chosen on a validation split carved from the training period
(train before 2011-06-01, validate on June-August 2011 with the same protocol); the test split is scored once.
Usage: bench_offline_quality.py [--data PATH] [--no-tune]
"""
from __future__ import annotations

import argparse
import csv
import gzip
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.recommendations import cooccurrence as co  # noqa: E402

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "online_retail_uci" / "by-day"
K = 10


def ts(s: str) -> float:
    return datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()


@dataclass
class Lines:
    invoice: np.ndarray
    item: np.ndarray
    customer: np.ndarray
    time: np.ndarray
    n_items: int
    n_customers: int


def load(folder: Path) -> Lines:
    inv_ids: dict[str, int] = {}
    item_ids: dict[str, int] = {}
    cust_ids: dict[str, int] = {}
    inv, item, cust, tt = [], [], [], []
    for f in sorted(folder.glob("*.csv.gz")):
        with gzip.open(f, "rt", newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                cid = row["CustomerID"]
                if not cid or row["InvoiceNo"].startswith("C") or float(row["Quantity"]) <= 0:
                    continue
                inv.append(inv_ids.setdefault(row["InvoiceNo"], len(inv_ids)))
                item.append(item_ids.setdefault(row["StockCode"], len(item_ids)))
                cust.append(cust_ids.setdefault(cid, len(cust_ids)))
                tt.append(ts(row["InvoiceDate"]))
    return Lines(np.array(inv), np.array(item), np.array(cust), np.array(tt), len(item_ids), len(cust_ids))


@dataclass
class Split:
    train: np.ndarray  # mask over lines
    users: np.ndarray  # evaluated customers
    targets: list[np.ndarray]
    cutoff: float


def split(lines: Lines, start: str, end: str) -> Split:
    t0, t1 = ts(start), ts(end)
    train = lines.time < t0
    test = (lines.time >= t0) & (lines.time < t1)
    seen = sp.csr_matrix((np.ones(train.sum()), (lines.customer[train], lines.item[train])),
                         shape=(lines.n_customers, lines.n_items))
    returning = np.diff(seen.indptr) > 0
    users, targets = [], []
    by_user: dict[int, set[int]] = {}
    for c, i in zip(lines.customer[test], lines.item[test], strict=True):
        by_user.setdefault(int(c), set()).add(int(i))
    for c in sorted(by_user):
        if not returning[c]:
            continue
        new = np.array(sorted(by_user[c] - set(seen.indices[seen.indptr[c]:seen.indptr[c + 1]].tolist())))
        if len(new):
            users.append(c)
            targets.append(new)
    return Split(train=train, users=np.array(users), targets=targets, cutoff=t0)


def metrics(recs: np.ndarray, targets: list[np.ndarray]) -> dict[str, float]:
    disc = 1.0 / np.log2(np.arange(2, K + 2))
    hr = rec = ndcg = 0.0
    for r, t in zip(recs, targets, strict=True):
        hit = np.isin(r[:K], t)
        hr += hit.any()
        rec += hit.sum() / len(t)
        ndcg += (hit * disc[: len(hit)]).sum() / disc[: min(len(t), K)].sum()
    n = len(targets)
    return {"HR@10": hr / n, "recall@10": rec / n, "NDCG@10": ndcg / n}


def history(lines: Lines, sp_: Split, half_life_days: float | None, counts: bool = False) -> sp.csr_matrix:
    """Customer x item matrix of past purchases: 1 per item, or per order holding it (`counts`), recent orders
    weighted more when half_life_days is set."""
    m = sp_.train
    pairs, first = np.unique(np.stack([lines.invoice[m], lines.item[m]]), axis=1, return_index=True)
    cust, item, when = lines.customer[m][first], pairs[1], lines.time[m][first]
    w = np.ones(len(item)) if half_life_days is None else co.decay(when, sp_.cutoff, half_life_days)
    h = sp.csr_matrix((w, (cust, item)), shape=(lines.n_customers, lines.n_items))
    h.sum_duplicates()
    if not counts:
        h.data = np.minimum(h.data, 1.0) if half_life_days is None else h.data / np.maximum(h.data, 1.0)
    return h


def popularity_scores(lines: Lines, sp_: Split) -> np.ndarray:
    m = sp_.train
    pairs = np.unique(np.stack([lines.customer[m], lines.item[m]]), axis=1)
    return np.bincount(pairs[1], minlength=lines.n_items).astype(float)


def top_with_fill(scores: sp.csr_matrix | np.ndarray, seen: sp.csr_matrix, users: np.ndarray,
                  pop: np.ndarray) -> np.ndarray:
    """Top K unseen items per user; ties and empty slots filled by popularity."""
    out = np.zeros((len(users), K), dtype=np.int64)
    pop_rank = pop / (pop.max() + 1.0) * 1e-9  # breaks ties and fills, never outranks a real score
    for n, u in enumerate(users):
        row = scores[n].toarray().ravel() if sp.issparse(scores) else np.array(scores[n], dtype=float)
        row = row + pop_rank
        row[seen.indices[seen.indptr[u]:seen.indptr[u + 1]]] = -np.inf
        top = np.argpartition(-row, K)[:K]
        out[n] = top[np.argsort(-row[top])]
    return out


@dataclass(frozen=True)
class AlsoBought:
    params: co.Params = co.Params()
    basket: str = "order"  # order | customer: what counts as "bought together"
    history_half_life: float | None = None
    history_counts: bool = False


def also_bought_recs(lines: Lines, sp_: Split, cfg: AlsoBought, pop: np.ndarray) -> np.ndarray:
    m = sp_.train
    key = lines.invoice[m] if cfg.basket == "order" else lines.customer[m]
    baskets = co.encode(key, lines.item[m], lines.time[m], n_items=lines.n_items)
    neigh = co.neighbours(baskets, anchor=sp_.cutoff, params=cfg.params)
    hist = history(lines, sp_, cfg.history_half_life, cfg.history_counts)
    scores = hist[sp_.users] @ neigh.matrix()
    return top_with_fill(scores.tocsr(), hist, sp_.users, pop)


def popularity_recs(lines: Lines, sp_: Split, pop: np.ndarray) -> np.ndarray:
    hist = history(lines, sp_, None)
    return top_with_fill(np.zeros((len(sp_.users), lines.n_items)), hist, sp_.users, pop)


def implicit_recs(lines: Lines, sp_: Split, kind: str, pop: np.ndarray, **kw) -> np.ndarray:
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

    m = sp_.train
    # One per (customer, order) line: a customer x item matrix of how many orders held the item.
    pairs = np.unique(np.stack([lines.invoice[m], lines.customer[m], lines.item[m]]), axis=1)
    user_items = sp.csr_matrix((np.ones(pairs.shape[1]), (pairs[1], pairs[2])),
                               shape=(lines.n_customers, lines.n_items))
    user_items.sum_duplicates()
    model = (CosineRecommender if kind == "cosine" else BM25Recommender)(**kw)
    model.fit(user_items, show_progress=False)
    ids, scores = model.recommend(sp_.users, user_items[sp_.users].tocsr(), N=K, filter_already_liked_items=True)
    dense = sp.lil_matrix((len(sp_.users), lines.n_items))
    for n in range(len(sp_.users)):
        ok = (ids[n] >= 0) & np.isfinite(scores[n]) & (scores[n] > 0)
        dense[n, ids[n][ok]] = K + 1 - np.arange(ok.sum())  # keep implicit's order
    return top_with_fill(dense.tocsr(), history(lines, sp_, None), sp_.users, pop)


def tune_also_bought(lines: Lines, val: Split, pop: np.ndarray, log: bool) -> AlsoBought:
    """Coordinate ascent on validation NDCG@10, one knob at a time, two passes."""
    best = AlsoBought()
    cache: dict[AlsoBought, float] = {}

    def score(cfg: AlsoBought) -> float:
        if cfg not in cache:
            cache[cfg] = metrics(also_bought_recs(lines, val, cfg, pop), val.targets)["NDCG@10"]
            if log:
                print(f"   val NDCG@10 {cache[cfg]:.4f}  {describe(cfg)}")
        return cache[cfg]

    knobs = [
        ("algorithm", [{"params": replace(best.params, algorithm=a)} for a in co.ALGORITHMS]),
        ("basket", [{"basket": b} for b in ("order", "customer")]),
        ("min_support", [{"params_min_support": s} for s in (1, 2, 3, 5)]),
        ("shrink", [{"params_shrink": s} for s in (0.0, 2.0, 10.0)]),
        ("half_life", [{"params_half_life_days": h} for h in (60.0, 180.0, 365.0, 3650.0)]),
        ("top_k", [{"params_top_k": k} for k in (10, 30, 100)]),
        ("history", [{"history_half_life": h} for h in (None, 30.0, 120.0)]),
        ("history_counts", [{"history_counts": c} for c in (False, True)]),
        ("bm25_b", [{"params_b": b} for b in (0.5, 0.75, 0.9)]),
    ]

    def apply(cfg: AlsoBought, change: dict) -> AlsoBought:
        for key, value in change.items():
            if key == "params":
                cfg = replace(cfg, params=replace(value, **{f: getattr(cfg.params, f) for f in (
                    "half_life_days", "min_support", "top_k", "shrink", "b")}))
            elif key.startswith("params_"):
                cfg = replace(cfg, params=replace(cfg.params, **{key[7:]: value}))
            else:
                cfg = replace(cfg, **{key: value})
        return cfg

    for _ in range(2):
        for _name, options in knobs:
            cands = [apply(best, o) for o in options]
            best = max(cands, key=score)
    return best


def describe(cfg: AlsoBought) -> str:
    p = cfg.params
    return (f"algorithm={p.algorithm} basket={cfg.basket} min_support={p.min_support} shrink={p.shrink} "
            f"half_life={p.half_life_days:g}d top_k={p.top_k} b={p.b} history_half_life={cfg.history_half_life} "
            f"history_counts={cfg.history_counts}")


def tune_implicit(lines: Lines, val: Split, pop: np.ndarray, kind: str, log: bool) -> dict:
    grid = [{"K": k} for k in (10, 20, 50, 100, 200)]
    if kind == "bm25":
        grid = [{"K": k, "K1": k1, "B": b} for k in (20, 50, 100, 200) for k1 in (1.2, 100.0) for b in (0.5, 0.8)]
    best, best_s = grid[0], -1.0
    for kw in grid:
        s = metrics(implicit_recs(lines, val, kind, pop, **kw), val.targets)["NDCG@10"]
        if log:
            print(f"   val NDCG@10 {s:.4f}  implicit {kind} {kw}")
        if s > best_s:
            best, best_s = kw, s
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--no-tune", action="store_true", help="use the shipped defaults instead of tuning")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if not args.data.exists():
        print(f"SKIP: {args.data} not found (UCI Online Retail lives in ../shared/data, see its SOURCE.md)")
        return
    t0 = time.perf_counter()
    lines = load(args.data)
    print(f"loaded {len(lines.item):,} clean lines, {len(np.unique(lines.invoice)):,} orders, "
          f"{lines.n_customers:,} customers, {lines.n_items:,} products ({time.perf_counter() - t0:.1f} s)")
    val = split(lines, "2011-06-01 00:00:00", "2011-09-01 00:00:00")
    test = split(lines, "2011-09-01 00:00:00", "2011-12-31 00:00:00")
    print(f"validation: {len(val.users):,} returning customers; test: {len(test.users):,} returning customers")

    pop_val = popularity_scores(lines, val)
    if args.no_tune:
        # What the tuning run picked (co.DEFAULT_PARAMS and, for implicit, the grid's winners).
        cfg = AlsoBought(params=co.DEFAULT_PARAMS, basket="customer")
        cos_kw, bm_kw = {"K": 200}, {"K": 50, "K1": 1.2, "B": 0.5}
    else:
        print("tuning also-bought on validation (NDCG@10):")
        cfg = tune_also_bought(lines, val, pop_val, args.verbose)
        print(f"  chosen: {describe(cfg)}")
        per_algo = {}
        for a in co.ALGORITHMS:
            c = replace(cfg, params=replace(cfg.params, algorithm=a))
            per_algo[a] = metrics(also_bought_recs(lines, val, c, pop_val), val.targets)["NDCG@10"]
        print("  validation NDCG@10 per similarity (other knobs as chosen): "
              + ", ".join(f"{a} {v:.4f}" for a, v in sorted(per_algo.items(), key=lambda x: -x[1])))
        cos_kw = tune_implicit(lines, val, pop_val, "cosine", args.verbose)
        bm_kw = tune_implicit(lines, val, pop_val, "bm25", args.verbose)
        print(f"  implicit chosen: cosine {cos_kw}, bm25 {bm_kw}")

    pop = popularity_scores(lines, test)
    rows = {
        "popularity": popularity_recs(lines, test, pop),
        f"also-bought ({cfg.params.algorithm})": also_bought_recs(lines, test, cfg, pop),
        "implicit CosineRecommender": implicit_recs(lines, test, "cosine", pop, **cos_kw),
        "implicit BM25Recommender": implicit_recs(lines, test, "bm25", pop, **bm_kw),
    }
    print(f"\ntest: train < 2011-09-01, {len(test.users):,} returning customers, new products Sep-Dec 2011")
    print(f"{'model':32s} {'HR@10':>8s} {'recall@10':>10s} {'NDCG@10':>8s}")
    results = {}
    for name, recs in rows.items():
        m = metrics(recs, test.targets)
        results[name] = m
        print(f"{name:32s} {m['HR@10']:8.4f} {m['recall@10']:10.4f} {m['NDCG@10']:8.4f}")
    ab = next(v for k, v in results.items() if k.startswith("also-bought"))
    best_impl = max(results["implicit CosineRecommender"]["NDCG@10"], results["implicit BM25Recommender"]["NDCG@10"])
    verdict = "PASS" if ab["NDCG@10"] >= best_impl * 0.99 else "FAIL"
    print(f"also-bought vs popularity NDCG@10: x{ab['NDCG@10'] / results['popularity']['NDCG@10']:.2f}; "
          f"vs best implicit: {ab['NDCG@10'] / best_impl:.3f} ({verdict})  [{time.perf_counter() - t0:.0f} s]")


if __name__ == "__main__":
    main()

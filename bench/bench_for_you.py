"""Recommended for you, offline (issue 13): a customer's purchase history -> what they buy next.

UCI Online Retail, cleaned as SOURCE.md says (no views or carts in it, so history = purchases). Hold out the last
90 days; test customers bought before the cut and bought something new in the window. Every candidate sees only
the orders before the cut and names 10 products the customer had not bought:
- for_you: the app's path. The per-shop also-bought backtest (its own 90-day holdout inside the training orders)
  picks the similarity and popularity blend, lists are built with it (also_bought_choice.blend_row), and the
  customer's purchases, weighted by cooccurrence.personal_weight, add those lists up (cooccurrence.personal_scores).
- popularity: decayed best sellers at the cut (what a shopper without history gets).
- implicit item-item (BM25Recommender, CosineRecommender; K=100) when the bench extra is installed:
  pip install -e '.[bench]'.
Metrics: HR@10 (share of customers with at least one hit) and recall@10 (share of their new products named).
PASS when for_you beats popularity on both. Shown for the full catalogue and for a small shop made from the same
orders (its 60 best-selling products, a tenth of the customers). Data: ../shared/data/online_retail_uci.
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_also_bought_backtest import run_on_uci  # noqa: E402

from backend.predictions import also_bought_choice as abc  # noqa: E402
from backend.recommendations import cooccurrence as co  # noqa: E402

DAY = 86400.0
HOLDOUT_DAYS = 90
K = 10


def _split(cust: np.ndarray, item: np.ndarray, when: np.ndarray, n_items: int):  # noqa: ANN202
    cut = when.max() - HOLDOUT_DAYS * DAY
    keys, rows = np.unique(cust, return_inverse=True)
    train = when < cut

    def matrix(mask: np.ndarray) -> sp.csr_matrix:
        m = sp.csr_matrix((np.ones(int(mask.sum())), (rows[mask], item[mask])), shape=(len(keys), n_items))
        m.sum_duplicates()
        m.data[:] = 1.0
        return m

    seen, later = matrix(train), matrix(~train)
    new = later - later.multiply(seen)
    new.eliminate_zeros()
    users = np.flatnonzero((np.diff(seen.indptr) > 0) & (np.diff(new.indptr) > 0))
    # When each customer last bought each product before the cut: the recency of their history.
    latest: dict[tuple[int, int], float] = {}
    for r, c, t in zip(rows[train], item[train], when[train], strict=True):
        if t > latest.get((r, c), -np.inf):
            latest[r, c] = t
    return cut, train, seen, new, users, latest


def _score(recs: dict[int, list[int]], new: sp.csr_matrix) -> tuple[float, float]:
    recall, hit = [], []
    for u, items in recs.items():
        wanted = set(new[u].indices.tolist())
        found = len(wanted & set(items[:K]))
        recall.append(found / len(wanted))
        hit.append(found > 0)
    return float(np.mean(recall)), float(np.mean(hit))


def for_you(cust, item, when, n_items, cut, train, seen, users, latest) -> tuple[dict[int, list[int]], str]:  # noqa: ANN001
    bt = abc.backtest_also_bought(cust[train], item[train], when[train], n_items)
    chosen = bt.chosen or abc.Result(co.DEFAULT_PARAMS.algorithm, 0.0, 0.0, 0.0)
    baskets = co.encode(cust[train], item[train], when[train], n_items)
    stats = co.item_stats(baskets, cut, co.DEFAULT_PARAMS)
    neigh = co.neighbours(baskets, cut, replace(co.DEFAULT_PARAMS, algorithm=chosen.algorithm), stats)
    order = np.argsort(-stats.weight, kind="stable")[: co.DEFAULT_PARAMS.top_k + 1]
    popular = ([int(i) for i in order], [float(stats.weight[i] / stats.weight[order[0]]) for i in order])
    lists = {}
    for i in range(n_items):
        ids, scores = neigh.of(i)
        ids, scores = ids.tolist(), scores.tolist()
        if chosen.blend > 0:
            ids, scores = abc.blend_row(ids, scores, *popular, chosen.blend, co.DEFAULT_PARAMS.top_k, own=i)
        lists[i] = (ids, scores)
    recs = {}
    for u in users:
        bought = seen[u].indices
        weights = {int(i): co.personal_weight("purchase", cut - latest[u, i]) for i in bought}
        scores = co.personal_scores(lists, weights)
        for i in bought:
            scores.pop(int(i), None)
        ranked = sorted(scores, key=lambda i: (-scores[i], i))[:K]
        if len(ranked) < K:  # the app tops up with bestsellers
            ranked += [int(i) for i in np.argsort(-stats.weight) if int(i) not in scores and i not in bought][
                : K - len(ranked)]
        recs[int(u)] = ranked
    return recs, chosen.name


def popularity(cust, item, when, n_items, cut, train, seen, users) -> dict[int, list[int]]:  # noqa: ANN001
    weight = co.item_stats(co.encode(cust[train], item[train], when[train], n_items), cut, co.DEFAULT_PARAMS).weight
    ranked = np.argsort(-weight, kind="stable")
    recs = {}
    for u in users:
        bought = set(seen[u].indices.tolist())
        recs[int(u)] = [int(i) for i in ranked[: K + len(bought)] if int(i) not in bought][:K]
    return recs


def implicit_item_item(seen: sp.csr_matrix, users: np.ndarray) -> dict[str, dict[int, list[int]]]:
    try:
        from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
    except ImportError:
        return {}
    out = {}
    seen = seen.tocsr()
    for name, model in (("implicit bm25 item-item", BM25Recommender(K=100)),
                        ("implicit cosine item-item", CosineRecommender(K=100))):
        model.fit(seen, show_progress=False)
        ids, _ = model.recommend(users, seen[users].tocsr(), N=K, filter_already_liked_items=True)
        out[name] = {int(u): [int(i) for i in row if i >= 0] for u, row in zip(users, ids, strict=True)}
    return out


def run(name: str, cust: np.ndarray, item: np.ndarray, when: np.ndarray) -> bool:
    ids, dense = np.unique(item, return_inverse=True)
    n_items = len(ids)
    cut, train, seen, new, users, latest = _split(cust, dense, when, n_items)
    print(f"\n== {name}: {n_items:,} products, {len(np.unique(cust)):,} customers; {len(users):,} test customers "
          f"(bought before the cut and something new in the last {HOLDOUT_DAYS} days)")
    print(f"   {'candidate':<34} {'recall@10':>9} {'HR@10':>7} {'seconds':>8}")
    rows = []
    t0 = time.perf_counter()
    mine, chosen = for_you(cust, dense, when, n_items, cut, train, seen, users, latest)
    rows.append((f"for_you ({chosen})", *_score(mine, new), time.perf_counter() - t0))
    t0 = time.perf_counter()
    rows.append(("popularity", *_score(popularity(cust, dense, when, n_items, cut, train, seen, users), new),
                 time.perf_counter() - t0))
    t0 = time.perf_counter()
    others = implicit_item_item(seen, users)
    for other, recs in others.items():
        rows.append((other, *_score(recs, new), (time.perf_counter() - t0) / len(others)))
    if not others:
        print("   (implicit not installed: pip install -e '.[bench]' to compare with its item-item models)")
    for label, recall, hit, seconds in rows:
        print(f"   {label:<34} {recall:9.4f} {hit:7.3f} {seconds:8.1f}")
    ok = rows[0][1] >= rows[1][1] and rows[0][2] >= rows[1][2]
    print(f"   {'PASS' if ok else 'FAIL'}  for_you recall@10 {rows[0][1]:.4f} / HR@10 {rows[0][2]:.3f} vs popularity "
          f"{rows[1][1]:.4f} / {rows[1][2]:.3f}")
    return ok


def main() -> None:
    run_on_uci(run)

if __name__ == "__main__":
    main()

"""Item-to-item co-purchase scores: the pure math behind also-bought (NumPy/SciPy only, no Django).

Input is a list of baskets, each a set of items with one timestamp. The offline benches and the database path
call the same functions, so what the benches measure is what shoppers get.

Every similarity starts from the time-decayed co-occurrence C[i, j] = sum over baskets holding both i and j of
w_b, where w_b = 2 ** ((t_b - anchor) / half_life). With a fixed anchor the weights are additive, so one new
order just adds its weight to the counts it touches (the incremental path) and a full recompute gives the same
numbers. The similarities differ in how they stop bestsellers from topping every list:
  cosine   C / sqrt(n_i n_j)
  lift     C * W / (n_i n_j)                 (W = total basket weight)
  jaccard  C / (n_i + n_j - C)
  bm25     f_i f_j * sum_b w_b idf_b^2       (basket idf: big baskets say little; f: popular items damped),
           the BM25 item-item weighting of `implicit`, on baskets.
A minimum support (baskets in which the pair was bought together, undecayed) drops coincidences, and a shrink
term S / (S + shrink) trusts pairs seen often more than rare ones.

Cost is the sum over baskets of |basket|^2, computed in blocks of items so memory stays bounded.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

ALGORITHMS = ("bm25", "cosine", "lift", "jaccard")
DAY = 86400.0


@dataclass(frozen=True)
class Params:
    algorithm: str = "bm25"
    half_life_days: float = 180.0
    min_support: int = 2
    top_k: int = 30
    shrink: float = 0.0
    k1: float = 1.2  # bm25 only
    b: float = 0.75  # bm25 only
    # Inside one customer's basket, a pair counts half per this many days of its age before their latest order.
    basket_half_life_days: float = 365.0
    block_nnz: int = 4_000_000  # co-occurrence entries per block: bounds peak memory

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {self.algorithm!r}; choose one of {ALGORITHMS}")
        if self.half_life_days <= 0 or self.basket_half_life_days <= 0 or self.top_k <= 0 or self.min_support < 1:
            raise ValueError("half_life_days and top_k must be positive, min_support at least 1")


# Chosen on the UCI validation split (train < 2011-06-01, validate Jun-Aug 2011) by bench_offline_quality.py:
# BM25 with milder length normalisation, a 60-day half-life, support >= 3 and a light shrink.
DEFAULT_PARAMS = Params(algorithm="bm25", half_life_days=60.0, min_support=3, shrink=2.0, top_k=30, b=0.5)


@dataclass
class Baskets:
    """Binary basket x item matrix (duplicates folded: a variant bought twice is one product once) + basket times."""

    matrix: sp.csr_matrix
    times: np.ndarray  # seconds, one per basket row
    # Per stored entry (aligned with matrix.data): seconds between the item's latest purchase in this basket and
    # the basket's time. A customer's basket spans their whole history; None when every entry is as new as it.
    age: np.ndarray | None = None

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]


@dataclass
class ItemStats:
    """Per-item totals the scores normalise by. `weight` is decayed against the same anchor as the baskets."""

    weight: np.ndarray  # decayed number of baskets holding the item
    baskets: np.ndarray  # raw number of baskets holding the item
    total_weight: float  # decayed number of baskets
    n_items_active: int  # items bought at least once (bm25 idf)
    avg_baskets: float  # mean of `baskets` over active items (bm25 length norm)


@dataclass
class Neighbours:
    """Top-K neighbours per item, flat and sorted by (item, score descending)."""

    item: np.ndarray
    neighbour: np.ndarray
    score: np.ndarray
    support: np.ndarray
    n_items: int = 0
    _starts: np.ndarray | None = field(default=None, repr=False)

    def of(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        """(neighbours, scores) of one item, best first."""
        if self._starts is None:
            self._starts = np.searchsorted(self.item, np.arange(self.n_items + 1))
        lo, hi = self._starts[item], self._starts[item + 1]
        return self.neighbour[lo:hi], self.score[lo:hi]

    def matrix(self) -> sp.csr_matrix:
        return sp.csr_matrix((self.score, (self.item, self.neighbour)), shape=(self.n_items, self.n_items))


def encode(basket_ids: np.ndarray, item_idx: np.ndarray, times: np.ndarray, n_items: int | None = None) -> Baskets:
    """Parallel arrays, one entry per order line: basket key (any int), dense item index, timestamp (s)."""
    basket_ids = np.asarray(basket_ids)
    item_idx = np.asarray(item_idx, dtype=np.int64)
    times = np.asarray(times, dtype=np.float64)
    if n_items is None:
        n_items = int(item_idx.max()) + 1 if item_idx.size else 0
    keys, rows = np.unique(basket_ids, return_inverse=True)
    matrix = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float64), (rows, item_idx)), shape=(len(keys), n_items)
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    basket_times = np.full(len(keys), -np.inf)
    np.maximum.at(basket_times, rows, times)
    # Each (basket, item) entry's latest time, in the canonical CSR order (by row, then item) of matrix.data.
    order = np.lexsort((times, item_idx, rows))
    r, i, t = rows[order], item_idx[order], times[order]
    last = np.r_[(r[1:] != r[:-1]) | (i[1:] != i[:-1]), True] if len(r) else np.zeros(0, dtype=bool)
    age = basket_times[r[last]] - t[last]
    return Baskets(matrix=matrix, times=basket_times, age=age if (age > 0).any() else None)


def encode_tuples(baskets: Iterable[tuple[Sequence[int], float]], n_items: int | None = None) -> Baskets:
    """(items, timestamp) tuples, items already dense indices."""
    b_ids: list[int] = []
    items: list[int] = []
    times: list[float] = []
    for b, (basket_items, ts) in enumerate(baskets):
        for item in basket_items:
            b_ids.append(b)
            items.append(item)
            times.append(ts)
    return encode(np.array(b_ids, dtype=np.int64), np.array(items, dtype=np.int64), np.array(times), n_items)


def decay(times: np.ndarray, anchor: float, half_life_days: float) -> np.ndarray:
    return np.exp2((np.asarray(times, dtype=np.float64) - anchor) / (half_life_days * DAY))


def item_stats(baskets: Baskets, anchor: float, params: Params) -> ItemStats:
    w = decay(baskets.times, anchor, params.half_life_days)
    xt = baskets.matrix.T.tocsr()
    raw = np.asarray(baskets.matrix.sum(axis=0)).ravel()
    return stats_from_totals(xt @ w, raw, float(w.sum()))


def stats_from_totals(weight: np.ndarray, raw: np.ndarray, total_weight: float) -> ItemStats:
    active = raw > 0
    return ItemStats(
        weight=np.asarray(weight, dtype=np.float64),
        baskets=np.asarray(raw, dtype=np.float64),
        total_weight=float(total_weight),
        n_items_active=int(active.sum()),
        avg_baskets=float(raw[active].mean()) if active.any() else 1.0,
    )


def entry_weights(baskets: Baskets, params: Params) -> np.ndarray | None:
    """How much each item of a basket counts in its pairs: an active customer's latest order makes their whole
    basket new, but what they bought together two years ago should not count as if bought today. Each item is
    halved every 2 basket half-lives of its age, so a pair (the product of two) halves with its mean age.
    A year, not the 60-day recency half-life: on UCI Online Retail a customer's year-old pairs still predict
    (bench_also_bought_backtest, recall@10: full catalogue 0.0478 undecayed, 0.0466 with 60 days, 0.0482 with a
    year; its 60-product shop loses 0.319 -> 0.295 with a year, still far above popularity's 0.174)."""
    if baskets.age is None:
        return None
    return np.exp2(-np.maximum(baskets.age, 0.0) / (2.0 * params.basket_half_life_days * DAY))


def basket_weights(baskets: Baskets, stats: ItemStats, anchor: float, params: Params) -> np.ndarray:
    w = decay(baskets.times, anchor, params.half_life_days)
    if params.algorithm == "bm25":
        sizes = np.diff(baskets.matrix.indptr)
        # log1p(N / (1 + size)): the same as log N - log1p(size) on a big catalogue, but never 0 or below, so a
        # small shop's customers whose history covers most of the catalogue still count (clipping silenced them).
        idf = np.log1p(max(stats.n_items_active, 2) / (1.0 + sizes))
        w = w * idf * idf
    return w


def _scores(rows: np.ndarray, cols: np.ndarray, c: np.ndarray, s: np.ndarray, stats: ItemStats,
            params: Params) -> np.ndarray:
    n = stats.weight
    algo = params.algorithm
    with np.errstate(divide="ignore", invalid="ignore"):
        if algo == "cosine":
            score = c / np.sqrt(n[rows] * n[cols])
        elif algo == "lift":
            score = c * stats.total_weight / (n[rows] * n[cols])
        elif algo == "jaccard":
            score = c / np.maximum(n[rows] + n[cols] - c, 1e-300)
        else:
            norm = (1.0 - params.b) + params.b * stats.baskets / max(stats.avg_baskets, 1e-9)
            f = (params.k1 + 1.0) / (params.k1 * norm + 1.0)
            score = c * f[rows] * f[cols]
    if params.shrink > 0:
        score = score * (s / (s + params.shrink))
    return np.nan_to_num(score, nan=0.0, posinf=0.0, neginf=0.0)


def _blocks(cost: np.ndarray, rows: np.ndarray, budget: int) -> list[np.ndarray]:
    """Split `rows` into consecutive groups whose estimated co-occurrence entries stay under `budget`."""
    out: list[np.ndarray] = []
    csum = np.cumsum(cost[rows])
    start = 0
    while start < len(rows):
        base = csum[start - 1] if start else 0
        end = int(np.searchsorted(csum, base + budget, side="right"))
        end = max(end, start + 1)
        out.append(rows[start:end])
        start = end
    return out


def neighbours(baskets: Baskets, anchor: float, params: Params, stats: ItemStats | None = None,
               rows: np.ndarray | None = None) -> Neighbours:
    """Top-K neighbours for `rows` (default: every item) from these baskets.

    `stats` defaults to totals over the same baskets; the incremental path passes shop-wide totals and only the
    baskets that hold the affected items.
    """
    if stats is None:
        stats = item_stats(baskets, anchor, params)
    x = baskets.matrix
    n_items = x.shape[1]
    xt = x.T.tocsr()
    w = basket_weights(baskets, stats, anchor, params)
    row_w = w[np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))]
    entry_w = entry_weights(baskets, params)
    if entry_w is None:
        # Real part counts baskets (support), imaginary part sums basket weights: one sparse product gives both.
        xw = sp.csr_matrix((1.0 + 1j * row_w, x.indices, x.indptr), shape=x.shape)
    else:
        # Weights per entry on both sides of the product (w_b a_bi a_bj) cannot share one complex product with
        # the plain count, so support and weight are two products over the same pattern.
        xat = sp.csr_matrix((entry_w, x.indices, x.indptr), shape=x.shape).T.tocsr()
        xaw = sp.csr_matrix((entry_w * row_w, x.indices, x.indptr), shape=x.shape)
    if rows is None:
        rows = np.arange(n_items)
    rows = np.asarray(rows, dtype=np.int64)
    sizes = np.diff(x.indptr).astype(np.float64)
    cost = xt @ sizes  # co-occurrence entries each item row may produce (upper bound)
    rows = rows[cost[rows] > 0]
    parts: list[tuple[np.ndarray, ...]] = []
    for block in _blocks(cost, rows, params.block_nnz):
        if entry_w is None:
            prod = (xt[block] @ xw).tocoo()
            s, c = prod.data.real, prod.data.imag
        else:
            prod, weighted = xt[block] @ x, xat[block] @ xaw
            prod.sort_indices()
            weighted.sort_indices()
            prod = prod.tocoo()
            # Every factor is positive, so both products have the same pattern, unless a weight underflowed to 0
            # (scipy drops zeros): then look the weights up entry by entry.
            same = weighted.nnz == prod.nnz
            c = weighted.data if same else np.asarray(weighted[prod.row, prod.col]).ravel()
            s = prod.data
        local_r, cols = prod.row, prod.col
        r = block[local_r]
        keep = (cols != r) & (s >= params.min_support - 1e-9)
        r, cols, s, c = r[keep], cols[keep], s[keep], c[keep]
        if not len(r):
            continue
        score = _scores(r, cols, c, s, stats, params)
        order = np.lexsort((-score, r))
        r, cols, s, score = r[order], cols[order], s[order], score[order]
        starts = np.searchsorted(r, r, side="left")
        rank = np.arange(len(r)) - starts
        top = (rank < params.top_k) & (score > 0)
        parts.append((r[top], cols[top], score[top], s[top]))
    if parts:
        item, neigh, score, support = (np.concatenate(a) for a in zip(*parts, strict=True))
    else:
        item = neigh = np.zeros(0, dtype=np.int64)
        score = support = np.zeros(0)
    return Neighbours(item=item, neighbour=neigh, score=score, support=support.astype(np.int64), n_items=n_items)


def recommend_for_items(neigh_matrix: sp.csr_matrix, items: np.ndarray, k: int,
                        exclude: np.ndarray | None = None) -> np.ndarray:
    """Aggregate the neighbour lists of several items (a customer's history, a cart): summed scores, top k."""
    items = np.asarray(items, dtype=np.int64)
    if not len(items):
        return np.zeros(0, dtype=np.int64)
    scores = np.asarray(neigh_matrix[items].sum(axis=0)).ravel()
    if exclude is not None and len(exclude):
        scores[np.asarray(exclude, dtype=np.int64)] = 0.0
    candidates = np.flatnonzero(scores > 0)
    if len(candidates) > k:
        candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
    return candidates[np.argsort(-scores[candidates], kind="stable")]


# Recommended for you: how much one history signal counts, by kind and age (for_you.py and its bench share these).
PERSONAL_HALF_LIFE_DAYS = 30.0
PERSONAL_KIND_WEIGHT = {"purchase": 1.0, "cart": 0.8, "view": 0.4}


def personal_weight(kind: str, age_seconds: float | None) -> float:
    """A purchase, cart add or view, halved every PERSONAL_HALF_LIFE_DAYS (unknown age: half)."""
    decay = 0.5 if age_seconds is None else 2.0 ** (-max(age_seconds, 0.0) / (PERSONAL_HALF_LIFE_DAYS * DAY))
    return PERSONAL_KIND_WEIGHT[kind] * decay


def personal_scores(lists: dict[int, tuple[Sequence[int], Sequence[float]]],
                    weights: dict[int, float]) -> dict[int, float]:
    """A shopper's scores from their history: each history item's neighbour list, scaled to its best neighbour,
    times the item's weight, summed (recommended for you; items are any ids, the caller drops what to skip)."""
    out: dict[int, float] = {}
    for item, weight in weights.items():
        ids, scores = lists.get(item, ((), ()))
        top = max(scores, default=0.0)
        if top <= 0 or weight <= 0:
            continue
        for neighbour, score in zip(ids, scores, strict=True):
            out[neighbour] = out.get(neighbour, 0.0) + weight * score / top
    return out

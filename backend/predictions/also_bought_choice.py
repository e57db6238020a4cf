"""The same backtest for also-bought: which similarity, and how much popularity to blend in, for this shop.

Protocol (as bench_offline_quality, on the shop's own orders): hold out the last `holdout` days; customers who had
bought before the cut and bought something new in the window are the test; each candidate gets their earlier
purchases and recommends `k` products they had not bought. recall@k = share of the new products it named.
A candidate is a similarity from `cooccurrence` and a blend share: score = (1 - blend) * similarity + blend *
popularity, each scaled to [0, 1] per customer. blend = 1 is plain popularity, the baseline every shop can have,
so the winner is never worse than popularity on the shop's own history; thin data (a small catalogue, few
co-purchases) pushes the winner towards it (see `choose`).
Pure NumPy/SciPy: the offline bench and the app call the same code.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from backend.recommendations import cooccurrence as co

ALGORITHMS = ("bm25", "cosine", "jaccard", "lift")  # lift too: the merchant can pick it today
BLENDS = (0.0, 0.25, 0.5, 0.75, 1.0)
DAY = 86400.0
BATCH = 1000


@dataclass
class Result:
    algorithm: str
    blend: float
    recall: float
    hit_rate: float

    @property
    def name(self) -> str:
        return "popularity" if self.blend == 1.0 else f"{self.algorithm}+{self.blend:.2f}pop"


def name_of(algorithm: str, blend: float) -> str:
    return Result(algorithm, blend, 0.0, 0.0).name


@dataclass
class AlsoBoughtBacktest:
    cut: float
    end: float
    n_customers: int
    n_items: int
    results: list[Result] = field(default_factory=list)
    chosen: Result | None = None

    def result(self, algorithm: str, blend: float) -> Result | None:
        return next((r for r in self.results if r.name == name_of(algorithm, blend)), None)


def _scaled_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    """Each row divided by its maximum, so similarity and popularity meet on the same [0, 1] scale."""
    m = m.tocsr(copy=True)
    counts = np.diff(m.indptr)
    nonempty = np.flatnonzero(counts > 0)
    scale = np.ones(m.shape[0])
    if len(nonempty):  # empty rows in between add nothing to a reduceat segment
        scale[nonempty] = np.maximum.reduceat(m.data, m.indptr[nonempty])
    m.data = m.data / np.repeat(np.where(scale > 0, scale, 1.0), counts)
    return m


def backtest_also_bought(basket: np.ndarray, item: np.ndarray, times: np.ndarray, n_items: int,
                         holdout_days: float = 90.0, k: int = 10,
                         params: co.Params = co.DEFAULT_PARAMS) -> AlsoBoughtBacktest:
    """basket: one key per order line (the app uses the customer: the basket is their purchase history)."""
    basket, item, times = np.asarray(basket), np.asarray(item, dtype=np.int64), np.asarray(times, dtype=float)
    end = float(times.max())
    cut = end - holdout_days * DAY
    train, test = times < cut, times >= cut
    keys, rows = np.unique(basket, return_inverse=True)
    seen = sp.csr_matrix((np.ones(int(train.sum())), (rows[train], item[train])), shape=(len(keys), n_items))
    seen.sum_duplicates()
    seen.data[:] = 1.0
    later = sp.csr_matrix((np.ones(int(test.sum())), (rows[test], item[test])), shape=(len(keys), n_items))
    later.sum_duplicates()
    later.data[:] = 1.0
    new = later - later.multiply(seen)
    new.eliminate_zeros()
    users = np.flatnonzero((np.diff(seen.indptr) > 0) & (np.diff(new.indptr) > 0))
    result = AlsoBoughtBacktest(cut=cut, end=end, n_customers=len(users), n_items=n_items)
    if not len(users) or n_items < 2:  # nothing to rank against: the shop stays on the default
        return result
    baskets = co.encode(basket[train], item[train], times[train], n_items)
    popularity = co.item_stats(baskets, cut, params).weight
    pop = popularity / popularity.max() if popularity.max() > 0 else popularity
    hits: dict[tuple[str, float], list[np.ndarray]] = {}
    top_k = min(k, pop.shape[0])  # a catalogue smaller than the list: rank all of it
    for algorithm in ALGORITHMS:
        neigh = co.neighbours(baskets, cut, replace(params, algorithm=algorithm)).matrix()
        for lo in range(0, len(users), BATCH):  # dense users x items blocks: bounded memory on big catalogues
            history, targets = seen[users[lo:lo + BATCH]], new[users[lo:lo + BATCH]]
            sim = _scaled_rows(history @ neigh).toarray()
            bought, wanted = history.toarray() > 0, targets.toarray()
            for blend in BLENDS:
                if blend == 1.0 and algorithm != ALGORITHMS[0]:
                    continue  # popularity alone does not depend on the similarity
                score = (1 - blend) * sim + blend * pop[None, :]
                score[bought] = -1.0  # never recommend what they already bought
                top = np.argpartition(-score, top_k - 1, axis=1)[:, :top_k]
                found = np.take_along_axis(wanted, top, axis=1).sum(axis=1)
                hits.setdefault((algorithm, blend), []).append(np.column_stack([found, wanted.sum(axis=1)]))
    recalls = {}
    for (algorithm, blend), parts in hits.items():
        found, wanted = np.vstack(parts).T
        recalls[algorithm, blend] = found / wanted
        result.results.append(Result(algorithm, blend, float(np.mean(found / wanted)), float(np.mean(found > 0))))
    result.chosen = choose(result.results, recalls)
    return result


def choose(results: list[Result], recalls: dict[tuple[str, float], np.ndarray]) -> Result:
    """Popularity unless a blend beats it by more than one standard error of the best recall: a similarity must
    beat popularity by more than the noise of this shop's window to be served, so thin data (few returning
    customers, a small catalogue) falls back to popularity. Among the rest, best recall; an exact tie goes to less
    popularity (recall@10 does not see order inside the ten, and the similarity is what earned the lead)."""
    best = max(results, key=lambda r: r.recall)
    popularity = next(r for r in results if r.blend == 1.0)
    per_customer = recalls[best.algorithm, best.blend]
    margin = float(per_customer.std(ddof=1) / np.sqrt(len(per_customer))) if len(per_customer) > 1 else np.inf
    if popularity.recall >= best.recall - margin - 1e-12:
        return popularity
    return max(results, key=lambda r: (round(r.recall, 6), -r.blend, r.algorithm != "lift"))


def blend_row(ids: list[int], scores: list[float], popular_ids: list[int], popular_scores: list[float], blend: float,
              top_k: int, own: int) -> tuple[list[int], list[float]]:
    """One product's stored list as the backtest scored it: (1 - blend) * similarity scaled to its best neighbour
    + blend * popularity scaled to the best seller. `popular_*` are the shop's top sellers, best first."""
    top = max(scores, default=0.0)
    mixed: dict[int, float] = {}
    if blend < 1.0 and top > 0:
        for i, s in zip(ids, scores, strict=True):
            mixed[int(i)] = (1.0 - blend) * float(s) / top
    if blend > 0.0:
        for i, s in zip(popular_ids, popular_scores, strict=True):
            mixed[int(i)] = mixed.get(int(i), 0.0) + blend * float(s)
    mixed.pop(int(own), None)
    ranked = sorted(((s, i) for i, s in mixed.items() if s > 0), key=lambda t: (-t[0], t[1]))[:top_k]
    return [i for _, i in ranked], [s for s, _ in ranked]

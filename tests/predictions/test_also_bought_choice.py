"""Also-bought's per-shop backtest: co-purchase similarity wins where pairs are real, popularity where they are not."""
from __future__ import annotations

import numpy as np

from backend.predictions import also_bought_choice as abc

DAY = 86400.0


def _shop(pairs_matter: bool, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """200 products. With pairs_matter, whoever buys product 2i later buys 2i+1 (and only then); without, every
    purchase is a draw from the same popularity curve."""
    rng = np.random.default_rng(seed)
    n_items = 200
    popularity = 1 / np.arange(1, n_items + 1)
    popularity /= popularity.sum()
    cust, item, when = [], [], []
    for c in range(1500):
        start = rng.uniform(0, 300)
        first = int(rng.choice(n_items, p=popularity))
        if pairs_matter:
            first -= first % 2
            second = first + 1
        else:
            second = int(rng.choice(n_items, p=popularity))
        for i, t in ((first, start), (second, start + rng.uniform(5, 60))):
            cust.append(c)
            item.append(i)
            when.append(t * DAY)
    return np.array(cust), np.array(item), np.array(when), n_items


def test_real_co_purchases_beat_popularity_and_are_chosen():
    bt = abc.backtest_also_bought(*_shop(pairs_matter=True, seed=1), holdout_days=60)
    pop = next(r for r in bt.results if r.blend == 1.0)
    assert bt.n_customers > 50
    assert bt.chosen.blend < 1.0 and bt.chosen.recall > pop.recall + 0.3


def test_where_pairs_are_noise_the_choice_is_still_never_worse_than_popularity():
    bt = abc.backtest_also_bought(*_shop(pairs_matter=False, seed=2), holdout_days=60)
    pop = next(r for r in bt.results if r.blend == 1.0)
    assert bt.chosen.recall >= pop.recall
    # Pairs that are noise do not beat popularity by more than the window's noise: popularity serves.
    assert bt.chosen.blend == 1.0
    assert {r.name for r in bt.results} >= {"popularity", "bm25+0.00pop", "cosine+0.50pop", "jaccard+0.25pop"}


def test_a_shop_without_returning_customers_has_nothing_to_choose_from():
    bt = abc.backtest_also_bought(np.arange(10), np.arange(10) % 3, np.arange(10) * DAY, 3, holdout_days=2)
    assert bt.n_customers == 0 and bt.chosen is None and bt.results == []


def test_a_catalogue_smaller_than_the_list_is_still_backtested():
    """Four products, lists of ten: every product is ranked (numpy refused a top-10 of four, so the shop was never
    tested and stayed on the untested default)."""
    rng = np.random.default_rng(3)
    cust, item, when = [], [], []
    for c in range(300):
        start = rng.uniform(0, 300)
        for i, t in ((int(rng.integers(4)), start), (int(rng.integers(4)), start + rng.uniform(5, 60))):
            cust.append(c)
            item.append(i)
            when.append(t * DAY)
    bt = abc.backtest_also_bought(np.array(cust), np.array(item), np.array(when), 4, holdout_days=60)
    assert bt.n_customers > 0 and bt.chosen is not None and bt.results

"""The pure math: similarities on hand-countable baskets, and incremental rows equal to a full recompute."""
from __future__ import annotations

import numpy as np
import pytest

from backend.recommendations import cooccurrence as co

DAY = 86400.0


def test_cosine_matches_hand_count():
    # item 0 in 4 baskets, item 1 in 3, together in 3 -> cosine 3 / sqrt(12)
    b = co.encode_tuples([([0, 1, 2], 0.0), ([0, 1], 1.0), ([0, 3], 2.0), ([0, 1, 3], 3.0), ([2, 3], 4.0)])
    n = co.neighbours(b, anchor=4.0, params=co.Params(algorithm="cosine", min_support=1, half_life_days=1e6))
    nb, sc = n.of(0)
    assert list(nb) == [1, 3, 2]
    assert sc[0] == pytest.approx(3 / np.sqrt(12), rel=1e-4)


def test_duplicate_lines_fold_and_self_and_min_support():
    # two variants of product 0 in one basket count once; the 0-2 pair is seen once only
    b = co.encode_tuples([([0, 0, 1], 0.0), ([0, 1], 0.0), ([0, 2], 0.0)])
    assert b.matrix.sum() == 6
    n = co.neighbours(b, anchor=0.0, params=co.Params(algorithm="jaccard", min_support=2))
    nb, _ = n.of(0)
    assert list(nb) == [1]
    assert 0 not in n.neighbour[n.item == 0]


def test_recent_baskets_weigh_more():
    # 0 was bought with 1 twice a year ago and with 2 twice this week: decay puts 2 first, no decay ties them
    now = 400 * DAY
    b = co.encode_tuples([([0, 1], 0.0), ([0, 1], 1.0), ([0, 2], now - DAY), ([0, 2], now - 2 * DAY)])
    decayed = co.neighbours(b, now, co.Params(algorithm="cosine", half_life_days=30, min_support=1))
    assert list(decayed.of(0)[0]) == [2, 1]
    flat = co.neighbours(b, now, co.Params(algorithm="cosine", half_life_days=1e9, min_support=1))
    s = flat.of(0)[1]
    assert s[0] == pytest.approx(s[1])


@pytest.mark.parametrize("algorithm", co.ALGORITHMS)
def test_normalisation_beats_raw_popularity(algorithm):
    # 9 is a bestseller (70 baskets) bought with 0 six times; 1 is bought 5 times, always with 0:
    # raw co-counts favour 9, every normalised similarity must favour 1
    baskets = [([0, 1], float(i)) for i in range(5)] + [([0, 9], float(i)) for i in range(6)]
    baskets += [([9, k], float(i)) for i, k in enumerate(range(2, 8)) for _ in range(10)]
    b = co.encode_tuples(baskets)
    n = co.neighbours(b, 100.0, co.Params(algorithm=algorithm, min_support=2))
    assert n.of(0)[0][0] == 1


@pytest.mark.parametrize("algorithm", co.ALGORITHMS)
def test_rows_from_holding_baskets_equal_full_recompute(algorithm):
    """The incremental path: rows for a few items from only the baskets holding them + shop-wide totals."""
    rng = np.random.default_rng(3)
    tuples = [(list(rng.choice(40, size=rng.integers(1, 6), replace=False)), float(rng.integers(0, 200)) * DAY)
              for _ in range(400)]
    b = co.encode_tuples(tuples, n_items=40)
    anchor = 200 * DAY
    params = co.Params(algorithm=algorithm, min_support=2, half_life_days=60, top_k=10)
    full = co.neighbours(b, anchor, params)
    stats = co.item_stats(b, anchor, params)
    rows = np.array([3, 17])
    holding = np.flatnonzero(np.asarray(b.matrix[:, rows].sum(axis=1)).ravel() > 0)
    local = co.Baskets(matrix=b.matrix[holding], times=b.times[holding])
    part = co.neighbours(local, anchor, params, stats=stats, rows=rows)
    for r in rows:
        assert list(part.of(int(r))[0]) == list(full.of(int(r))[0])
        np.testing.assert_allclose(part.of(int(r))[1], full.of(int(r))[1], rtol=1e-9)


def test_blocks_do_not_change_results():
    rng = np.random.default_rng(5)
    tuples = [(list(rng.choice(60, size=rng.integers(1, 8), replace=False)), 0.0) for _ in range(500)]
    b = co.encode_tuples(tuples, n_items=60)
    one = co.neighbours(b, 0.0, co.Params(min_support=1))
    many = co.neighbours(b, 0.0, co.Params(min_support=1, block_nnz=50))
    np.testing.assert_array_equal(one.item, many.item)
    np.testing.assert_array_equal(one.neighbour, many.neighbour)


def test_recommend_for_items_sums_and_excludes():
    b = co.encode_tuples([([0, 1], 0.0), ([0, 1], 0.0), ([2, 3], 0.0), ([2, 3], 0.0), ([0, 3], 0.0), ([0, 3], 0.0)])
    n = co.neighbours(b, 0.0, co.Params(algorithm="cosine", min_support=1))
    recs = co.recommend_for_items(n.matrix(), np.array([0, 2]), k=5, exclude=np.array([0, 2]))
    assert set(recs) == {1, 3}
    assert recs[0] == 3  # neighbour of both items


def test_unknown_algorithm_rejected():
    with pytest.raises(ValueError):
        co.Params(algorithm="magic")


def test_registry_default_is_the_evaluated_default():
    from backend.recommendations.registry import ALSO_BOUGHT_ALGORITHMS, DEFAULT_ALSO_BOUGHT_ALGORITHM

    assert DEFAULT_ALSO_BOUGHT_ALGORITHM == co.DEFAULT_PARAMS.algorithm == ALSO_BOUGHT_ALGORITHMS[0]
    assert set(ALSO_BOUGHT_ALGORITHMS) == set(co.ALGORITHMS)


def test_bm25_keeps_pairs_on_a_small_catalogue():
    # 6 products; customers whose history covers most of the catalogue still bought 0 with 1 every time.
    # Clipping the basket idf at 0 (log 6 - log1p(5) < 0) silenced every such basket and left 0 without neighbours.
    b = co.encode_tuples([([0, 1, 2, 3, 4], float(d)) for d in range(4)] + [([2, 3, 4, 5], 5.0)] * 4)
    n = co.neighbours(b, anchor=5.0, params=co.Params(algorithm="bm25", min_support=2, half_life_days=1e6))
    nb, sc = n.of(0)
    assert 1 in list(nb) and (sc > 0).all()
    # The idf still favours small baskets: a pair bought alone weighs more than the same pair in a big basket.
    w = co.basket_weights(co.encode_tuples([([0, 1], 0.0), ([0, 1, 2, 3, 4], 0.0)]), co.stats_from_totals(
        np.ones(6), np.ones(6), 2.0), 0.0, co.Params(algorithm="bm25", half_life_days=1e6))
    assert w[0] > w[1] > 0


def test_an_active_customers_old_pair_counts_less_than_a_new_one():
    # Customer A bought 0+1 two years ago and 5 today; customer B bought 0+2 today. Both baskets are "today"
    # (their latest order), but A's 0-1 pair is two years old: 2 should follow 0 ahead of 1.
    year = 365 * DAY
    now = 3 * year
    keys = np.array([1, 1, 1, 2, 2])
    items = np.array([0, 1, 5, 0, 2])
    times = np.array([now - 2 * year, now - 2 * year, now, now, now])
    b = co.encode(keys, items, times)
    params = co.Params(algorithm="cosine", min_support=1, half_life_days=60.0, basket_half_life_days=365.0)
    n = co.neighbours(b, anchor=now, params=params)
    nb, sc = n.of(0)
    assert list(nb) == [2, 5, 1]
    # Pair ages by their mean: 0-5 one year (one halving), 0-1 two years (two); cosine's norms are equal here.
    assert sc[1] / sc[0] == pytest.approx(0.5, rel=1e-6)
    assert sc[2] / sc[0] == pytest.approx(0.25, rel=1e-6)
    # Support still counts the customer in full: min_support is about evidence, not age.
    assert list(n.support[n.item == 0]) == [1, 1, 1]
    # The same orders with every line on one day weigh the pair in full (nothing to decay).
    flat = co.encode(keys, items, np.full(5, now))
    assert flat.age is None
    _, sc_flat = co.neighbours(flat, anchor=now, params=params).of(0)
    assert sc_flat == pytest.approx([sc[0]] * 3)

"""The smart order router on crafted books: worked examples, never worse than the best
single venue, and the optimal split equal to a brute-force search."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from framework.execution.routing import greedy_split, optimal_split, split_cost


def _books():
    # two venues, asks best first: A 100.00 x 100, 100.02 x 200; B 100.01 x 150, 100.03 x 500
    px = np.array([[100.00, 100.02], [100.01, 100.03]])
    sz = np.array([[100.0, 200.0], [150.0, 500.0]])
    return px, sz


def test_greedy_takes_levels_by_effective_price_after_fees():
    px, sz = _books()
    zero = np.zeros(2)
    # no fees: 100 @ A 100.00, 150 @ B 100.01, then 50 @ A 100.02
    a = greedy_split(1, 300.0, px, sz, zero, zero, np.ones(2))
    np.testing.assert_array_equal(a, [150.0, 150.0])
    # a 1.5 c taker fee on A: B 100.01 < A 100.015 < B 100.03 < A 100.035 -> B 150 first,
    # then A's 100, then B's second level for the last 50
    a = greedy_split(1, 300.0, px, sz, np.array([0.015, 0.0]), zero, np.ones(2))
    np.testing.assert_array_equal(a, [100.0, 200.0])
    # B trades in lots of 100 only: the 20 shares past A's first level come from A's second
    a = greedy_split(1, 120.0, px, sz, zero, zero, np.array([1.0, 100.0]))
    np.testing.assert_array_equal(a, [120.0, 0.0])


def _brute(side, qty, px, sz, fee, pen, lot, fixed):
    best, arg = np.inf, None
    best_q = -1.0
    grids = [np.arange(0, qty + 1e-9, lot[k]) for k in range(px.shape[0])]
    for combo in itertools.product(*grids):
        x = np.array(combo)
        if x.sum() > qty + 1e-9:
            continue
        c = split_cost(side, x, px, sz, fee, pen, fixed)
        if not np.isfinite(c):
            continue
        if x.sum() > best_q + 1e-9 or (abs(x.sum() - best_q) < 1e-9 and c < best - 1e-9):
            best, arg, best_q = c, x, x.sum()
    return arg, best


@pytest.mark.parametrize("seed", range(12))
def test_optimal_matches_brute_force_and_beats_every_single_venue(seed):
    rng = np.random.default_rng(seed)
    K, L = 3, 3
    side = 1 if seed % 2 == 0 else -1
    top = 100.0 + rng.integers(0, 4, K) * 0.01
    steps = np.cumsum(rng.integers(1, 3, (K, L)) * 0.01, axis=1) - 0.01
    px = top[:, None] + side * steps
    sz = rng.integers(1, 6, (K, L)) * 10.0
    fee = rng.choice([-0.002, 0.0, 0.003], K)
    pen = rng.choice([0.0, 0.001], K)
    lot = rng.choice([10.0, 20.0], K)
    fixed = rng.choice([0.0, 0.05, 0.5], K)
    qty = float(rng.integers(3, 9) * 10)
    a = optimal_split(side, qty, px, sz, fee, pen, lot, fixed)
    b, cost_b = _brute(side, qty, px, sz, fee, pen, lot, fixed)
    assert a.sum() == pytest.approx(b.sum())
    assert split_cost(side, a, px, sz, fee, pen, fixed) == pytest.approx(cost_b, abs=1e-9)
    for k in range(K):  # all of it at one venue, where its lots allow it
        if a.sum() % lot[k]:
            continue
        one = np.zeros(K)
        one[k] = a.sum()
        single = split_cost(side, one, px, sz, fee, pen, fixed)
        assert split_cost(side, a, px, sz, fee, pen, fixed) <= single + 1e-9


def test_greedy_never_worse_than_a_single_venue_without_fixed_costs():
    rng = np.random.default_rng(5)
    for _ in range(50):
        K, L = 3, 4
        px = 100.0 + np.cumsum(rng.integers(0, 3, (K, L)) * 0.01, axis=1)
        sz = rng.integers(1, 30, (K, L)) * 10.0
        fee = rng.choice([-0.002, 0.0, 0.003], K)
        zero, lot = np.zeros(K), np.ones(K)
        qty = float(rng.integers(10, 200))
        g = greedy_split(1, qty, px, sz, fee, zero, lot)
        cg = split_cost(1, g, px, sz, fee, zero, zero)
        for k in range(K):
            one = np.zeros(K)
            one[k] = g.sum()
            assert cg <= split_cost(1, one, px, sz, fee, zero, zero) + 1e-9

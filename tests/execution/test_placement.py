"""Cont & Kukanov's market/limit placement (``framework.execution.routing``): the
single-venue closed form worked by hand, the split equal to a brute-force search of the
lot grid (expected costs computed here, by enumeration, independently of the code),
and never worse than the best single venue."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from framework.execution.routing import placement_cost, placement_single, placement_split

H, F = 0.005, 0.003  # half spread, taker fee (USD/share)


def _expected(S, M, L, Q, xi, h, f, r, lam_u, lam_o):
    """E[V] by the paper's formula, vectorised over the scenarios (independent of the
    kernels)."""
    got = np.minimum(np.maximum(xi - Q, 0.0), L)
    a = M + got.sum(axis=1)
    v = ((h + f) * M - (got * (h + r)).sum(axis=1) + lam_u * np.maximum(S - a, 0.0)
         + lam_o * np.maximum(a - S, 0.0))
    return float(v.mean())


def _brute(S, Q, xi, h, f, r, lam_u, lam_o, lot, venues=None):
    """Least E[V] over every (M, L_1..L_K) on the lot grid in [0, S] (only the venues in
    ``venues`` may post)."""
    K = xi.shape[1]
    grid = np.arange(0.0, S + 1e-9, lot)
    axes = [grid] + [grid if venues is None or k in venues else np.zeros(1) for k in range(K)]
    best = math.inf
    for combo in itertools.product(*axes):
        c = _expected(S, combo[0], np.array(combo[1:]), Q, xi, h, f, r, lam_u, lam_o)
        best = min(best, c)
    return best


def test_single_venue_closed_form_by_hand():
    # outflow 0, 200, 400, 600 or 800 shares, equally likely; 100 shares ahead; 500 to buy
    xi = np.array([0.0, 200.0, 400.0, 600.0, 800.0])
    r, lam_u, lam_o = 0.002, 0.05, 0.03
    # q = (2h + f + r) / (lam_u + h + r) = 0.015 / 0.057 = 0.263; the lower quantile of
    # five points at 0.263 is the 2nd smallest (ceil(0.263 * 5) = 2): 200, so L* = 200 - 100
    out = placement_single(500.0, 100.0, xi, H, F, r, lam_u, lam_o, 100.0)
    np.testing.assert_array_equal(out, [400.0, 100.0])
    # by hand, fills min((xi - 100)+, L): L = 0 costs 0.008 * 500 = 4.00; L = 100 costs
    # (3.2 + 0.05 * 100 + 4 * (3.2 - 0.007 * 100)) / 5 = 3.64; L = 200: 4.42
    one = lambda lim: placement_cost(500.0, 500.0 - lim, np.array([lim]), np.array([100.0]),  # noqa: E731
                                     xi[:, None], H, F, np.array([r]), lam_u, lam_o)
    assert one(0.0) == pytest.approx(4.00)
    assert one(100.0) == pytest.approx(3.64)
    assert one(200.0) == pytest.approx(4.42)
    # and nothing on the whole grid, over-posting included, is cheaper
    assert one(100.0) == pytest.approx(_brute(500.0, np.array([100.0]), xi[:, None], H, F,
                                              np.array([r]), lam_u, lam_o, 100.0))


def test_single_venue_closed_form_exponential_outflow():
    # xi ~ Exp(mean 1000) by its quantiles: L* = -1000 ln(1 - q) - Q = 205.38 shares
    n = 4000
    xi = -1000.0 * np.log(1.0 - (np.arange(n) + 0.5) / n)
    q = (2 * H + F + 0.002) / (0.05 + H + 0.002)
    star = -1000.0 * math.log(1.0 - q) - 100.0
    assert star == pytest.approx(205.38, abs=0.01)
    out = placement_single(1000.0, 100.0, xi, H, F, 0.002, 0.05, 0.03, 1.0)
    assert abs(out[1] - star) < 1.0
    assert out[0] + out[1] == 1000.0
    # a long queue (F(Q) above q): market order only; a short one with a large
    # underfill tolerance (F(Q + S) below q): limit only
    np.testing.assert_array_equal(placement_single(1000.0, 5000.0, xi, H, F, 0.002, 0.05,
                                                   0.03, 1.0), [1000.0, 0.0])
    np.testing.assert_array_equal(placement_single(100.0, 0.0, xi, H, F, 0.002, 0.0081,
                                                   0.03, 1.0), [0.0, 100.0])


def test_posting_at_two_venues_beats_either_alone():
    # the outflow hits one venue or the other, equally likely: 200 to buy, h = 1 c,
    # rebates 0.2 c, lam_u = lam_o = 5 c. All market costs 0.013 * 200 = 2.60; 200 at one
    # venue fills half the time: (-0.012 * 200 + 0.05 * 200) / 2 = 3.80; 200 at each
    # fills 200 at exactly one: -0.012 * 200 = -2.40 (it posts 400 for 200)
    xi = np.array([[200.0, 0.0], [0.0, 200.0]])
    Q, r = np.zeros(2), np.array([0.002, 0.002])
    out = placement_split(200.0, Q, xi, 0.01, 0.003, r, 0.05, 0.05, 100.0, 0)
    np.testing.assert_array_equal(out, [0.0, 200.0, 200.0])
    assert placement_cost(200.0, 0.0, out[1:].copy(), Q, xi, 0.01, 0.003, r, 0.05,
                          0.05) == pytest.approx(-2.40)
    for k in range(2):
        assert _brute(200.0, Q, xi, 0.01, 0.003, r, 0.05, 0.05, 100.0,
                      venues={k}) == pytest.approx(2.60)


def _case(seed, K, n_lots, lot):
    rng = np.random.default_rng(seed)
    S = float(rng.integers(1, n_lots + 1) * lot)
    Q = rng.integers(0, 6, K) * lot
    xi = rng.integers(0, 12, (int(rng.integers(5, 30)), K)) * lot * rng.uniform(0.5, 1.5, K)
    r = rng.choice([0.002, -0.001, 0.0025], K)
    lam_u = float(rng.choice([0.01, 0.02, 0.05]))
    lam_o = float(rng.choice([0.01, 0.03]))
    return S, Q, xi, r, lam_u, lam_o


@pytest.mark.parametrize("seed,K", [(s, 2) for s in range(8)] + [(s, 3) for s in range(8, 11)])
def test_split_equals_brute_force_on_the_lot_grid(seed, K):
    S, Q, xi, r, lam_u, lam_o = _case(seed, K, 5 if K == 2 else 3, 100.0)
    out = placement_split(S, Q, xi, H, F, r, lam_u, lam_o, 100.0, 500)
    assert np.all(out % 100.0 == 0) and np.all((out >= 0) & (out <= S))
    got = _expected(S, out[0], out[1:], Q, xi, H, F, r, lam_u, lam_o)
    assert got == pytest.approx(_brute(S, Q, xi, H, F, r, lam_u, lam_o, 100.0), abs=1e-9)
    assert got == pytest.approx(placement_cost(S, out[0], out[1:].copy(), Q, xi, H, F, r,
                                               lam_u, lam_o), abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_large_grid_never_worse_than_the_best_single_venue(seed):
    # 200 shares in lots of 1 at two venues: 201^2 limit placements, beyond the whole
    # search, so the coarse search, the stochastic approximation and the local moves run
    S, Q, xi, r, lam_u, lam_o = _case(seed, 2, 1, 200.0)
    S = 200.0
    out = placement_split(S, Q, xi, H, F, r, lam_u, lam_o, 1.0, 2000)
    got = _expected(S, out[0], out[1:], Q, xi, H, F, r, lam_u, lam_o)
    m = np.arange(0.0, S + 1e-9)[:, None, None]  # [M, L, scenario]
    lim = np.arange(0.0, S + 1e-9)[None, :, None]
    for k in range(2):  # each venue alone, every (M, L_k) on the grid weighed at once
        fill = np.minimum(np.maximum(xi[None, None, :, k] - Q[k], 0.0), lim)
        a = m + fill
        v = ((H + F) * m - (H + r[k]) * fill + lam_u * np.maximum(S - a, 0.0)
             + lam_o * np.maximum(a - S, 0.0)).mean(axis=2)
        assert got <= v.min() + 1e-9

"""Pre-trade estimate: the book walk and the square-root law by hand, and Y recovered
from fills whose impact follows the law."""

from __future__ import annotations

import numpy as np
import pytest

from framework.execution.algos.pretrade import fit_y, sqrt_impact_bps, walk_cost_bps


def test_book_walk_and_square_root_law_by_hand():
    px, sz = np.array([100.01, 100.02, 100.05]), np.array([200.0, 500.0, 100.0])
    # 600 shares: 200 @ 100.01 + 400 @ 100.02 = 60,010; avg 100.016667 vs mid 100.00
    assert walk_cost_bps(1, 600.0, px, sz, 100.0) == pytest.approx(
        (60_010.0 / 600 - 100.0) / 100.0 * 1e4)
    assert walk_cost_bps(1, 900.0, px, sz, 100.0) == np.inf
    # Y 0.8, sigma 2 %, Q / ADV = 1 %: 0.8 * 0.02 * 0.1 = 16 bps, plus a 1 bp half spread
    assert sqrt_impact_bps(1e4, 1e6, 0.02, 0.8, 1.0) == pytest.approx(17.0)


def test_y_is_recovered_with_its_interval():
    rng = np.random.default_rng(0)
    n = 400
    qty = rng.uniform(1e3, 1e5, n)
    adv = rng.uniform(1e6, 1e7, n)
    sig = rng.uniform(0.01, 0.03, n)
    half = np.full(n, 1.5)
    cost = sqrt_impact_bps(qty, adv, sig, 0.7, half) + rng.normal(0, 2.0, n)
    fit = fit_y(cost, qty, adv, sig, half)
    assert fit.n == n and fit.lo < 0.7 < fit.hi and fit.y == pytest.approx(0.7, abs=0.05)
    assert fit.hi - fit.lo < 0.1

"""Grid sweep: every combo's streamed metrics equal a full single run of the same signals."""

from __future__ import annotations

import numpy as np
import pytest

from framework.engine.vector import VectorEngineError, run_signals
from framework.execution.costs import CostConfig
from framework.features.kernels_trend import ema_batch, sma_batch
from framework.sweep import crossover_grid, sweep_crossover, sweep_sma_cross


def cross(close: np.ndarray, fast: int, slow: int, ind=sma_batch):
    en = np.zeros(close.shape, bool)
    ex = np.zeros(close.shape, bool)
    for s in range(close.shape[1]):
        col = np.ascontiguousarray(close[:, s])
        f, sl = ind(col, fast), ind(col, slow)
        rel = np.where(np.isnan(f) | np.isnan(sl), -1, (f > sl).astype(int))
        prev = np.r_[-1, rel[:-1]]
        en[:, s], ex[:, s] = (prev == 0) & (rel == 1), (prev == 1) & (rel == 0)
    return en, ex


def walk(seed: int, T: int, S: int):
    rng = np.random.default_rng(seed)
    c = 40 * np.exp(np.cumsum(rng.normal(0, 0.012, (T, S)), axis=0))
    c[: rng.integers(0, 50), 1 % S] = np.nan  # a symbol that lists late
    o = c * np.exp(rng.normal(0, 0.003, (T, S)))
    return o, c


def test_grid_count_matches_issue():
    assert crossover_grid(np.arange(5, 51), np.arange(10, 201, 5)).shape == (1605, 2)


@pytest.mark.parametrize("block", [64, 1000, 1 << 16])
def test_sweep_equals_single_runs(block):
    o, c = walk(11, 1500, 3)
    costs = CostConfig(model="custom", per_share=0.002, min_fee=0.5, fee_bps=3.0, slippage_bps=2.0)
    df = sweep_sma_cross(c, [3, 8, 13], [10, 21, 34], open_=o, costs=costs, size_mode="value", size=25_000.0,
                         block_bars=block, periods_per_year=252.0)  # fmt: skip
    assert df.height == 8  # (13, 10) dropped: fast must be < slow
    for row in df.iter_rows(named=True):
        en, ex = cross(c, row["fast"], row["slow"])
        r = run_signals(o, c, en, ex, costs=costs, size_mode="value", size=25_000.0)
        eq = r.equity
        assert row["n_fills"] == r.fills.height > 0
        np.testing.assert_allclose(row["final_equity"], eq[-1], rtol=1e-12)
        ret = eq[1:] / eq[:-1] - 1.0
        np.testing.assert_allclose(
            row["sharpe"], ret.mean() / ret.std(ddof=1) * np.sqrt(252), rtol=1e-6
        )
        np.testing.assert_allclose(
            row["max_drawdown"], np.max(1 - eq / np.maximum.accumulate(eq)), rtol=1e-12
        )
        np.testing.assert_allclose(row["fees"], r.fills["fee"].sum(), rtol=1e-12)


def test_custom_indicator_kernel():
    o, c = walk(5, 800, 2)
    pairs = np.array([[5, 20], [12, 26]])
    df = sweep_crossover(o, c, pairs, indicator=ema_batch)
    for i, (f, s) in enumerate(pairs):
        en, ex = cross(c, f, s, ema_batch)
        r = run_signals(o, c, en, ex)
        np.testing.assert_allclose(df["final_equity"][i], r.equity[-1], rtol=1e-12)
    # SMA through the generic path equals the streamed SMA path.
    a = sweep_crossover(o, c, pairs, indicator=sma_batch)
    b = sweep_crossover(o, c, pairs, block_bars=100)
    np.testing.assert_array_equal(a["final_equity"].to_numpy(), b["final_equity"].to_numpy())


def test_bad_grid_is_named():
    x = np.ones(10)
    with pytest.raises(VectorEngineError, match="empty"):
        sweep_sma_cross(x, [50], [10])
    with pytest.raises(VectorEngineError, match="pairs"):
        sweep_crossover(x, x, np.array([1, 2, 3]))

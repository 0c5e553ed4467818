"""Grid sweeps on the vectorized engine: thousands of parameter combos in one call.

Indicators are computed once per unique parameter value (not per combo), a block of
bars at a time, and every combo is advanced over the block in parallel (numba
``prange``); only per-combo metric accumulators are kept, so memory is
O(unique params x block + combos x symbols) whatever the number of bars.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from framework.engine.vector import kernels as k
from framework.engine.vector.engine import (
    VectorEngineError,
    as_2d,
    forward_fill,
    metrics_from_acc,
    size_mode_code,
)
from framework.execution.costs import NO_COSTS, CostConfig
from framework.features.kernels_trend import sma_run, sma_state
from framework.types.annual import SESSIONS_PER_YEAR

Indicator = Callable[[np.ndarray, int], np.ndarray]

TABLE_BUDGET_BYTES = 64 << 20  # indicator block table budget when block_bars is None


def crossover_grid(fast: np.ndarray, slow: np.ndarray, fast_lt_slow: bool = True) -> np.ndarray:
    """All (fast, slow) pairs of the two value lists as an int64 [C x 2] array.

    With ``fast_lt_slow`` only pairs with fast < slow are kept (the usual SMA-cross grid).
    """
    f = np.asarray(fast, np.int64).ravel()
    s = np.asarray(slow, np.int64).ravel()
    ff, ss = np.meshgrid(f, s, indexing="ij")
    pairs = np.stack([ff.ravel(), ss.ravel()], axis=1)
    if fast_lt_slow:
        pairs = pairs[pairs[:, 0] < pairs[:, 1]]
    return pairs


def _sma_blocks(close: np.ndarray, windows: np.ndarray, block: int):
    """Yield ``(t0, table[W, B, S])`` SMA blocks, carrying each window's state across blocks.

    Uses ``framework.features``' SMA state machine, so values equal ``sma_batch`` exactly.
    """
    T, S = close.shape
    states = [[sma_state(int(w)) for _ in range(S)] for w in windows]
    for t0 in range(0, T, block):
        t1 = min(T, t0 + block)
        table = np.empty((windows.shape[0], t1 - t0, S))
        for wi in range(windows.shape[0]):
            for s in range(S):
                out = np.empty(t1 - t0)
                sma_run(states[wi][s], np.ascontiguousarray(close[t0:t1, s]), out)
                table[wi, :, s] = out
        yield t0, table


def _indicator_blocks(close: np.ndarray, windows: np.ndarray, block: int, indicator: Indicator):
    """Yield ``(t0, table[W, B, S])`` blocks of a user indicator computed once per window."""
    T, S = close.shape
    full = np.empty((windows.shape[0], T, S))
    for wi, w in enumerate(windows):
        for s in range(S):
            vals = np.asarray(indicator(np.ascontiguousarray(close[:, s]), int(w)), np.float64)
            if vals.shape != (T,):
                raise VectorEngineError(
                    f"indicator({w}) returned shape {vals.shape}, expected ({T},)"
                )
            full[wi, :, s] = vals
    for t0 in range(0, T, block):
        yield t0, np.ascontiguousarray(full[:, t0 : t0 + block, :])


def sweep_crossover(
    open_: np.ndarray,
    close: np.ndarray,
    pairs: np.ndarray,
    *,
    indicator: Indicator | None = None,
    init_cash: float = 100_000.0,
    size_mode: str = "equity_fraction",
    size: float = 1.0,
    whole_shares: bool = False,
    costs: CostConfig = NO_COSTS,
    periods_per_year: float = SESSIONS_PER_YEAR,
    block_bars: int | None = None,
) -> pl.DataFrame:
    """Sweep a long-only crossover strategy over parameter ``pairs`` [C x 2] = (fast, slow).

    For each combo: enter when ``indicator(close, fast)`` crosses above
    ``indicator(close, slow)`` at a bar's close, exit on the cross below; fills at the next
    bar's open (bar fill model), shared cash over the [T x S] symbols. ``indicator`` is
    ``f(close_1d, window) -> float64[T]`` (causal; NaN during warm-up); ``None`` means
    ``framework.features`` SMA, streamed block by block. Prices USD, costs per
    :class:`~framework.execution.costs.CostConfig` (bps = 1e-4). One row per combo: fast,
    slow, final_equity (USD), total_return, sharpe (annualised with ``periods_per_year``),
    max_drawdown (fraction), n_fills, n_entries, exposure (fraction of bars), fees (USD).
    ``block_bars`` (default: what keeps the [windows x block x symbols] table near 64 MiB)
    only changes memory and speed, never results. A custom ``indicator`` is evaluated over
    the whole series once per window, so that path holds O(windows x T x S) floats.
    """
    c = as_2d("close", close)
    o = as_2d("open", open_)
    if o.shape != c.shape:
        raise VectorEngineError(f"open shape {o.shape} differs from close shape {c.shape}")
    p = np.asarray(pairs, np.int64)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] == 0:
        raise VectorEngineError(
            f"pairs must be a non-empty [combos x 2] array, got shape {p.shape}"
        )
    if np.any(p < 1):
        raise VectorEngineError("indicator windows must be >= 1 bar")
    if not init_cash > 0:
        raise VectorEngineError(f"init_cash must be > 0 USD, got {init_cash}")
    mode = size_mode_code(size_mode, size)
    cost_arr = costs.as_array()
    windows, inv = np.unique(p.ravel(), return_inverse=True)
    inv = inv.reshape(p.shape)
    if block_bars is None:
        block_bars = max(256, TABLE_BUDGET_BYTES // (8 * windows.shape[0] * c.shape[1]))
    if block_bars < 1:
        raise VectorEngineError(f"block_bars must be >= 1, got {block_bars}")
    fast_idx = np.ascontiguousarray(inv[:, 0], np.int64)
    slow_idx = np.ascontiguousarray(inv[:, 1], np.int64)
    C, (T, S) = p.shape[0], c.shape
    acc = k.init_acc(C, float(init_cash))
    pos = np.zeros((C, S))
    rel = np.full((C, S), -1, np.int8)
    pend = np.zeros((C, S), np.int8)
    value_px = forward_fill(c)
    blocks = (
        _sma_blocks(c, windows, block_bars)
        if indicator is None
        else _indicator_blocks(c, windows, block_bars, indicator)
    )
    for t0, table in blocks:
        t1 = t0 + table.shape[1]
        k.sweep_cross_block(
            t0, o[t0:t1], value_px[t0:t1], table, fast_idx, slow_idx, mode, float(size),
            bool(whole_shares), cost_arr, acc, pos, rel, pend,
        )  # fmt: skip
    rows = [metrics_from_acc(acc[i], init_cash, T, periods_per_year) for i in range(C)]
    out = pl.DataFrame(rows)
    return out.insert_column(0, pl.Series("slow", p[:, 1])).insert_column(
        0, pl.Series("fast", p[:, 0])
    )


def sweep_sma_cross(
    close: np.ndarray,
    fast: np.ndarray,
    slow: np.ndarray,
    *,
    open_: np.ndarray | None = None,
    fast_lt_slow: bool = True,
    **kwargs,
) -> pl.DataFrame:
    """SMA-cross grid: every (fast, slow) of the two window lists (bars), fast < slow by default.

    ``close`` (and ``open_``, default: ``close``, i.e. fill at the next bar's close proxy)
    are [T] or [T x S] USD prices. Other keyword arguments as :func:`sweep_crossover`.
    One row per combo.
    """
    pairs = crossover_grid(fast, slow, fast_lt_slow)
    if pairs.shape[0] == 0:
        raise VectorEngineError("the fast/slow grid is empty after filtering fast < slow")
    return sweep_crossover(close if open_ is None else open_, close, pairs, **kwargs)

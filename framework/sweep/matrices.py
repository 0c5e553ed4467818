"""Grids over signal and target matrices: many entry/exit or target-weight matrices over
the same bars in one call, each simulated exactly as the single-run engine would
(``framework.engine.vector.run_signals`` / ``run_targets``), in parallel over combos.

Where :mod:`framework.sweep.grid` generates a crossover's signals inside the kernel, here
the caller (or a strategy's ``signals``, in a sweep's vector trials) brings the matrices:
any rule, any portfolio. Memory stays bounded: combos are stacked ``chunk`` at a time
(by default what keeps one stack of ``[chunk x T x S]`` matrices near 64 MiB), so an
iterator of thousands of matrices never needs them all at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np
import polars as pl

from framework.engine.vector import kernels as k
from framework.engine.vector.engine import (
    VectorEngineError,
    as_2d,
    forward_fill,
    metrics_from_acc,
    size_mode_code,
    target_matrix,
    target_rules,
)
from framework.execution.costs import NO_COSTS, CostConfig
from framework.types.annual import SESSIONS_PER_YEAR

STACK_BUDGET_BYTES = 64 << 20  # one chunk of stacked matrices, when chunk is None


@dataclass(frozen=True)
class GridRun:
    """One grid: ``metrics`` one row per combo (``combo`` = its position in the input,
    then :func:`framework.engine.vector.engine.metrics_from_acc`'s columns); ``equity``
    the ``[C, T]`` closing equity curves (USD) when asked for, else None."""

    metrics: pl.DataFrame
    equity: np.ndarray | None


def _cost_vector(costs: CostConfig | np.ndarray) -> np.ndarray:
    """A :class:`~framework.execution.costs.CostConfig`, or its full cost vector
    (``CostConfig.as_array()``), as the kernels take it."""
    return costs.as_array() if isinstance(costs, CostConfig) else np.asarray(costs, np.float64)


def _matrices(name: str, items: np.ndarray | Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """The ``[T, S]`` (or ``[T]``) matrices of a ``[C, T, S]`` array or an iterable."""
    if isinstance(items, np.ndarray) and items.ndim not in (2, 3):
        raise VectorEngineError(f"{name} must be [combos x time x symbol] or "
                                f"[combos x time], got shape {items.shape}")
    return iter(items)


def _chunks(chunk: int | None, shape: tuple[int, int], n_stacked: int) -> int:
    if chunk is None:
        return max(1, STACK_BUDGET_BYTES // (8 * n_stacked * shape[0] * shape[1]))
    if chunk < 1:
        raise VectorEngineError(f"chunk must be >= 1 combo, got {chunk}")
    return int(chunk)


def _finish(parts: list[tuple[np.ndarray, np.ndarray]], init_cash: float, n_bars: int,
            periods_per_year: float, keep_equity: bool) -> GridRun:
    if not parts:
        raise VectorEngineError("the grid is empty: no matrices were given")
    acc = np.concatenate([a for _, a in parts])
    rows = [metrics_from_acc(acc[i], init_cash, n_bars, periods_per_year)
            for i in range(acc.shape[0])]
    metrics = pl.DataFrame(rows).insert_column(0, pl.Series("combo", np.arange(acc.shape[0])))
    equity = np.concatenate([e for e, _ in parts]) if keep_equity else None
    return GridRun(metrics, equity)


def grid_targets(open_: np.ndarray, close: np.ndarray,
                 targets: np.ndarray | Iterable[np.ndarray], *, unit: str = "weight",
                 init_cash: float = 100_000.0, rebalance_band: float = 0.0,
                 min_order_value: float = 0.0, whole_shares: bool = False,
                 costs: CostConfig | np.ndarray = NO_COSTS,
                 periods_per_year: float = SESSIONS_PER_YEAR,
                 chunk: int | None = None, keep_equity: bool = False) -> GridRun:
    """Run :func:`framework.engine.vector.run_targets` on every target matrix of
    ``targets`` (``[C, T, S]`` or an iterable of ``[T, S]``; units per ``unit``: weight
    = fraction of equity, shares, value = USD; NaN = hold) over the same ``open_``/
    ``close`` (USD, ``[T, S]``), ``chunk`` combos per parallel kernel call. Each combo's
    metrics (and equity curve with ``keep_equity``) equal its own ``run_targets``."""
    o, c = as_2d("open", open_), as_2d("close", close)
    if o.shape != c.shape:
        raise VectorEngineError(f"open {o.shape} and close {c.shape} must match")
    code = target_rules(unit, rebalance_band, min_order_value)
    if not init_cash > 0:
        raise VectorEngineError(f"init_cash must be > 0 USD, got {init_cash}")
    value_px, cost_vec = forward_fill(c), _cost_vector(costs)
    size = _chunks(chunk, c.shape, 1)
    items, parts, i = _matrices("targets", targets), [], 0
    while block := list(islice(items, size)):
        stack = np.stack([target_matrix(f"targets[{i + j}]", m, c.shape)
                          for j, m in enumerate(block)])
        parts.append(k.grid_targets(o, c, value_px, stack, code, float(init_cash),
                                    float(rebalance_band), float(min_order_value),
                                    bool(whole_shares), cost_vec))
        i += len(block)
    return _finish(parts, init_cash, c.shape[0], periods_per_year, keep_equity)


def grid_target_weights(open_: np.ndarray, close: np.ndarray,
                        weights: np.ndarray | Iterable[np.ndarray], **kwargs) -> GridRun:
    """:func:`grid_targets` of target-weight matrices (fraction of equity; NaN = hold):
    many portfolios over the same bars in one call."""
    return grid_targets(open_, close, weights, unit="weight", **kwargs)


def grid_signals(open_: np.ndarray, close: np.ndarray,
                 signals: Iterable[tuple[np.ndarray, np.ndarray]],
                 *, init_cash: float = 100_000.0, size_mode: str = "equity_fraction",
                 size: float = 1.0, whole_shares: bool = False,
                 costs: CostConfig | np.ndarray = NO_COSTS,
                 periods_per_year: float = SESSIONS_PER_YEAR,
                 chunk: int | None = None, keep_equity: bool = False) -> GridRun:
    """Run :func:`framework.engine.vector.run_signals` on every ``(entries, exits)``
    pair of ``signals`` (bool ``[T, S]`` each, observed at bar t's close, filled at
    t+1's open) over the same ``open_``/``close`` (USD), ``chunk`` combos per parallel
    kernel call; sizing per ``size_mode``/``size`` as ``run_signals``."""
    o, c = as_2d("open", open_), as_2d("close", close)
    if o.shape != c.shape:
        raise VectorEngineError(f"open {o.shape} and close {c.shape} must match")
    mode = size_mode_code(size_mode, size)
    if not init_cash > 0:
        raise VectorEngineError(f"init_cash must be > 0 USD, got {init_cash}")
    value_px, cost_vec = forward_fill(c), _cost_vector(costs)
    size_c = _chunks(chunk, c.shape, 1)  # bools: two [T, S] stacks of 1 byte < one float
    items, parts, i = iter(signals), [], 0
    while block := list(islice(items, size_c)):
        ens, exs = [], []
        for j, (en, ex) in enumerate(block):
            ens.append(as_2d(f"entries[{i + j}]", en, np.bool_))
            exs.append(as_2d(f"exits[{i + j}]", ex, np.bool_))
            if ens[-1].shape != c.shape or exs[-1].shape != c.shape:
                raise VectorEngineError(f"signals[{i + j}] shapes {ens[-1].shape}, "
                                        f"{exs[-1].shape} differ from close shape {c.shape}")
        parts.append(k.grid_signals(o, c, value_px, np.stack(ens), np.stack(exs),
                                    float(init_cash), mode, float(size), bool(whole_shares),
                                    cost_vec))
        i += len(block)
    return _finish(parts, init_cash, c.shape[0], periods_per_year, keep_equity)

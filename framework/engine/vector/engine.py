"""Thin Python layer of the vectorized engine: validate, call kernels, return frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from framework.engine.vector import kernels as k
from framework.execution.costs import NO_COSTS, CostConfig
from framework.strategy.decision import SIZE_MODES
from framework.strategy.signals import TARGET_UNITS
from framework.types.annual import SESSIONS_PER_YEAR, annualised_sharpe
from framework.types.errors import FwError


class VectorEngineError(FwError):
    """Bad input to the vectorized engine (shape, dtype or sizing parameter)."""


@dataclass(frozen=True)
class VectorResult:
    """One vectorized run: equity/cash curves (USD, per bar), fills and summary metrics."""

    equity: np.ndarray
    cash: np.ndarray
    fills: pl.DataFrame
    metrics: dict


def as_2d(name: str, a: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Return ``a`` as a C-contiguous ``[T, S]`` array (a 1-D input is one symbol)."""
    arr = np.asarray(a)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise VectorEngineError(f"{name} must be [time] or [time x symbol], got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=dtype)


def forward_fill(close: np.ndarray) -> np.ndarray:
    """Valuation prices: ``close`` forward-filled per symbol (NaN before the first print)."""
    idx = np.where(np.isnan(close), 0, np.arange(close.shape[0])[:, None])
    np.maximum.accumulate(idx, axis=0, out=idx)
    out = np.take_along_axis(close, idx, axis=0)
    return np.nan_to_num(out, nan=0.0)


def size_mode_code(size_mode: str, size: float) -> int:
    """Validate a sizing mode name and size; return the kernel code."""
    if size_mode not in SIZE_MODES:
        raise VectorEngineError(f"size_mode must be one of {sorted(SIZE_MODES)}, got {size_mode!r}")
    if not np.isfinite(size) or size <= 0:
        raise VectorEngineError(f"size must be finite and > 0, got {size}")
    return SIZE_MODES[size_mode]


def metrics_from_acc(
    acc: np.ndarray, init_cash: float, n_bars: int, periods_per_year: float
) -> dict:
    """Summary metrics from a kernel accumulator row (see ``kernels.A_*``).

    Sharpe is ``framework.types.annual.annualised_sharpe`` of the per-bar simple returns
    of closing equity (first bar's close onwards) with ``periods_per_year`` (the report's
    per-session Sharpe on daily bars). ``max_drawdown`` is a fraction.
    """
    n_r = acc[k.A_N_R]
    mean = acc[k.A_SUM_R] / n_r if n_r > 0 else np.nan
    var = (acc[k.A_SUM_R2] - n_r * mean * mean) / (n_r - 1) if n_r > 1 else np.nan
    with np.errstate(invalid="ignore"):  # var < 0 by rounding: no spread
        sd = np.sqrt(var)
    sharpe = annualised_sharpe(mean, sd, periods_per_year)
    return {
        "final_equity": float(acc[k.A_EQ]),
        "total_return": float(acc[k.A_EQ] / init_cash - 1.0),
        "sharpe": float(sharpe),
        "max_drawdown": float(acc[k.A_MAXDD]),
        "n_fills": int(acc[k.A_N_FILLS]),
        "n_entries": int(acc[k.A_N_ENTRIES]),
        "exposure": float(acc[k.A_EXPO_BARS] / n_bars) if n_bars else np.nan,
        "fees": float(acc[k.A_FEES]),
    }


def target_matrix(name: str, targets: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``targets`` as a ``[T, S]`` float64 array of the prices' ``shape``; inf refused
    (NaN = no change)."""
    w = as_2d(name, targets)
    if w.shape != shape:
        raise VectorEngineError(f"{name} shape {w.shape} differs from close shape {shape}")
    if np.any(np.isinf(w)):
        raise VectorEngineError(f"{name} must be finite (NaN = no change)")
    return w


def target_rules(unit: str, rebalance_band: float, min_order_value: float) -> int:
    """Validate a target unit, no-trade band (fraction of equity) and minimum order
    value (USD); return the unit's kernel code."""
    if unit not in TARGET_UNITS:
        raise VectorEngineError(f"unit must be one of {sorted(TARGET_UNITS)}, got {unit!r}")
    if not (rebalance_band >= 0 and min_order_value >= 0):
        raise VectorEngineError("rebalance_band and min_order_value must be >= 0")
    return TARGET_UNITS[unit]


def run_signals(
    open_: np.ndarray,
    close: np.ndarray,
    entries: np.ndarray,
    exits: np.ndarray,
    *,
    init_cash: float = 100_000.0,
    size_mode: str = "equity_fraction",
    size: float = 1.0,
    whole_shares: bool = False,
    costs: CostConfig = NO_COSTS,
    periods_per_year: float = SESSIONS_PER_YEAR,
) -> VectorResult:
    """Simulate long-only entry/exit signals with bar fills and shared cash.

    ``open_``, ``close``: prices [T] or [T x S] (USD); ``entries``/``exits``: bool, same shape,
    observed at bar t's close and filled at bar t+1's open. ``size_mode`` (resolved at the
    fill, ``framework.execution.sizing``): ``equity_fraction`` (of the equity at the fill
    bar's open; 1.0 = all-in), ``shares`` or ``value`` (USD at the open); buys are capped by
    the cash; ``whole_shares`` rounds down. ``fills`` columns: bar (index), symbol (column
    index), qty (signed shares), price, fee (USD).
    """
    o = as_2d("open", open_)
    c = as_2d("close", close)
    en = as_2d("entries", entries, np.bool_)
    ex = as_2d("exits", exits, np.bool_)
    for name, arr in (("open", o), ("entries", en), ("exits", ex)):
        if arr.shape != c.shape:
            raise VectorEngineError(f"{name} shape {arr.shape} differs from close shape {c.shape}")
    if not init_cash > 0:
        raise VectorEngineError(f"init_cash must be > 0 USD, got {init_cash}")
    mode = size_mode_code(size_mode, size)
    eq, cash, ft, fs, fq, fp, ff, acc = k.simulate_signals(
        o, c, forward_fill(c), en, ex, float(init_cash), mode, float(size), bool(whole_shares),
        costs.as_array()
    )
    fills = pl.DataFrame({"bar": ft, "symbol": fs, "qty": fq, "price": fp, "fee": ff})
    return VectorResult(
        eq, cash, fills, metrics_from_acc(acc, init_cash, c.shape[0], periods_per_year)
    )


def run_targets(
    open_: np.ndarray,
    close: np.ndarray,
    targets: np.ndarray,
    *,
    unit: str = "weight",
    init_cash: float = 100_000.0,
    rebalance_band: float = 0.0,
    min_order_value: float = 0.0,
    whole_shares: bool = False,
    costs: CostConfig = NO_COSTS,
    periods_per_year: float = SESSIONS_PER_YEAR,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Rebalance toward targets (``unit``: ``weight`` = fraction of equity, ``shares``,
    ``value`` USD; negative = short; NaN = no change), the event engine's target mode.

    A target known at bar t's close trades at the first later open its symbol prints:
    the difference to the position, skipped inside ``rebalance_band`` (fraction of equity)
    or below ``min_order_value`` (USD), sells before buys, buys capped by the cash.
    Returns ``(equity[T] USD, positions[T x S] shares, metrics)``.
    """
    o = as_2d("open", open_)
    c = as_2d("close", close)
    if o.shape != c.shape:
        raise VectorEngineError(f"open {o.shape} and close {c.shape} must match")
    w = target_matrix("targets", targets, c.shape)
    code = target_rules(unit, rebalance_band, min_order_value)
    eq, positions, acc = k.simulate_targets(
        o, c, forward_fill(c), w, code, float(init_cash), float(rebalance_band),
        float(min_order_value), bool(whole_shares), costs.as_array()
    )
    return eq, positions, metrics_from_acc(acc, init_cash, c.shape[0], periods_per_year)


def run_target_weights(open_: np.ndarray, close: np.ndarray, weights: np.ndarray,
                       **kwargs) -> tuple[np.ndarray, np.ndarray, dict]:
    """:func:`run_targets` with weights (fraction of equity; NaN = hold)."""
    return run_targets(open_, close, weights, unit="weight", **kwargs)

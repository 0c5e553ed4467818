"""Causal array helpers for ``signals``: crosses, lags and trailing rolling reductions.

Every function takes ``[T]`` or ``[T, S]`` arrays (time down the first axis, symbols
independent) and returns the same shape; row t is computed from rows <= t only, so
truncating the input at any t leaves every earlier output row unchanged (tested). There is
no way to ask for a lead: ``shift`` refuses n < 1 and windows only trail.

Rolling reductions (Polars' rolling kernels) follow pandas'
``DataFrame.rolling(window, min_periods)``: the window is the ``window`` rows ending at t
(fewer at the start), NaNs inside it are skipped, and the result is NaN unless at least
``min_periods`` (default ``window``) of its values are finite.
They are NaN-skipping counterparts of ``framework.features`` (``sma``, ...), which follow
TA-Lib: there a NaN input gives NaN output.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from framework.types.errors import FwError


class LookAheadError(FwError):
    """Something reads the future: a helper was asked for a negative shift, or the
    look-ahead check (``framework.engine.lookahead``) found a strategy that fails on its
    data cut short or perturbed (the message names the cut)."""


def _pair(a: np.ndarray | float, b: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    shape = np.broadcast_shapes(a.shape, b.shape)
    if len(shape) not in (1, 2):
        raise ValueError(f"crossover/crossunder: expected [T] or [T, S] arrays, got {shape}")
    return np.broadcast_to(a, shape), np.broadcast_to(b, shape)


def _edge(now: np.ndarray, before: np.ndarray) -> np.ndarray:
    """``now[t] & before[t-1]``, False at t = 0."""
    out = np.zeros(now.shape, dtype=np.bool_)
    out[1:] = now[1:] & before[:-1]
    return out


def crossover(a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    """bool: ``a`` crosses above ``b`` at t: ``a[t] > b[t]`` and ``a[t-1] <= b[t-1]`` (the
    state ``a > b`` begins at t).

    ``b`` may be an array of ``a``'s shape, a ``[S]`` row or a scalar level. False at t = 0
    and wherever ``a`` or ``b`` is NaN at t or t-1 (warm-up, missing bars): a cross needs
    both bars. A touch (``a == b``) is not a cross above; the cross fires when ``a`` moves
    strictly above.
    """
    a, b = _pair(a, b)
    return _edge(a > b, a <= b)  # NaN compares False both ways: no cross


def crossunder(a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    """bool: ``a`` stops being above ``b`` at t: ``a[t] <= b[t]`` and ``a[t-1] > b[t-1]``
    (the state ``a > b`` ends at t). So a :func:`crossover` and the next ``crossunder`` of
    the same pair bracket exactly the bars where ``a > b``, and the two alternate. False at
    t = 0 and wherever ``a`` or ``b`` is NaN at t or t-1. For a strict cross below (a touch
    from above does not count) use ``crossover(b, a)``."""
    a, b = _pair(a, b)
    return _edge(a <= b, a > b)


def shift(a: np.ndarray, n: int = 1) -> np.ndarray:
    """``a`` lagged by ``n >= 1`` rows: ``out[t] = a[t - n]``, the first ``n`` rows NaN
    (False for a bool array). Like ``DataFrame.shift(n)``; ints come back as float64.
    ``n < 1`` raises :class:`LookAheadError`: a negative shift reads the future."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise LookAheadError(f"shift(a, {n!r}): only lags n >= 1 are allowed; a shift of "
                             "n <= 0 puts row t+|n| at row t, which is look-ahead")
    a = np.asarray(a)
    if a.dtype != np.bool_:
        a = a.astype(np.float64)
    out = np.full(a.shape, False if a.dtype == np.bool_ else np.nan, dtype=a.dtype)
    out[n:] = a[:-n] if n < a.shape[0] else a[:0]
    return out


def _rolling(how: str, a: np.ndarray, window: int, min_periods: int | None,
             **kw: int) -> np.ndarray:
    """Polars' trailing ``rolling_<how>`` per column, NaN read as missing."""
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"rolling_{how}: window must be an int >= 1, got {window!r}")
    mp = window if min_periods is None else min_periods
    if not 1 <= mp <= window:
        raise ValueError(f"rolling_{how}: min_periods must be in [1, window={window}], "
                         f"got {mp!r}")
    a = np.asarray(a, dtype=np.float64)
    cols = a.reshape(a.shape[0], -1)
    frame = pl.DataFrame({str(j): cols[:, j] for j in range(cols.shape[1])})
    expr = getattr(pl.all().fill_nan(None), f"rolling_{how}")(int(window), min_samples=mp, **kw)
    out = frame.select(expr).to_numpy().astype(np.float64)  # missing -> NaN
    return out.reshape(a.shape)


def rolling_mean(a: np.ndarray, window: int, min_periods: int | None = None) -> np.ndarray:
    """Trailing mean of the last ``window`` rows (NaN-skipping; see the module docstring)."""
    return _rolling("mean", a, window, min_periods)


def rolling_sum(a: np.ndarray, window: int, min_periods: int | None = None) -> np.ndarray:
    """Trailing sum of the last ``window`` rows (NaN-skipping; see the module docstring)."""
    return _rolling("sum", a, window, min_periods)


def rolling_std(a: np.ndarray, window: int, min_periods: int | None = None,
                ddof: int = 1) -> np.ndarray:
    """Trailing standard deviation of the last ``window`` rows, ``ddof`` 1 (sample, as
    pandas) or 0 (population); NaN-skipping, see the module docstring. A window of equal
    values gives exactly 0."""
    return _rolling("std", a, window, min_periods, ddof=ddof)


def rolling_min(a: np.ndarray, window: int, min_periods: int | None = None) -> np.ndarray:
    """Trailing minimum of the last ``window`` rows (NaN-skipping)."""
    return _rolling("min", a, window, min_periods)


def rolling_max(a: np.ndarray, window: int, min_periods: int | None = None) -> np.ndarray:
    """Trailing maximum of the last ``window`` rows (NaN-skipping)."""
    return _rolling("max", a, window, min_periods)

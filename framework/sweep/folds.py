"""Walk-forward folds over sessions, and the metrics of a trial's daily returns on them.

A trial is one backtest over the whole period; its session-close returns are then cut
into windows. Because every strategy is causal (``fw check lookahead``), the returns of
a window from the whole-period run are what the strategy would have earned there with
those parameters; picking the parameters on an earlier window and reading a later one
is a true out-of-sample test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from framework.analytics.metrics import performance_metrics
from framework.sweep.spec import WalkForwardSpec
from framework.types.errors import FwError


class FoldError(FwError):
    """The sessions cannot hold the walk-forward layout asked for."""


@dataclass(frozen=True)
class Fold:
    """Session index windows ``[lo, hi)``: in-sample and out-of-sample of one fold."""

    is_lo: int
    is_hi: int
    oos_lo: int
    oos_hi: int


@dataclass(frozen=True)
class Layout:
    """The search window (the first in-sample window: the only data that guides the
    sampler) and the walk-forward folds, as session indices."""

    search: tuple[int, int]
    folds: tuple[Fold, ...]
    n_sessions: int

    @property
    def oos(self) -> tuple[int, int]:
        """All out-of-sample sessions (from the first fold's start to the end)."""
        return (self.folds[0].oos_lo, self.n_sessions) if self.folds else (0, 0)


def layout(n_sessions: int, wf: WalkForwardSpec, purge: int) -> Layout:
    """Folds over ``n_sessions`` sessions per ``wf`` with ``purge`` sessions dropped before
    each out-of-sample window. Without folds the search window is every session."""
    if wf.folds == 0:
        return Layout((0, n_sessions), (), n_sessions)
    first = int(round(n_sessions * wf.in_sample))
    edges = np.linspace(first, n_sessions, wf.folds + 1).round().astype(int)
    if first - purge < 3 or np.any(np.diff(edges) < 1):
        raise FoldError(f"{n_sessions} sessions cannot hold {wf.folds} walk-forward folds "
                        f"after an in-sample window of {first} sessions (purge {purge}): "
                        "use fewer folds or more data")
    folds = []
    for k in range(wf.folds):
        lo, hi = int(edges[k]), int(edges[k + 1])
        is_hi = lo - purge
        is_lo = 0 if wf.mode == "anchored" else max(0, is_hi - (first - purge))
        folds.append(Fold(is_lo, is_hi, lo, hi))
    return Layout((0, first - purge), tuple(folds), n_sessions)


def window_metric(returns: np.ndarray, lo: int, hi: int, objective: str) -> float:
    """``objective`` (a key of ``performance_metrics``) over sessions ``[lo, hi)`` of
    daily ``returns`` (fractions). A window with no movement at all scores 0 for ratios
    (no risk taken, nothing earned) rather than NaN."""
    part = returns[lo:hi]
    if part.shape[0] == 0:
        return math.nan
    if objective in ("sharpe", "sortino", "calmar") and not np.any(part != 0.0):
        return 0.0
    return float(performance_metrics(part)[objective])


def fold_scores(returns: np.ndarray, lay: Layout, objective: str) -> dict:
    """The trial's objective on the search window, each fold's in- and out-of-sample
    windows and all out-of-sample sessions together."""
    out = {"search": window_metric(returns, *lay.search, objective),
           "is": [window_metric(returns, f.is_lo, f.is_hi, objective) for f in lay.folds],
           "oos": [window_metric(returns, f.oos_lo, f.oos_hi, objective) for f in lay.folds]}
    out["oos_all"] = window_metric(returns, *lay.oos, objective) if lay.folds else math.nan
    return out

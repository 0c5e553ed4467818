"""Leak-free cross-validation for labels that span time.

A sample is known by its label horizon ``[t0, t1]`` (ns UTC, inclusive): the event time
and the time its label was settled. A training sample *leaks* into a test fold when its
horizon overlaps the test fold's span, or starts within ``embargo_ns`` after it (serial
correlation carries information backwards). Every splitter here removes both (AFML ch. 7)
and returns plain index arrays, so any model library can use them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from framework.types.errors import FwError


class SplitError(FwError):
    """A splitter cannot build the folds asked for (too few samples or groups)."""


def _check(t0: np.ndarray, t1: np.ndarray) -> None:
    if t0.shape != t1.shape or t0.ndim != 1:
        raise SplitError("t0 and t1 must be 1-d arrays of the same length")
    if np.any(np.diff(t0) < 0):
        raise SplitError("samples must be sorted by t0 (event time)")
    if np.any(t1 < t0):
        raise SplitError("a label cannot settle before its event (t1 < t0)")


def purge(train: np.ndarray, t0: np.ndarray, t1: np.ndarray, spans: list[tuple[int, int]],
          embargo_ns: int) -> np.ndarray:
    """``train`` indices whose horizon neither overlaps any test span ``(lo, hi)`` (ns)
    nor starts within ``embargo_ns`` after one."""
    keep = np.ones(train.shape[0], dtype=bool)
    for lo, hi in spans:
        keep &= (t1[train] < lo) | (t0[train] > hi + embargo_ns)
    return train[keep]


def _groups(n: int, k: int) -> list[np.ndarray]:
    if n < k:
        raise SplitError(f"{n} samples cannot make {k} folds")
    return np.array_split(np.arange(n), k)


def purged_kfold(t0: np.ndarray, t1: np.ndarray, n_splits: int = 5,
                 embargo_ns: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """K contiguous test folds in time; training is every other sample, purged and
    embargoed against the test fold. Yields ``(train_idx, test_idx)``."""
    _check(t0, t1)
    idx = np.arange(t0.shape[0])
    for test in _groups(t0.shape[0], n_splits):
        span = [(int(t0[test[0]]), int(t1[test].max()))]
        yield purge(np.setdiff1d(idx, test), t0, t1, span, embargo_ns), test


def combinatorial_purged(t0: np.ndarray, t1: np.ndarray, n_groups: int = 6, n_test: int = 2,
                         embargo_ns: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Combinatorial purged CV: every choice of ``n_test`` of ``n_groups`` contiguous
    groups is a test set (C(N, k) splits, so backtest paths can be recombined)."""
    _check(t0, t1)
    groups = _groups(t0.shape[0], n_groups)
    idx = np.arange(t0.shape[0])
    for chosen in itertools.combinations(range(n_groups), n_test):
        test = np.concatenate([groups[g] for g in chosen])
        spans = [(int(t0[groups[g][0]]), int(t1[groups[g]].max())) for g in chosen]
        yield purge(np.setdiff1d(idx, test), t0, t1, spans, embargo_ns), test


@dataclass(frozen=True)
class Fold:
    """One walk-forward step: fit on ``train``, predict ``test``; the model is valid for
    events in ``[start_ns, end_ns)``."""

    train: np.ndarray
    test: np.ndarray
    start_ns: int
    end_ns: int


def walk_forward(t0: np.ndarray, t1: np.ndarray, boundaries_ns: np.ndarray, *,
                 mode: str = "expanding", window: int = 0) -> list[Fold]:
    """Walk-forward folds with a refit at each boundary.

    ``boundaries_ns`` (sorted, ns UTC): fold k tests events in ``[b[k], b[k+1])``. It
    trains on samples whose label settled before ``b[k]`` (so nothing known only after
    the refit is used), all of them (``mode="expanding"``) or those with events in the
    last ``window`` fold spans (``mode="rolling"``).
    """
    _check(t0, t1)
    if mode not in ("expanding", "rolling"):
        raise SplitError(f"walk-forward mode must be 'expanding' or 'rolling', got {mode!r}")
    b = np.asarray(boundaries_ns, dtype=np.int64)
    folds = []
    for k in range(b.shape[0] - 1):
        train = np.flatnonzero(t1 < b[k])
        if mode == "rolling" and window > 0:
            lo = b[k - window] if k >= window else np.iinfo(np.int64).min
            train = train[t0[train] >= lo]
        test = np.flatnonzero((t0 >= b[k]) & (t0 < b[k + 1]))
        if train.shape[0] == 0:
            raise SplitError(f"walk-forward fold {k} has no training sample settled before "
                             f"{int(b[k])} ns: start the out-of-sample period later")
        folds.append(Fold(train, test, int(b[k]), int(b[k + 1])))
    return folds

"""Indicators over a growing series, a few new bars at a time, bit-identical to one batch
call over the whole series: how the live driver keeps a strategy's ``signals`` cheap.

The live driver calls ``signals(panel)`` at every bar. Over the whole session that is
O(n) per bar (O(n^2) a day); over a short trailing window it is O(window), but an
indicator with memory (an EMA, a running sum) would then start from a different place
and drift from the backtest. Inside :meth:`Incremental.window`, every framework indicator
keeps its per-column state from one call to the next: each call runs only the rows it
has not seen (the same kernel, the same arithmetic, in the same order as one batch
call), and returns the window's rows from the outputs it has kept. So the window's
values are the batch values, bit for bit, and a bar costs what its new rows cost.

Indicators are told apart by the order they are called in within ``signals`` (the
k-th call of one bar is the k-th of the next) and checked against their kernel and
parameters; a strategy whose calls change from bar to bar gets an error that says so.
Indicators without a streaming kernel recompute over the full history they have kept
(correct, O(n)); ``STREAMED`` lists those that are O(1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from framework.types.errors import FwError

_ACTIVE: ContextVar[Incremental | None] = ContextVar("fw_incremental", default=None)


class IncrementalError(FwError):
    """A strategy's indicator calls cannot be carried from one bar to the next."""


def current() -> Incremental | None:
    """The incremental evaluation in progress in this context, if any."""
    return _ACTIVE.get()


def kept_from(n_rows: int) -> int:
    """The first of a ``signals`` panel's ``n_rows`` rows whose output is kept: inside a
    live window (:meth:`Incremental.window`) the live driver keeps only the last row, so
    per-row work on the others (a model's predictions) may be skipped; else 0 (every
    row is kept)."""
    return max(n_rows - 1, 0) if current() is not None else 0


class _Site:
    """One indicator call site: its key, per-column states, kept outputs (and inputs)."""

    def __init__(self, key: tuple, n_cols: int, n_out: int):
        self.key = key
        self.states: list = [None] * n_cols
        self.fed = 0  # absolute rows already run
        self.outs = [np.empty((1024, n_cols)) for _ in range(n_out)]
        self.ins: list[np.ndarray] | None = None  # full inputs (recomputed indicators)

    def reserve(self, n: int) -> None:
        cap = self.outs[0].shape[0]
        if n > cap:
            new = max(n, 2 * cap)
            grown = []
            for o in self.outs:
                g = np.empty((new, o.shape[1]))
                g[:cap] = o
                grown.append(g)
            self.outs = grown


class Incremental:
    """State carried across ``signals`` calls on windows of one growing series."""

    def __init__(self) -> None:
        self._sites: list[_Site] = []
        self._k = 0
        self._first = 0
        self._rows = 0

    @contextmanager
    def window(self, first_row: int, n_rows: int) -> Iterator[Incremental]:
        """Evaluate indicators on a window holding absolute rows
        ``first_row .. first_row + n_rows - 1`` of the series."""
        self._k, self._first, self._rows = 0, first_row, n_rows
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    def _site(self, key: tuple, xs: list[np.ndarray], n_out: int) -> tuple[_Site, int]:
        """The call site of this call, and where the window's unseen rows start in it."""
        if xs[0].shape[0] != self._rows:
            raise IncrementalError(
                f"an indicator got {xs[0].shape[0]} rows inside a live window of "
                f"{self._rows}: only arrays of the window's bars can be carried over")
        n_cols = 1 if xs[0].ndim == 1 else xs[0].shape[1]
        k = self._k
        self._k += 1
        if k == len(self._sites):
            self._sites.append(_Site(key, n_cols, n_out))
        site = self._sites[k]
        if site.key != key or len(site.states) != n_cols:
            raise IncrementalError(
                f"indicator call #{k + 1} of signals() changed between bars ({site.key[0]} "
                f"then {key[0]}): the live driver carries indicators by call order")
        lo = site.fed - self._first
        if lo < 0:
            raise IncrementalError("rows were skipped between two live windows")
        return site, lo

    def _window_out(self, site: _Site, n_out: int, one_d: bool):
        a, b = self._first, self._first + self._rows
        outs = [o[a:b, 0].copy() if one_d else o[a:b].copy() for o in site.outs]
        return outs[0] if n_out == 1 else tuple(outs)

    def run_state(self, key: tuple, state: Callable[[], np.ndarray], run: Callable,
                  xs: list[np.ndarray], n_out: int, extra: tuple = ()):
        """``run(state, *columns, *extra, *outs)`` over the unseen rows only, per column."""
        site, lo = self._site(key, xs, n_out)
        new = self._rows - lo
        site.reserve(site.fed + new)
        if new > 0:
            cols = [x[:, None] if x.ndim == 1 else x for x in xs]
            tmp = [np.empty(new) for _ in range(n_out)]
            for j in range(len(site.states)):
                if site.states[j] is None:
                    site.states[j] = state()
                run(site.states[j], *[np.ascontiguousarray(c[lo:, j]) for c in cols], *extra,
                    *tmp)
                for o, t in zip(site.outs, tmp, strict=True):
                    o[site.fed: site.fed + new, j] = t
            site.fed += new
        return self._window_out(site, n_out, xs[0].ndim == 1)

    def run_full(self, key: tuple, compute: Callable[[list[np.ndarray]], object],
                 xs: list[np.ndarray], n_out: int):
        """``compute(inputs)`` over every row kept so far (an indicator without a
        streaming kernel): correct, O(history)."""
        site, lo = self._site(key, xs, n_out)
        new = self._rows - lo
        cols = [x[:, None] if x.ndim == 1 else x for x in xs]
        if site.ins is None:
            site.ins = [np.empty((0, c.shape[1])) for c in cols]
        site.ins = [np.vstack([h, c[lo:]]) for h, c in zip(site.ins, cols, strict=True)]
        site.fed += new
        site.reserve(site.fed)
        token = _ACTIVE.set(None)  # compute is the plain batch call
        try:
            full = compute([h[:, 0] if xs[0].ndim == 1 else h for h in site.ins])
        finally:
            _ACTIVE.reset(token)
        for o, f in zip(site.outs, full if n_out > 1 else (full,), strict=True):
            o[: site.fed] = np.asarray(f).reshape(site.fed, -1)
        return self._window_out(site, n_out, xs[0].ndim == 1)

"""Indicator results shared across the trials of a parameter sweep: what vectorbt's
``MA.run`` with a parameter product does, for any strategy written with
``framework.features``.

A sweep over ``window x entry_z x exit_z`` calls ``zscore(close, window)`` once per trial,
with the same close and, for every trial of one window, the same window. Inside
:func:`shared_features` every batch indicator looks its result up by (kernel, its
parameters, the bytes of its inputs) first, so each distinct computation runs once per
process and later trials get a copy. Copies, not views: a strategy that writes into an
indicator's output cannot change another trial's. The cache holds at most ``max_bytes``
of outputs (least recently used first out), so memory stays bounded whatever the grid.
Outside the context nothing is cached and nothing changes.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

_ACTIVE: ContextVar[FeatureMemo | None] = ContextVar("fw_shared_features", default=None)

DEFAULT_MAX_BYTES = 256 << 20


def current() -> FeatureMemo | None:
    """The shared-feature cache in force in this context, if any."""
    return _ACTIVE.get()


def _digest(xs: list[np.ndarray]) -> tuple:
    h = hashlib.blake2b(digest_size=16)
    for x in xs:
        h.update(repr((x.shape, x.dtype.str)).encode())
        h.update(np.ascontiguousarray(x).view(np.uint8).reshape(-1))
    return (h.digest(),)


class FeatureMemo:
    """Least-recently-used cache of indicator outputs, bounded by ``max_bytes``;
    ``hits``/``misses`` count lookups (a hit is a computation a trial did not redo)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        self.max_bytes = int(max_bytes)
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        # key -> (whether the indicator returns a tuple, its output arrays)
        self._items: OrderedDict[tuple, tuple[bool, tuple[np.ndarray, ...]]] = OrderedDict()

    def get(self, key: tuple, xs: list[np.ndarray], compute: Callable[[], object]):
        """``compute()``'s result for the indicator ``key`` over inputs ``xs`` (an array
        or a tuple of arrays), from the cache when this process has computed it before."""
        full = key + _digest(xs)
        kept = self._items.get(full)
        if kept is not None:
            self.hits += 1
            self._items.move_to_end(full)
            many, arrays = kept
            outs = tuple(a.copy() for a in arrays)
            return outs if many else outs[0]
        self.misses += 1
        res = compute()
        outs = res if isinstance(res, tuple) else (res,)
        size = sum(a.nbytes for a in outs)
        if size <= self.max_bytes:
            self._items[full] = (isinstance(res, tuple), tuple(a.copy() for a in outs))
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (_, old) = self._items.popitem(last=False)
                self.bytes -= sum(a.nbytes for a in old)
        return res


@contextmanager
def shared_features(memo: FeatureMemo | None = None) -> Iterator[FeatureMemo]:
    """Within the block, batch indicators share results through ``memo`` (a fresh
    cache of ``DEFAULT_MAX_BYTES`` when None); yields the cache."""
    memo = memo if memo is not None else FeatureMemo()
    token = _ACTIVE.set(memo)
    try:
        yield memo
    finally:
        _ACTIVE.reset(token)

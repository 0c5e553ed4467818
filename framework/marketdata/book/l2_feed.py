"""A generic L2 feed: snapshots plus sequenced incremental deltas, with gap recovery.

Message rows (``L2_MSG_DTYPE``): a DELTA sets the level ``(side, price)`` of book
``sym`` to ``size`` shares (0 removes it) and carries the venue's sequence number; a
SNAPSHOT is a run of consecutive rows of one book sharing one ``seq``, describing the
whole book after update ``seq`` (a snapshot of an empty book is one row of size 0).

Rules, per book:

* before the first snapshot, and after any fault, the book is *stale*: deltas are not
  applied and nothing is emitted until the next snapshot resynchronises it;
* a delta with ``seq`` = expected is applied; ``seq`` < expected is a duplicate (or a
  late, superseded update) and is dropped; ``seq`` > expected is a gap: the book
  goes stale (an out-of-order pair shows up as a gap, then a dropped late delta);
* a crossed book after an update means an update was missed: reported and stale; a
  locked book is reported on the row and kept (it can be real, briefly).

The levels live in the same L3 book arrays as everything else (``LEVEL`` events), so
the L2 view, the fill models and the features read one structure.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from framework.marketdata.book import kernels as K
from framework.marketdata.book.book import OrderBooks, TopLevels, to_units
from framework.types.jit import kernel

L2_MSG_DTYPE = np.dtype([
    ("ts", "i8"),  # ns UTC
    ("sym", "i4"),  # book index
    ("seq", "i8"),  # venue sequence number
    ("kind", "i1"),  # DELTA / SNAPSHOT
    ("side", "i1"),  # +1 bid, -1 ask
    ("price", "f8"),  # USD
    ("size", "f8"),  # shares at the level after the update
])
DELTA, SNAPSHOT = 0, 1
# row status
APPLIED, STALE, DUPLICATE, GAP, CROSSED, LOCKED, SNAPSHOT_ROW = range(7)
STATUS_NAMES = ("applied", "stale", "duplicate", "gap", "crossed", "locked", "snapshot")


class L2Result(NamedTuple):
    """Per message row: ``status`` (``STATUS_NAMES``), ``live`` (the book may be read
    after this row) and the top-N levels, NaN where the book is not live."""

    status: np.ndarray
    live: np.ndarray
    top: TopLevels


@kernel
def _clear(bk, b):
    for s in range(2):
        while bk.best[b, s] >= 0:  # each cleared best hands over to the next level
            K._set_level(bk, b, s, bk.p0[b] + bk.best[b, s] * bk.tick[b], 0.0)


@kernel  # no allocation; see kernels' docstring
def _run(bk, start, book, kind, seq, side, px, qty, ts, expected, stale, synced, syncs,
         status, live, top_n, ask_px, ask_sz, bid_px, bid_sz):
    n = kind.shape[0]
    for i in range(start, n):
        b = book[i]
        if kind[i] == SNAPSHOT:
            first = i == 0 or kind[i - 1] != SNAPSHOT or book[i - 1] != b or seq[i - 1] != seq[i]
            if first:
                _clear(bk, b)
            st = K.apply_event(bk, b, K.LEVEL, side[i], 0, px[i], qty[i], 0, ts[i])
            if st != K.OK:
                return i, st
            status[i] = SNAPSHOT_ROW
            last = i == n - 1 or kind[i + 1] != SNAPSHOT or book[i + 1] != b or seq[i + 1] != seq[i]
            if last:
                syncs[0] += 1
                if synced[b]:
                    syncs[1] += 1  # a resynchronisation, not the first sync
                synced[b] = True
                expected[b] = seq[i] + 1
                stale[b] = bk.cross[b] == K.MARKET_CROSSED
                if stale[b]:
                    status[i] = CROSSED
            live[i] = last and not stale[b]
        elif stale[b]:
            status[i] = STALE
        elif seq[i] < expected[b]:
            status[i] = DUPLICATE
        elif seq[i] > expected[b]:
            status[i] = GAP
            stale[b] = True
        else:
            st = K.apply_event(bk, b, K.LEVEL, side[i], 0, px[i], qty[i], 0, ts[i])
            if st != K.OK:
                return i, st
            expected[b] += 1
            status[i] = APPLIED
            if bk.cross[b] == K.MARKET_CROSSED:
                status[i] = CROSSED
                stale[b] = True
            elif bk.cross[b] == K.MARKET_LOCKED:
                status[i] = LOCKED
        if kind[i] != SNAPSHOT:
            live[i] = not stale[b]
        if top_n > 0:
            K.top_levels(bk, b, top_n, ask_px, ask_sz, bid_px, bid_sz, i)
    return n, K.OK


class L2Feed:
    """Books for ``n_books`` symbols fed by snapshot + delta messages."""

    def __init__(self, n_books: int = 1):
        self.books = OrderBooks(n_books)
        self._expected = np.zeros(n_books, np.int64)
        self._stale = np.ones(n_books, np.bool_)
        self._synced = np.zeros(n_books, np.bool_)
        self._syncs = np.zeros(2, np.int64)  # snapshots completed, of which resyncs
        self._status_counts = np.zeros(len(STATUS_NAMES), np.int64)

    def apply(self, msgs: np.ndarray, top_n: int = 1) -> L2Result:
        """Apply ``L2_MSG_DTYPE`` rows in arrival order."""
        n = msgs.shape[0]
        status = np.zeros(n, np.int8)
        live = np.zeros(n, np.bool_)
        w = max(top_n, 1)
        rows = n if top_n > 0 else 0
        out = tuple(np.empty((rows, w)) for _ in range(4))
        book = np.ascontiguousarray(msgs["sym"], np.int64)
        cols = (np.ascontiguousarray(msgs["kind"], np.int8), np.ascontiguousarray(msgs["seq"]),
                np.ascontiguousarray(msgs["side"], np.int8), to_units(msgs["price"]),
                np.ascontiguousarray(msgs["size"], np.float64), np.ascontiguousarray(msgs["ts"]))
        i = 0
        while i < n:
            i, st = _run(self.books.state, i, book, *cols, self._expected, self._stale,
                         self._synced, self._syncs, status, live, top_n, *out)
            self.books.grow(st)
        self._status_counts += np.bincount(status, minlength=len(STATUS_NAMES))
        top = TopLevels(*(np.where(live[:rows, None], a, np.nan) for a in out))
        return L2Result(status, live, top)

    def is_stale(self, book: int = 0) -> bool:
        """True until a snapshot syncs the book, and after any gap or crossing."""
        return bool(self._stale[book])

    @property
    def counters(self) -> dict[str, int]:
        """Rows by status (applied, stale, duplicate, gap, crossed, locked, snapshot rows),
        snapshots completed and resyncs (snapshots after the first, per book)."""
        out = {name: int(c) for name, c in zip(STATUS_NAMES, self._status_counts, strict=True)}
        out["snapshots"], out["resyncs"] = int(self._syncs[0]), int(self._syncs[1])
        return out

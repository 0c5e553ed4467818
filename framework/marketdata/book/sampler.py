"""``BookSampler``: the L2 view of every book at chosen instants (a strategy's decision
times), from L3 book events replayed in order.

Both drivers use it the same way: the backtest asks for all decision times at once, the
live driver for one bar's decision time as the bar closes, passing the events received
so far; the sampler remembers how far it has applied them, so the two give the same
rows. An event is seen by a sample when its ``ts`` is strictly before the instant.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from framework.marketdata.book import kernels as K
from framework.marketdata.book.book import BookError, OrderBooks


class BookLevels(NamedTuple):
    """Top-N levels per instant and book, ``[T, S, N]``: prices USD (NaN where a side has
    fewer than N levels), sizes shares (0 there). Level 0 is the best."""

    bid_px: np.ndarray
    bid_sz: np.ndarray
    ask_px: np.ndarray
    ask_sz: np.ndarray

    def rows(self, start: int, stop: int) -> BookLevels:
        """Instants ``start .. stop-1`` (views)."""
        return BookLevels(*(a[start:stop] for a in self))


class BookSampler:
    """``n_books`` L3 books (book ``i`` = event ``sym`` ``i``) sampled ``levels`` deep."""

    def __init__(self, n_books: int, levels: int):
        if levels < 1:
            raise BookError(f"levels must be >= 1, got {levels}")
        self.levels = int(levels)
        self.books = OrderBooks(n_books, max_orders=1 << 10)
        self.cursor = 0  # next event of the stream not yet applied

    def sample(self, sym: np.ndarray, kind: np.ndarray, side: np.ndarray,
               order_id: np.ndarray, price_units: np.ndarray, size: np.ndarray,
               new_order_id: np.ndarray, ts: np.ndarray, at: np.ndarray) -> BookLevels:
        """Top levels of every book at each instant of ``at`` (ns UTC, non-decreasing,
        not before an earlier call's). The event columns are the whole stream so far,
        time-ordered (prices in 1e-4 USD units); calls pick up where the last one ended."""
        at = np.ascontiguousarray(at, np.int64)
        nb, n = self.books.n_books, self.levels
        rows = at.shape[0] * nb
        apx, asz, bpx, bsz = (np.empty((rows, n)) for _ in range(4))
        t = 0
        while t < at.shape[0]:
            self.cursor, t, status = K.apply_and_sample(
                self.books.state, self.cursor, sym, kind, side, order_id, price_units, size,
                new_order_id, ts, t, at, n, apx, asz, bpx, bsz)
            self.books.grow(status)
        shape = (at.shape[0], nb, n)
        return BookLevels(bpx.reshape(shape), bsz.reshape(shape), apx.reshape(shape),
                          asz.reshape(shape))

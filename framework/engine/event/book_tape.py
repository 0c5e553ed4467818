"""``BookTape``: the L3 book events the book fill model replays, merged across symbols."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from framework.data import Lake
from framework.marketdata.book.book import OrderBooks, to_units
from framework.strategy.panel import BarPanel, PanelError


@dataclass(frozen=True)
class BookTape:
    """Book events of all symbols in time order (``sym`` = index into the panel's
    symbols): ``ts`` ns UTC, ``kind`` ``BookEvent``, ``side`` +1 bid / -1 ask,
    ``price`` int64 units of 1e-4 USD, ``size`` shares."""

    ts: np.ndarray
    sym: np.ndarray
    kind: np.ndarray
    side: np.ndarray
    order_id: np.ndarray
    price: np.ndarray
    size: np.ndarray
    new_order_id: np.ndarray

    @classmethod
    def empty(cls) -> BookTape:
        """No book events (bar and quote fill models)."""
        i8 = np.zeros(0, np.int64)
        return cls(i8, np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int8), i8,
                   i8, np.zeros(0), i8)

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, symbols: tuple[str, ...]) -> BookTape:
        """From a lake ``book_events`` frame; ties keep symbol order, then source order."""
        idx = {s: i for i, s in enumerate(symbols)}
        f = (frame.with_columns(sym=pl.col("symbol").replace_strict(idx, return_dtype=pl.Int64))
             .with_row_index("_row").sort(["ts", "sym", "_row"]))
        return cls(f["ts"].to_numpy().astype(np.int64), f["sym"].to_numpy().astype(np.int64),
                   f["kind"].to_numpy().astype(np.int8), f["side"].to_numpy().astype(np.int8),
                   f["order_id"].to_numpy().astype(np.int64), to_units(f["price"].to_numpy()),
                   f["size"].to_numpy().astype(np.float64),
                   f["new_order_id"].to_numpy().astype(np.int64))

    def windows(self, panel: BarPanel) -> tuple[np.ndarray, np.ndarray]:
        """``(lo, hi)`` per bar: the events with ``ts[t] <= ts < ts[t] + bar_ns``."""
        lo = np.searchsorted(self.ts, panel.ts, side="left").astype(np.int64)
        hi = np.searchsorted(self.ts, panel.ts + panel.bar_ns, side="left").astype(np.int64)
        return lo, np.maximum(hi, lo)

    def books(self, n_symbols: int) -> OrderBooks:
        """Empty books laid out for this tape: one dry replay finds the price grids and
        the order capacity, so the engine's loop never has to stop and grow them."""
        dry = OrderBooks(max(n_symbols, 1))
        dry.apply_units(self.sym, self.kind, self.side, self.order_id, self.price, self.size,
                        self.new_order_id, self.ts)
        return dry.empty_like()


def load_book_events(lake: Lake, panel: BarPanel) -> BookTape:
    """The lake's book events for the panel's symbols and sessions."""
    if panel.n_bars == 0:
        return BookTape.empty()
    frame = lake.book_events(list(panel.symbols), int(panel.session_open[0]),
                             int(panel.session_close[-1]))
    if frame.height == 0:
        raise PanelError(f"fill_model = 'book' needs book events, and lake {lake.root} has "
                         f"none for {', '.join(panel.symbols)} in the run's range")
    return BookTape.from_frame(frame, panel.symbols)

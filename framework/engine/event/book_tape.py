"""``BookTape``: the L3 book events the book fill model replays, merged across symbols."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import polars as pl

from framework.data import Lake
from framework.marketdata.book.book import to_units
from framework.marketdata.book.sampler import BookSampler
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
    def from_events(cls, events: np.ndarray) -> BookTape:
        """From ``BOOK_EVENT_DTYPE`` rows already in stream order (prices USD)."""
        return cls(events["ts"].astype(np.int64), events["sym"].astype(np.int64),
                   events["kind"].astype(np.int8), events["side"].astype(np.int8),
                   events["order_id"].astype(np.int64), to_units(events["price"]),
                   events["size"].astype(np.float64), events["new_order_id"].astype(np.int64))

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

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def columns(self) -> tuple[np.ndarray, ...]:
        """``(sym, kind, side, order_id, price, size, new_order_id, ts)``: the argument
        order of the book kernels and ``BookSampler.sample``."""
        return (self.sym, self.kind, self.side, self.order_id, self.price, self.size,
                self.new_order_id, self.ts)

    def ends(self, panel: BarPanel) -> np.ndarray:
        """Per bar, the end of the events before its close (``ts < ts[t] + bar_ns``): the
        engine applies every event up to there while in bar ``t``."""
        return np.searchsorted(self.ts, panel.ts + panel.bar_ns, side="left").astype(np.int64)


def load_book_events(lake: Lake, panel: BarPanel) -> BookTape:
    """The lake's book events for the panel's symbols and sessions."""
    if panel.n_bars == 0:
        return BookTape.empty()
    frame = lake.book_events(list(panel.symbols), int(panel.session_open[0]),
                             int(panel.session_close[-1]))
    if frame.height == 0:
        raise PanelError(f"fill_model = 'book' and [data] book_levels need book events, and "
                         f"lake {lake.root} has "
                         f"none for {', '.join(panel.symbols)} in the run's range")
    return BookTape.from_frame(frame, panel.symbols)


def with_book(panel: BarPanel, tape: BookTape, levels: int) -> BarPanel:
    """``panel`` with ``book``: the top ``levels`` of each symbol's book at every decision
    time, replayed from ``tape`` (what ``[data] book_levels`` asks for)."""
    sampler = BookSampler(len(panel.symbols), levels)
    return replace(panel, book=sampler.sample(*tape.columns(), panel.decision_ts()))


class GrowingTape:
    """A tape (``BookTape`` or ``QuoteTape``: a dataclass of equal-length columns) that
    rows are appended to as they arrive (the live driver's): capacity doubles, so
    appending n rows costs O(n) overall. ``convert`` turns arriving rows into a tape."""

    def __init__(self, empty=None, convert=None, capacity: int = 1 << 12):
        empty = BookTape.empty() if empty is None else empty
        self._cls = type(empty)
        self._convert = convert or BookTape.from_events
        self._buf = self._cls(*(np.zeros(capacity, a.dtype) for a in _arrays(empty)))
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        """Add rows (time-ordered, after everything appended before)."""
        new = self._convert(rows)
        need = self.n + int(new.ts.shape[0])
        if need > self._buf.ts.shape[0]:
            cap = max(need, 2 * self._buf.ts.shape[0])
            grown = []
            for old in _arrays(self._buf):
                a = np.zeros(cap, old.dtype)
                a[: self.n] = old[: self.n]
                grown.append(a)
            self._buf = self._cls(*grown)
        for dst, src in zip(_arrays(self._buf), _arrays(new), strict=True):
            dst[self.n:need] = src
        self.n = need

    def tape(self):
        """The rows so far (views, no copy)."""
        return self._cls(*(a[: self.n] for a in _arrays(self._buf)))


def _arrays(tape) -> list[np.ndarray]:
    """The columns in constructor order."""
    return [getattr(tape, f.name) for f in fields(tape)]

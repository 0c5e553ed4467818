"""What an L3 book stream implies besides the book: its prints (trades) and bars.

A book source (LOBSTER, the synthetic order flow) stores ``book_events``; the trades a
strategy's bars come from are the stream's executions: visible and hidden executions,
crosses and non-book trade prints, at the message's price and size. Bars are built from
them by the same kernels as every other source (``framework.marketdata.bars``): 1-minute
bars, and 1-second bars forward-filled through each session's book data so a book
strategy can decide every second, trade or not.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from framework.data import Lake
from framework.data.schemas import TIMEFRAME_NS
from framework.marketdata.bars import SessionTable, time_bars
from framework.types import TRADE_DTYPE, BookEvent

PRINT_KINDS = (BookEvent.EXEC_VISIBLE, BookEvent.EXEC_HIDDEN, BookEvent.CROSS, BookEvent.TRADE)
_BAR_COLS = ("ts", "open", "high", "low", "close", "volume", "vwap", "n")


def book_prints(events: pl.DataFrame) -> pl.DataFrame:
    """The executions of a ``book_events`` frame as a ``trades`` frame (ts ns UTC, price
    USD, size shares; ``exchange`` and ``conditions`` empty: the message says neither)."""
    p = events.filter(pl.col("kind").is_in([int(k) for k in PRINT_KINDS])
                      & (pl.col("size") > 0) & (pl.col("price") > 0))
    return pl.DataFrame({"ts": p["ts"], "price": p["price"], "size": p["size"],
                         "exchange": pl.repeat("", p.height, eager=True, dtype=pl.String),
                         "conditions": pl.repeat("", p.height, eager=True, dtype=pl.String)})


def _data_sessions(events: pl.DataFrame) -> SessionTable:
    """XNYS sessions of the events' dates, each closed at the second after its last event
    (or the regular close, if earlier): forward-filled bars stop where the data stops."""
    ts = events["ts"].to_numpy()
    table = SessionTable.covering(int(ts.min()), int(ts.max()))
    sec = TIMEFRAME_NS["1s"]
    closes = table.closes.copy()
    for j, (o, c) in enumerate(zip(table.opens, table.closes, strict=True)):
        inside = ts[(ts >= o) & (ts < c)]
        if inside.size:
            closes[j] = min(c, o + ((int(inside.max()) - o) // sec + 1) * sec)
    keep = closes > table.opens
    return SessionTable(table.opens[keep], closes[keep])


def book_bars(events: pl.DataFrame, trades: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """``bars_1s`` (forward-filled to the end of the book data each session) and
    ``bars_1m`` from ``trades`` (``book_prints`` of ``events``)."""
    arr = np.zeros(trades.height, TRADE_DTYPE)
    for f in ("ts", "price", "size"):
        arr[f] = trades[f].to_numpy()
    if arr.size == 0:
        return {}
    sessions = _data_sessions(events)
    out = {}
    for tf, ffill in (("1s", True), ("1m", False)):
        bars = time_bars(arr, TIMEFRAME_NS[tf], ffill=ffill, sessions=sessions)
        out["bars_" + tf] = pl.DataFrame({c: bars[c] for c in _BAR_COLS})
    return out


def write_book_data(lake: Lake, symbol: str, events: pl.DataFrame, source: str,
                    origin: str | None = None, trades: pl.DataFrame | None = None
                    ) -> dict[str, int]:
    """Write a book source's ``book_events`` of ``symbol`` and what they imply (trades,
    bars_1s, bars_1m); each dataset replaces the rows of the same span. Rows per dataset.
    ``trades``: the source's own prints where its events cannot price them (ITCH), else
    ``book_prints(events)``."""
    lake.write("book_events", symbol, events, source, origin=origin)
    rows = {"book_events": events.height}
    trades = book_prints(events) if trades is None else trades
    derived = {"trades": trades, **book_bars(events, trades)}
    for ds, frame in derived.items():
        lake.write(ds, symbol, frame, source, origin=origin)
        rows[ds] = frame.height
    return rows

"""The replay feed: the lake played back as one merged, deterministic event stream.

Events of four kinds -- bars, L3 book events, NBBO quotes, trades -- for many symbols are
merged by the time they become *available*, ties broken by (kind, symbol index, original
row). A trade, quote or book event is available at its ``ts``; a bar at its END (a 1-minute
bar labelled 09:30 is known at 09:31; a daily bar at its session close), so a backtest fed
bars never sees a bar before it is complete. At equal availability times bars come first
(they describe the interval that just ended), then book events, quotes, trades.

Two forms of the same stream (see ``docs/marketdata-feed.md``):

* ``ReplayFeed.events()`` -- the whole stream as one ``EventBatch`` (the backtest driver);
* ``ReplayFeed.stream(speed=...)`` / ``async for batch in feed`` -- an async iterator of
  ``EventBatch`` slices, at full speed or paced at ``speed`` x real time (the live-shaped
  driver; the Alpaca live stream implements the same ``MarketFeed`` protocol).

Concatenating the batches of ``stream`` gives exactly ``events()``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol, runtime_checkable

import numpy as np

from framework.types import BAR_DTYPE, BOOK_EVENT_DTYPE, QUOTE_DTYPE, TRADE_DTYPE
from framework.types.errors import FwError

NS_MIN = 60_000_000_000


class ReplayError(FwError, ValueError):
    """Bad replay request (unknown symbol, bad speed, inconsistent arrays)."""


class EventKind(IntEnum):
    """Kinds of events in a feed; the value is also the tie-break rank at equal times."""

    BAR = 0
    BOOK = 1
    QUOTE = 2
    TRADE = 3


_KIND_FIELD = {EventKind.BAR: "bars", EventKind.BOOK: "book", EventKind.QUOTE: "quotes",
               EventKind.TRADE: "trades"}
_DTYPES = {"bars": BAR_DTYPE, "book": BOOK_EVENT_DTYPE, "quotes": QUOTE_DTYPE,
           "trades": TRADE_DTYPE}


@dataclass(frozen=True)
class EventBatch:
    """A run of the merged stream, columnar.

    ``kind[i]`` (int8 ``EventKind``) and ``row[i]`` (int64) say that event i is
    ``<array of that kind>[row[i]]``; ``ts[i]`` is its availability time (ns UTC; for a bar
    its end, while ``bars["ts"]`` keeps the bar's start label). Each per-kind array holds its
    events in stream order, with ``sym`` = index into the feed's ``symbols``.
    """

    kind: np.ndarray
    row: np.ndarray
    ts: np.ndarray
    trades: np.ndarray
    quotes: np.ndarray
    book: np.ndarray
    bars: np.ndarray

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    @classmethod
    def empty(cls) -> EventBatch:
        return cls(np.zeros(0, np.int8), np.zeros(0, np.int64), np.zeros(0, np.int64),
                   **{f: np.zeros(0, dt) for f, dt in _DTYPES.items()})

    def of(self, kind: EventKind) -> np.ndarray:
        """The per-kind array (TRADE_DTYPE, QUOTE_DTYPE, BOOK_EVENT_DTYPE or BAR_DTYPE)."""
        return getattr(self, _KIND_FIELD[EventKind(kind)])

    def slice(self, lo: int, hi: int) -> EventBatch:
        """Events [lo, hi) of this batch as a batch of their own (rows renumbered)."""
        kind = self.kind[lo:hi]
        row = self.row[lo:hi]
        parts = {}
        new_row = np.empty_like(row)
        for k, name in _KIND_FIELD.items():
            m = kind == k
            sel = row[m]
            if sel.size:
                # rows of one kind are consecutive in stream order
                parts[name] = self.of(k)[sel[0]:sel[-1] + 1]
                new_row[m] = sel - sel[0]
            else:
                parts[name] = self.of(k)[:0]
        return EventBatch(kind, new_row, self.ts[lo:hi], **parts)

    @staticmethod
    def concat(batches: Sequence[EventBatch]) -> EventBatch:
        """Batches back to back as one batch (rows renumbered)."""
        if not batches:
            return EventBatch.empty()
        offs = dict.fromkeys(_KIND_FIELD, 0)
        rows = []
        for b in batches:
            r = b.row.copy()
            for k in _KIND_FIELD:
                m = b.kind == k
                r[m] += offs[k]
                offs[k] += len(b.of(k))
            rows.append(r)
        return EventBatch(
            np.concatenate([b.kind for b in batches]), np.concatenate(rows),
            np.concatenate([b.ts for b in batches]),
            **{name: np.concatenate([b.of(k) for b in batches])
               for k, name in _KIND_FIELD.items()})


@runtime_checkable
class MarketFeed(Protocol):
    """What a driver reads market data from: the replay feed here, the Alpaca stream live."""

    symbols: list[str]

    def stream(self, speed: float | None = None) -> AsyncIterator[EventBatch]:
        """Event batches in stream order; ``speed`` paces replay (ignored by live feeds)."""
        ...


def _merge(per_kind: dict[EventKind, tuple[np.ndarray, np.ndarray]]
           ) -> tuple[dict[EventKind, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Stream order of all events: by (availability ts, kind, sym, original row).

    Each kind is first put in (ts, sym, row) order (a stable lexsort, skipped when the
    rows already are, as lake reads are), then the kinds are k-way merged by (ts, kind).
    Returns the per-kind row permutations and the merged (kind, row, ts) arrays, ``row``
    indexing the permuted per-kind arrays."""
    from framework.marketdata import replay_kernels as RK

    perms, sorted_ts = {}, []
    for k in EventKind:
        arr, avail = per_kind[k]
        sym = np.ascontiguousarray(arr["sym"])
        avail = np.ascontiguousarray(avail, np.int64)
        if RK.sorted_by_ts_sym(avail, sym):
            perms[k] = None
        else:
            perms[k] = np.lexsort((np.arange(avail.size), sym, avail))
            avail = avail[perms[k]]
        sorted_ts.append(avail)
    bounds = np.cumsum([0] + [t.size for t in sorted_ts]).astype(np.int64)
    kind, row, ts = RK.merge_streams(np.concatenate(sorted_ts), bounds)
    return perms, kind, row, ts


class ReplayFeed:
    """Historical events for ``symbols`` merged in availability order (see module doc).

    Build it with ``ReplayFeed.from_lake(lake, symbols, start, end)`` or, for arrays
    already in memory, ``ReplayFeed(symbols, trades=..., quotes=..., book=..., bars=...,
    bar_end=...)``; every array uses ``sym`` = index into ``symbols``.
    """

    def __init__(self, symbols: Sequence[str], *, trades: np.ndarray | None = None,
                 quotes: np.ndarray | None = None, book: np.ndarray | None = None,
                 bars: np.ndarray | None = None, bar_end: np.ndarray | None = None,
                 batch_size: int = 65_536):
        """``bar_end``: availability time (ns UTC) of each bar; default ts + 1 minute."""
        self.symbols = list(symbols)
        if batch_size < 1:
            raise ReplayError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = int(batch_size)
        given = {"trades": trades, "quotes": quotes, "book": book, "bars": bars}
        arrays = {}
        for name, arr in given.items():
            dt_ = _DTYPES[name]
            if arr is None:
                arr = np.zeros(0, dt_)
            if not isinstance(arr, np.ndarray) or arr.dtype != dt_:
                raise ReplayError(f"replay: '{name}' must be a {dt_} array")
            if arr.size and (arr["sym"].min() < 0 or arr["sym"].max() >= len(self.symbols)):
                raise ReplayError(f"replay: '{name}' has sym outside 0..{len(self.symbols) - 1}")
            arrays[name] = arr
        if bar_end is None:
            bar_end = arrays["bars"]["ts"] + NS_MIN
        bar_end = np.asarray(bar_end, np.int64)
        if bar_end.shape != arrays["bars"].shape:
            raise ReplayError("replay: bar_end must have one entry per bar")
        per_kind = {
            EventKind.BAR: (arrays["bars"], bar_end),
            EventKind.BOOK: (arrays["book"], arrays["book"]["ts"]),
            EventKind.QUOTE: (arrays["quotes"], arrays["quotes"]["ts"]),
            EventKind.TRADE: (arrays["trades"], arrays["trades"]["ts"]),
        }
        perms, kind, row, ts = _merge(per_kind)
        parts = {name: per_kind[k][0] if perms[k] is None else per_kind[k][0][perms[k]]
                 for k, name in _KIND_FIELD.items()}
        self._all = EventBatch(kind, row, ts, **parts)

    @classmethod
    def from_lake(cls, lake, symbols: Sequence[str], start=None, end=None, *,
                  datasets: Sequence[str] = ("trades", "quotes", "book_events", "bars_1m"),
                  batch_size: int = 65_536) -> ReplayFeed:
        """Read ``datasets`` (any of trades, quotes, book_events, bars_1s/1m/1d) for
        ``symbols`` over [start, end] (``framework.data.Lake`` bounds: dates inclusive, or
        ns/datetime instants start-inclusive end-exclusive) from a ``Lake``. The lake keeps
        no first/last trade time for bars: ``first_ts`` and ``last_ts`` of replayed bars are 0."""
        import polars as pl

        from framework.data.schemas import BAR_DATASETS, TIMEFRAME_NS

        syms = [s.upper() for s in symbols]
        if len(set(syms)) != len(syms):
            raise ReplayError(f"replay: duplicate symbols in {list(symbols)}")
        known = {"trades", "quotes", "book_events", *BAR_DATASETS.values()}
        bad = [d for d in datasets if d not in known]
        if bad:
            raise ReplayError(f"replay: unknown dataset(s) {bad}; expected some of "
                              f"{sorted(known)}")
        bar_sets = [d for d in datasets if d in BAR_DATASETS.values()]
        if len(bar_sets) > 1:
            raise ReplayError(f"replay: pick one bar dataset of {sorted(BAR_DATASETS.values())}")

        def frame(ds: str) -> pl.DataFrame:
            df = lake.read(ds, syms, start, end)
            return df.with_columns(pl.col("symbol").replace_strict(
                syms, list(range(len(syms))), return_dtype=pl.Int32).alias("sym"))

        kw = {}
        if "trades" in datasets:
            kw["trades"] = records(frame("trades"), TRADE_DTYPE)
        if "quotes" in datasets:
            kw["quotes"] = records(frame("quotes"), QUOTE_DTYPE)
        if "book_events" in datasets:
            kw["book"] = records(frame("book_events"), BOOK_EVENT_DTYPE)
        if bar_sets:
            df = frame(bar_sets[0])
            if bar_sets[0] == "bars_1d":
                df = df.with_columns(_session_close_expr().alias("_end"))
            else:
                tf = next(k for k, v in BAR_DATASETS.items() if v == bar_sets[0])
                df = df.with_columns((pl.col("ts") + TIMEFRAME_NS[tf]).alias("_end"))
            kw["bars"] = records(df, BAR_DTYPE)
            kw["bar_end"] = df["_end"].to_numpy()
        return cls(syms, batch_size=batch_size, **kw)

    def __len__(self) -> int:
        return len(self._all)

    def events(self) -> EventBatch:
        """The whole merged stream as one batch (what the backtest driver consumes)."""
        return self._all

    def _cuts(self) -> np.ndarray:
        """Batch boundaries: at most ``batch_size`` events and never inside a run of equal
        times (a run longer than ``batch_size`` becomes one larger batch)."""
        ts = self._all.ts
        n = ts.shape[0]
        cuts = [0]
        while cuts[-1] < n:
            lo = cuts[-1]
            hi = min(lo + self.batch_size, n)
            if hi < n and ts[hi] == ts[hi - 1]:
                back = int(np.searchsorted(ts, ts[hi], "left"))
                hi = back if back > lo else int(np.searchsorted(ts, ts[hi], "right"))
            cuts.append(hi)
        return np.asarray(cuts, np.int64)

    async def stream(self, speed: float | None = None, *,
                     clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], object] = asyncio.sleep
                     ) -> AsyncIterator[EventBatch]:
        """Yield the stream in batches. ``speed=None``: as fast as the consumer takes them
        (yielding to the event loop between batches); ``speed=k``: event time advances k
        times as fast as wall time from the first event (k=1 real time), and a batch is
        released only when its last event is due (batches cut at due times)."""
        if speed is not None and not speed > 0:
            raise ReplayError(f"replay speed must be > 0 (x real time), got {speed}")
        ev = self._all
        n = len(ev)
        if n == 0:
            return
        if speed is None:
            cuts = self._cuts()
            for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
                yield ev.slice(int(lo), int(hi))
                await sleep(0)
            return
        t0_ev = int(ev.ts[0])
        t0_wall = clock()
        lo = 0
        while lo < n:
            due_ev = t0_ev + int((clock() - t0_wall) * speed * 1e9)
            hi = int(np.searchsorted(ev.ts, due_ev, "right"))
            hi = min(hi, lo + self.batch_size)
            if hi <= lo:
                wait = (int(ev.ts[lo]) - t0_ev) / (speed * 1e9) - (clock() - t0_wall)
                await sleep(max(wait, 0.0))
                continue
            yield ev.slice(lo, hi)
            lo = hi
            await sleep(0)

    def __aiter__(self) -> AsyncIterator[EventBatch]:
        return self.stream()


def _session_close_expr():
    """Polars expression: XNYS close (ns UTC) of the session each daily bar's ts is in."""
    import polars as pl

    from framework.data.calendar import session_date_expr, sessions

    def close_of(dates: pl.Series) -> pl.Series:
        if dates.len() == 0:
            return pl.Series([], dtype=pl.Int64)
        ds, _, closes = sessions(dates.min(), dates.max())
        table = dict(zip(ds, closes.tolist(), strict=True))
        return pl.Series([table.get(d, 0) for d in dates.to_list()], dtype=pl.Int64)

    return session_date_expr().map_batches(close_of, return_dtype=pl.Int64)


__all__ = ["EventBatch", "EventKind", "MarketFeed", "ReplayError", "ReplayFeed"]


def records(frame, dtype: np.dtype) -> np.ndarray:
    """A Polars frame as a structured array of ``dtype`` (fields the frame lacks are 0)."""
    arr = np.zeros(frame.height, dtype)
    for f in dtype.names:
        if f in frame.columns:
            arr[f] = frame[f].to_numpy()
    return arr

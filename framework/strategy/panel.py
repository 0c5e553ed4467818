"""``BarPanel``: bars of many symbols aligned on one time axis, the shape both engines read.

Rows are bar start times (ns UTC) in ascending order, columns are symbols; a symbol with
no bar at a row has NaN prices and zero volume there (no forward fill: the engine must
not trade on a bar that did not print). Each row carries its XNYS session's index, open
and close (ns UTC) so day orders expire and risk sessions roll at the right instant:
regular hours, or with ``[data] session = "extended"`` 04:00-20:00 ET. The lake labels a
daily bar at its session's open (the ingest rule), so both drivers read it as it is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import polars as pl

from framework.data import Lake
from framework.data.calendar import session_bounds_of
from framework.data.schemas import TIMEFRAME_NS
from framework.marketdata.book.sampler import BookLevels
from framework.types.errors import FwError
from framework.types.nytime import iso_ny

FIELDS = ("open", "high", "low", "close", "volume", "vwap")


class PanelError(FwError):
    """The lake has no (or misaligned) bars for the requested universe and range."""


@dataclass(frozen=True)
class BarPanel:
    """Aligned bars of a universe: ``T`` bar times (rows) by ``S`` symbols (columns).

    - ``symbols``: the ``S`` symbols, in column order.
    - ``timeframe``: the bar size, ``"1s"``, ``"1m"`` or ``"1d"``.
    - ``bar_ns``: the bar length in ns; a bar's decision is taken at its close,
      ``ts + bar_ns`` capped at the session close (``decision_ts``).
    - ``ts``: ``[T]`` int64 bar start, ns UTC.
    - ``open``, ``high``, ``low``, ``close``, ``vwap``: ``[T, S]`` float64 prices, USD
      (NaN where a symbol has no bar).
    - ``volume``: ``[T, S]`` float64 shares.
    - ``session``: ``[T]`` int64 session id (the session's open, ns UTC).
    - ``session_open``, ``session_close``: ``[T]`` int64 the bar's session open and close,
      ns UTC.
    - ``book``: the top levels of each symbol's L3 book at each decision time
      (``[T, S, N]``) when the strategy asks for them (``[data] book_levels``), else None.
    - ``decision``: ``[T]`` int64 decision times (ns UTC) when the caller keeps them
      already (the live driver), else None (``decision_ts`` derives them).
    """

    symbols: tuple[str, ...]
    timeframe: str
    bar_ns: int
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    vwap: np.ndarray
    session: np.ndarray
    session_open: np.ndarray
    session_close: np.ndarray
    book: BookLevels | None = None
    decision: np.ndarray | None = None

    @property
    def n_bars(self) -> int:
        """Number of rows (time stamps)."""
        return int(self.ts.shape[0])

    def head(self, n: int) -> BarPanel:
        """The first ``n`` rows: what a live session had seen after bar ``n - 1`` closed."""
        return self.rows(0, n)

    def rows(self, start: int, stop: int) -> BarPanel:
        """Rows ``start .. stop-1`` (views): what a session whose history began at bar
        ``start`` had seen after bar ``stop - 1`` closed."""
        return replace(self, **{f: getattr(self, f)[start:stop] for f in
                                (*FIELDS, "ts", "session", "session_open", "session_close")},
                       book=None if self.book is None else self.book.rows(start, stop),
                       decision=None if self.decision is None else self.decision[start:stop])

    def decision_ts(self) -> np.ndarray:
        """When each bar's decision is taken: its close, ``ts + bar_ns`` (ns UTC), capped at
        the session close (a daily bar's decision is at the close of its session).
        Computed once per panel (a run asks for it several times); do not write to it."""
        return self._decision_ts

    @cached_property
    def _decision_ts(self) -> np.ndarray:
        if self.decision is not None:
            return self.decision
        return np.minimum(self.ts + self.bar_ns, self.session_close)


def session_bounds(ts: np.ndarray, session: str = "regular") -> tuple[np.ndarray, np.ndarray]:
    """XNYS session open and close (ns UTC) of each bar start in ``ts`` (ns UTC): regular
    hours, or ``session="extended"`` (04:00-20:00 ET).

    Raises ``PanelError`` for a bar outside every such session, naming it in New York time.
    """
    inside, opens, closes = session_bounds_of(ts, session)
    if not np.all(inside):
        first = int(ts[~inside][0])
        in_ext = session_bounds_of(ts[~inside][:1], "extended")[0][0]
        hint = ("the lake holds pre/post-market bars: set [data] session = \"extended\", or "
                "re-ingest with `--session regular`" if session == "regular" and in_ext else
                "the lake keeps bars inside 04:00-20:00 ET and labels a daily bar at its "
                "session's open: re-ingest the data")
        raise PanelError(f"bar at {iso_ny(first)} is outside every XNYS {session} session "
                         f"({int((~inside).sum())} such bar(s)): {hint}")
    return opens, closes


def panel_from_frame(frame: pl.DataFrame, symbols: list[str], timeframe: str,
                     session: str = "regular") -> BarPanel:
    """Pivot a long bars frame (symbol, ts, open, high, low, close, volume, vwap) to a panel
    of ``session`` hours ("regular" or "extended")."""
    if timeframe not in TIMEFRAME_NS:
        raise PanelError(f"timeframe '{timeframe}': expected one of {sorted(TIMEFRAME_NS)}")
    missing = sorted(set(symbols) - set(frame["symbol"].unique().to_list()))
    if missing:
        raise PanelError(f"no {timeframe} bars in the lake for {', '.join(missing)} "
                         "(run `fw data ingest` first)")
    if timeframe == "1d" and session != "regular":
        raise PanelError("timeframe '1d' is one bar per regular session: [data] session "
                         f"'{session}' applies to intraday bars")
    ts = np.unique(frame["ts"].to_numpy())
    T, S = ts.shape[0], len(symbols)
    arrays = {f: np.full((T, S), np.nan) for f in FIELDS}
    arrays["volume"][:] = 0.0
    for j, sym in enumerate(symbols):
        sub = frame.filter(pl.col("symbol") == sym)
        rows = np.searchsorted(ts, sub["ts"].to_numpy())
        for f in FIELDS:
            col = sub[f].to_numpy().astype(np.float64) if f in sub.columns else sub["close"].to_numpy()
            arrays[f][rows, j] = col
    arrays["vwap"] = np.where(np.isnan(arrays["vwap"]), arrays["close"], arrays["vwap"])
    opens, closes = session_bounds(ts, session)
    return BarPanel(tuple(symbols), timeframe, TIMEFRAME_NS[timeframe], ts,
                    *(np.ascontiguousarray(arrays[f]) for f in FIELDS),
                    opens, opens, closes)


def load_panel(lake: Lake, symbols: list[str], start: dt.date | None, end: dt.date | None,
               timeframe: str, session: str = "regular") -> BarPanel:
    """Bars of ``symbols`` in [start, end] (session dates, inclusive) from the lake, for
    ``session`` hours ("regular" or "extended")."""
    frame = lake.bars(symbols, start, end, timeframe=timeframe)
    if frame.height == 0:
        raise PanelError(f"no {timeframe} bars in lake {lake.root} for {', '.join(symbols)} "
                         f"between {start} and {end} (run `fw data ingest` first)")
    return panel_from_frame(frame, symbols, timeframe, session)

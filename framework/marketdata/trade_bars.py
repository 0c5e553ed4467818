"""Bars from the lake's trades (``fw data bars``): one symbol's prints, their venues and
sale conditions -> ``bars_1s`` / ``bars_1m`` / ``bars_1d`` rows of the lake schema.

The rule is ``framework.marketdata.bars`` with sale conditions read
(``framework.marketdata.sale_conditions``); this module only reads the trades, parses
their condition codes, finds the listing market (the venue of the auctions) and writes
the result back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from framework.data import Lake
from framework.data.schemas import TIMEFRAME_NS, DataError
from framework.data.sources.synthetic import bars_frame, trades_array
from framework.marketdata.bars import BarSpec, SessionTable, build_bars
from framework.marketdata.sale_conditions import Prints, listing_exchange, parse_conditions
from framework.types import BAR_DTYPE


@dataclass(frozen=True)
class TradeBars:
    """What ``bars_from_trades`` built: the bars frame, the trade counts of the build
    (``BarBuild.counts``) and the listing market it used (None: no auctions found)."""

    frame: pl.DataFrame
    counts: dict[str, int]
    listing: str | None


def bars_from_trades(trades: pl.DataFrame, timeframe: str = "1m", *,
                     session: str = "regular", rules: str | None = "sip",
                     listing: str | None = None,
                     auction_window_ns: int = 300_000_000_000,
                     origin: str = "trades") -> TradeBars:
    """Time bars of one symbol's lake ``trades`` frame (ts, price, size, exchange,
    conditions). ``timeframe``: "1s", "1m" or "1d" (one bar per regular session, labelled
    at its open). ``session``: "regular" or "extended" (04:00-20:00 ET). ``rules``: the
    sale-condition rule set ("sip", "lean"), None to count every print. ``listing``: the
    listing market's exchange code (default: inferred from the auction prints)."""
    if timeframe not in TIMEFRAME_NS:
        raise DataError(f"timeframe '{timeframe}': expected one of {sorted(TIMEFRAME_NS)}")
    if timeframe == "1d" and session != "regular":
        raise DataError("timeframe '1d': a daily bar is one regular session "
                        f"(session '{session}' not allowed)")
    if trades.height == 0:
        return TradeBars(bars_frame(np.zeros(0, BAR_DTYPE)), {}, listing)
    frame = trades.sort("ts", maintain_order=True)
    arr = trades_array(frame)
    spec = BarSpec.time(TIMEFRAME_NS[timeframe])
    prints = None
    if rules is not None:
        spec = spec.with_conditions(rules, auction_window_ns)
        flags = parse_conditions(frame["conditions"], origin)
        exch = frame["exchange"].fill_null("").to_numpy()
        size = frame["size"].to_numpy()
        listing = listing or listing_exchange(exch, flags, size)
        prints = Prints(flags, exch == listing if listing else np.zeros(arr.size, bool))
    ts = arr["ts"]
    sessions = SessionTable.covering(int(ts.min()), int(ts.max()), session)
    build = build_bars(arr, spec, sessions=sessions, prints=prints)
    return TradeBars(bars_frame(build.bars), build.counts, listing)


def write_trade_bars(lake: Lake, symbol: str, timeframe: str = "1m", *,
                     start: dt.date | None = None, end: dt.date | None = None,
                     session: str = "regular", rules: str | None = "sip",
                     listing: str | None = None,
                     auction_window_ns: int = 300_000_000_000) -> TradeBars:
    """Build ``bars_<timeframe>`` of ``symbol`` from its lake trades in [start, end]
    (session dates, inclusive) and write them (source ``trades``); returns what was built.
    """
    trades = lake.trades(symbol, start, end)
    if trades.height == 0:
        raise DataError(f"{symbol}: no trades in lake {lake.root} between {start} and {end} "
                        "(ingest trades first: fw data ingest --source lean|alpaca ...)")
    out = bars_from_trades(trades.drop("symbol"), timeframe, session=session, rules=rules,
                           listing=listing, auction_window_ns=auction_window_ns,
                           origin=f"{lake.root} trades {symbol}")
    lake.write(f"bars_{timeframe}", symbol, out.frame, "trades",
               origin=f"trades:{symbol}:{rules or 'all'}:{session}")
    return out

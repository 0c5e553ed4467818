"""Synthetic L3 order flow and what book sources imply: a clean, deterministic stream
(no unknown or duplicate ids, never crossed, every order gone at the end of its day),
trades equal to its executions, and bars from them equal to the bar kernels' output."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from framework.data import Lake
from framework.data.calendar import sessions
from framework.data.schemas import DataError
from framework.data.settings import SyntheticBookConfig
from framework.data.sources.synthetic_book import generate_book
from framework.marketdata.bars import time_bars
from framework.marketdata.book.book import OrderBooks
from framework.marketdata.book.prints import book_bars, book_prints, write_book_data
from framework.marketdata.replay import records
from framework.types import BOOK_EVENT_DTYPE, TRADE_DTYPE, BookEvent

CFG = SyntheticBookConfig(symbols=["SPY", "QQQ"], start=dt.date(2024, 4, 1),
                          end=dt.date(2024, 4, 2), minutes=15)


def _events(frames: dict[str, pl.DataFrame]) -> np.ndarray:
    parts = [records(f.with_columns(sym=pl.lit(i, pl.Int32)), BOOK_EVENT_DTYPE)
             for i, f in enumerate(frames.values())]
    ev = np.concatenate(parts)
    return ev[np.argsort(ev["ts"], kind="stable")]


def test_flow_is_deterministic_and_clean() -> None:
    frames = {s: generate_book(CFG, s) for s in CFG.symbols}
    assert generate_book(CFG, "SPY").equals(frames["SPY"])
    assert not generate_book(CFG.model_copy(update={"seed": 8}), "SPY").equals(frames["SPY"])
    adds = pl.concat(frames.values()).filter(pl.col("kind") == BookEvent.ADD)["order_id"]
    assert adds.n_unique() == adds.len(), "order ids must be unique across symbols and days"
    kinds = set(pl.concat(frames.values())["kind"].unique().to_list())
    assert kinds == {BookEvent.ADD, BookEvent.CANCEL, BookEvent.DELETE, BookEvent.EXEC_VISIBLE}
    books = OrderBooks(2)
    top = books.apply(_events(frames), top_n=1)
    c = books.counters
    assert (c["unknown_id"], c["duplicate_id"], c["overfill"], c["off_grid"]) == (0, 0, 0, 0)
    assert c["crossed"] == 0 and c["locked"] == 0
    assert c["resting_orders"] == 0, "the end-of-day purge leaves no order behind"
    spread = top.ask_px[:, 0] - top.bid_px[:, 0]
    assert np.nanmedian(spread) < 0.03 and np.nanmin(spread) > 0


def test_events_stay_inside_their_sessions() -> None:
    f = generate_book(CFG, "QQQ")
    _, opens, _ = sessions(CFG.start, CFG.end)
    day = np.searchsorted(opens, f["ts"].to_numpy(), side="right") - 1
    assert np.all(day >= 0)
    assert np.all(f["ts"].to_numpy() - opens[day] < CFG.minutes * 60_000_000_000)
    assert set(day.tolist()) == {0, 1}


def test_prints_and_bars_of_a_book_source(tmp_path) -> None:
    ev = generate_book(CFG, "SPY")
    trades = book_prints(ev)
    ex = ev.filter(pl.col("kind") == BookEvent.EXEC_VISIBLE)
    assert trades["ts"].equals(ex["ts"]) and trades["size"].equals(ex["size"])
    assert trades["price"].equals(ex["price"])
    bars = book_bars(ev, trades)
    arr = np.zeros(trades.height, TRADE_DTYPE)
    for f in ("ts", "price", "size"):
        arr[f] = trades[f].to_numpy()
    minute = time_bars(arr, 60_000_000_000)
    assert bars["bars_1m"]["close"].to_list() == minute["close"].tolist()
    assert bars["bars_1m"]["volume"].sum() == trades["size"].sum()
    sec = bars["bars_1s"]
    # every second from the first trade to the end of each day's book data, filled
    _, opens, _ = sessions(CFG.start, CFG.end)
    per_day = sec.with_columns(d=pl.col("ts") >= opens[1]).group_by("d").len().sort("d")
    assert per_day["len"].max() <= CFG.minutes * 60
    assert np.all(np.diff(sec["ts"].to_numpy()) > 0)
    assert sec["volume"].sum() == trades["size"].sum()
    assert (sec["volume"] == 0).sum() > 0  # seconds without a print are forward-filled
    rows = write_book_data(Lake(tmp_path), "SPY", ev, "synthetic-book")
    assert rows == {"book_events": ev.height, "trades": trades.height,
                    "bars_1s": sec.height, "bars_1m": bars["bars_1m"].height}
    assert Lake(tmp_path).bars("SPY", timeframe="1s").height == sec.height


def test_bad_requests_name_what_is_wrong() -> None:
    weekend = CFG.model_copy(update={"start": dt.date(2024, 4, 6), "end": dt.date(2024, 4, 7)})
    with pytest.raises(DataError, match="no XNYS session"):
        generate_book(weekend, "SPY")
    with pytest.raises(DataError, match="AAPL is not in the configured symbols"):
        generate_book(CFG, "AAPL")

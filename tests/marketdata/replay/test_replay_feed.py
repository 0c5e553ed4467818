"""The replay feed: deterministic merge order, sync and async forms identical, pacing."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import numpy as np
import polars as pl
import pytest

from framework.data import Lake
from framework.data.settings import SyntheticConfig
from framework.data.sources.synthetic import ingest_synthetic
from framework.marketdata.bars import time_bars
from framework.marketdata.replay import (
    EventBatch,
    EventKind,
    MarketFeed,
    ReplayError,
    ReplayFeed,
)
from framework.types import BAR_DTYPE, BOOK_EVENT_DTYPE, QUOTE_DTYPE, TRADE_DTYPE

NS_MIN = 60_000_000_000


def _collect(feed: ReplayFeed, speed=None) -> list[EventBatch]:
    async def run():
        return [b async for b in feed.stream(speed)]

    return asyncio.run(run())


def _same(a: EventBatch, b: EventBatch) -> bool:
    return all(getattr(a, f).tobytes() == getattr(b, f).tobytes()
               for f in ("kind", "row", "ts", "trades", "quotes", "book", "bars"))


def _arr(dtype, rows):
    a = np.zeros(len(rows), dtype)
    for i, r in enumerate(rows):
        for k, v in r.items():
            a[i][k] = v
    return a


def test_tie_order_is_ts_kind_symbol_row():
    t = 1_000
    trades = _arr(TRADE_DTYPE, [{"ts": t, "sym": 1, "price": 1.0, "size": 1},
                                {"ts": t, "sym": 0, "price": 2.0, "size": 1},
                                {"ts": t, "sym": 0, "price": 3.0, "size": 1},
                                {"ts": t - 1, "sym": 1, "price": 4.0, "size": 1}])
    quotes = _arr(QUOTE_DTYPE, [{"ts": t, "sym": 1, "bid": 1.0}, {"ts": t, "sym": 0, "bid": 2.0}])
    book = _arr(BOOK_EVENT_DTYPE, [{"ts": t, "sym": 1, "kind": 1, "order_id": 7}])
    bars = _arr(BAR_DTYPE, [{"ts": t - NS_MIN, "sym": 1, "close": 9.0}])  # ends at t
    feed = ReplayFeed(["A", "B"], trades=trades, quotes=quotes, book=book, bars=bars)
    ev = feed.events()
    got = []
    for k, r in zip(ev.kind.tolist(), ev.row.tolist(), strict=True):
        rec = ev.of(EventKind(k))[r]
        got.append((EventKind(k).name, int(rec["sym"])))
    assert got == [("TRADE", 1), ("BAR", 1), ("BOOK", 1), ("QUOTE", 0), ("QUOTE", 1),
                   ("TRADE", 0), ("TRADE", 0), ("TRADE", 1)]
    # original row order kept among equal (ts, kind, sym): price 2 before price 3
    assert ev.trades["price"].tolist() == [4.0, 2.0, 3.0, 1.0]
    assert ev.ts.tolist() == [t - 1] + [t] * 7
    assert isinstance(feed, MarketFeed)


def test_random_arrays_sync_equals_async_and_sorted():
    rng = np.random.default_rng(3)
    n = 5000
    tr = np.zeros(n, TRADE_DTYPE)
    tr["ts"] = rng.integers(0, 50, n)  # many equal timestamps
    tr["sym"] = rng.integers(0, 3, n)
    tr["price"] = np.arange(n)
    q = np.zeros(n, QUOTE_DTYPE)
    q["ts"] = rng.integers(0, 50, n)
    q["sym"] = rng.integers(0, 3, n)
    q["bid"] = np.arange(n)
    feed = ReplayFeed(["A", "B", "C"], trades=tr, quotes=q, batch_size=97)
    ev = feed.events()
    sym = np.where(ev.kind == EventKind.TRADE, ev.trades["sym"][np.minimum(ev.row, n - 1)],
                   ev.quotes["sym"][np.minimum(ev.row, n - 1)])
    orig = np.where(ev.kind == EventKind.TRADE, ev.trades["price"][np.minimum(ev.row, n - 1)],
                    ev.quotes["bid"][np.minimum(ev.row, n - 1)])
    key = list(zip(ev.ts.tolist(), ev.kind.tolist(), sym.tolist(), orig.tolist(), strict=True))
    assert key == sorted(key) and len(set(key)) == 2 * n
    batches = _collect(feed)
    # at most batch_size events, unless one timestamp alone has more (never split)
    assert all(len(b) <= 97 or b.ts[0] == b.ts[-1] for b in batches)
    assert max(len(b) for b in batches) > 97  # ~200 events share each timestamp here
    # batches never split a run of equal timestamps
    for a, b in zip(batches[:-1], batches[1:], strict=True):
        assert a.ts[-1] < b.ts[0]
    assert _same(EventBatch.concat(batches), ev)


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    cfg = SyntheticConfig(symbols=["SPY", "QQQ"], seed=5, start=dt.date(2024, 1, 2),
                          end=dt.date(2024, 1, 3), trades_per_day=3000)
    ingest_synthetic(Lake(root), cfg, time_bars)
    return Lake(root)


def test_from_lake_plays_every_row_with_bars_at_their_end(lake):
    feed = ReplayFeed.from_lake(lake, ["QQQ", "SPY"], "2024-01-02", "2024-01-03")
    ev = feed.events()
    tr = lake.trades(["SPY", "QQQ"])
    assert len(ev.trades) == tr.height
    assert len(ev.quotes) == lake.quotes(["SPY", "QQQ"]).height
    assert len(ev.bars) == 2 * 2 * 390 and len(ev.book) == 0
    assert np.all(np.diff(ev.ts) >= 0)
    bar_ts = ev.ts[ev.kind == EventKind.BAR]
    assert np.array_equal(bar_ts, ev.bars["ts"] + NS_MIN)
    # sym is the index into the feed's list: QQQ=0, SPY=1
    spy = tr.filter(pl.col("symbol") == "SPY").sort("ts", maintain_order=True)
    got = ev.trades[ev.trades["sym"] == 1]
    assert np.array_equal(got["ts"], spy["ts"].to_numpy())
    assert np.array_equal(got["price"], spy["price"].to_numpy())
    assert _same(EventBatch.concat(_collect(feed)), ev)
    daily = ReplayFeed.from_lake(lake, ["SPY"], datasets=["bars_1d"]).events()
    assert len(daily) == 2
    assert np.all(daily.ts - daily.bars["ts"] == 390 * NS_MIN)  # available at the 16:00 close


def test_paced_replay_takes_event_time_over_speed_and_gives_same_stream(lake):
    t0 = int(lake.trades("SPY")["ts"][0])
    span = 10_000_000_000  # ten seconds of market time
    feed = ReplayFeed.from_lake(lake, ["SPY", "QQQ"], t0, t0 + span,
                                datasets=["trades", "quotes"])
    ev = feed.events()
    assert len(ev) > 10
    speed = 40.0
    start = time.monotonic()
    batches = _collect(feed, speed)
    took = time.monotonic() - start
    expect = (int(ev.ts[-1]) - int(ev.ts[0])) / 1e9 / speed
    assert took >= expect * 0.95
    assert len(batches) > 1
    assert _same(EventBatch.concat(batches), ev)


def test_bad_requests_are_named(lake):
    with pytest.raises(ReplayError, match="speed"):
        _collect(ReplayFeed(["A"], trades=np.zeros(1, TRADE_DTYPE)), 0.0)
    with pytest.raises(ReplayError, match="unknown dataset"):
        ReplayFeed.from_lake(lake, ["SPY"], datasets=["ticks"])
    with pytest.raises(ReplayError, match="sym outside"):
        bad = np.zeros(1, TRADE_DTYPE)
        bad["sym"] = 3
        ReplayFeed(["A"], trades=bad)


def test_book_events_from_lake_merge_with_trades(tmp_path):
    lk = Lake(tmp_path / "lake")
    t0 = 1_704_205_800_000_000_000  # 2024-01-02 09:30 ET
    book = pl.DataFrame({"ts": [t0, t0 + 5, t0 + 5], "local_ts": [t0, t0 + 5, t0 + 5],
                         "kind": pl.Series([1, 1, 4], dtype=pl.Int8),
                         "side": pl.Series([1, -1, -1], dtype=pl.Int8),
                         "order_id": [11, 12, 12], "price": [100.0, 100.1, 100.1],
                         "size": [200.0, 100.0, 40.0], "new_order_id": [0, 0, 0]})
    lk.write("book_events", "AMZN", book, "test")
    lk.write("trades", "AMZN", pl.DataFrame({"ts": [t0 + 5], "price": [100.1], "size": [40.0]}),
             "test")
    ev = ReplayFeed.from_lake(lk, ["AMZN"], "2024-01-02", "2024-01-02",
                              datasets=["trades", "book_events"]).events()
    assert [EventKind(k).name for k in ev.kind] == ["BOOK", "BOOK", "BOOK", "TRADE"]
    assert ev.book["order_id"].tolist() == [11, 12, 12]
    assert ev.book["kind"].tolist() == [1, 1, 4] and ev.book["side"].tolist() == [1, -1, -1]
    assert ev.book["size"].tolist() == [200.0, 100.0, 40.0] and np.all(ev.book["sym"] == 0)

"""Time bars against the XNYS calendar and against the synthetic lake's stored bars."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from framework.data import Lake
from framework.data.calendar import sessions
from framework.data.settings import SyntheticConfig
from framework.data.sources.synthetic import ingest_synthetic, trades_array
from framework.marketdata.bars import BarSpec, build_bars, time_bars
from framework.types import TRADE_DTYPE

NS_MIN = 60_000_000_000


def _trades(ts, price=100.0, size=10.0, sym=0) -> np.ndarray:
    arr = np.zeros(len(ts), TRADE_DTYPE)
    arr["ts"], arr["price"], arr["size"], arr["sym"] = ts, price, size, sym
    return arr


def test_bars_aligned_to_session_open_not_epoch_and_cut_at_half_day_close():
    # 2024-07-03 is an XNYS half day (close 13:00 ET = 17:00 UTC)
    _, opens, closes = sessions(dt.date(2024, 7, 3), dt.date(2024, 7, 3))
    o, c = int(opens[0]), int(closes[0])
    assert (c - o) == 210 * NS_MIN
    ts = np.array([o - 1, o, o + 13 * NS_MIN - 1, o + 13 * NS_MIN, c - 1, c, c + NS_MIN], np.int64)
    b = build_bars(_trades(ts), BarSpec.time(13 * NS_MIN))
    assert b.counts["out_of_session"] == 3 and b.counts["accepted"] == 4
    assert b.bars["ts"].tolist() == [o, o + 13 * NS_MIN, o + 208 * NS_MIN]
    assert b.bars["n"].tolist() == [2, 1, 1]
    # 13-minute buckets from the epoch would not start at the 09:30 open
    assert o % (13 * NS_MIN) != 0


def test_ffill_and_rejections():
    _, opens, _ = sessions(dt.date(2024, 1, 2), dt.date(2024, 1, 2))
    o = int(opens[0])
    tr = _trades([o + 5, o + 10, o + 3 * NS_MIN, o + 3 * NS_MIN + 1],
                 price=np.array([10.0, 11.0, 12.0, -1.0]), size=np.array([1.0, 3.0, 0.0, 1.0]))
    b = build_bars(tr, BarSpec.time(NS_MIN))
    assert b.counts == {"accepted": 2, "bad": 2, "out_of_order": 0, "out_of_session": 0,
                        "bars": 1, "filled_bars": 0, "excluded": 0}
    assert b.bars[0]["vwap"] == pytest.approx((10 + 33) / 4)
    f = time_bars(tr, NS_MIN, ffill=True)
    assert len(f) == 390 and np.all(np.diff(f["ts"]) == NS_MIN)
    assert np.all(f["close"][1:] == 11.0) and np.all(f["volume"][1:] == 0) and f["n"][1:].sum() == 0


@pytest.fixture(scope="module")
def lake2(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    cfg = SyntheticConfig(symbols=["SPY", "NVDA"], seed=11, start=dt.date(2024, 1, 2),
                          end=dt.date(2024, 1, 3), trades_per_day=8000)
    ingest_synthetic(Lake(root), cfg, time_bars)
    return Lake(root)


def test_bars_from_lake_trades_equal_stored_bars_1m(lake2):
    for i, sym in enumerate(["SPY", "NVDA"]):
        tr = lake2.trades(sym)
        stored = lake2.bars(sym, timeframe="1m")
        bars = time_bars(trades_array(tr.drop("symbol"), i), NS_MIN)
        assert len(bars) == stored.height == 2 * 390
        for col in ("ts", "n"):
            assert np.array_equal(bars[col], stored[col].to_numpy())
        for col in ("open", "high", "low", "close", "volume", "vwap"):
            np.testing.assert_array_equal(bars[col], stored[col].to_numpy())
        # and both equal an independent Polars aggregation (1-minute buckets; the XNYS open
        # 14:30 UTC is on a whole minute, so here session and epoch alignment coincide)
        ref = (tr.group_by((pl.col("ts") // NS_MIN * NS_MIN).alias("ts"), maintain_order=True)
               .agg(pl.col("price").first().alias("open"), pl.col("price").max().alias("high"),
                    pl.col("price").min().alias("low"), pl.col("price").last().alias("close"),
                    pl.col("size").sum().alias("volume"),
                    ((pl.col("price") * pl.col("size")).sum() / pl.col("size").sum())
                    .alias("vwap"), pl.len().alias("n")).sort("ts"))
        assert np.array_equal(bars["ts"], ref["ts"].to_numpy())
        np.testing.assert_allclose(bars["vwap"], ref["vwap"].to_numpy(), rtol=1e-12)
        for col in ("open", "high", "low", "close", "volume"):
            np.testing.assert_array_equal(bars[col], ref[col].to_numpy())


def test_multi_symbol_bars_sorted_by_time_then_symbol(lake2):
    tr = lake2.trades(["SPY", "NVDA"])
    arr = np.zeros(tr.height, TRADE_DTYPE)
    arr["ts"] = tr["ts"].to_numpy()
    arr["sym"] = (tr["symbol"] == "SPY").cast(pl.Int32).to_numpy()
    arr["price"], arr["size"] = tr["price"].to_numpy(), tr["size"].to_numpy()
    bars = time_bars(arr, NS_MIN)
    assert len(bars) == 4 * 390
    key = bars["ts"] * 2 + bars["sym"]
    assert np.all(np.diff(key) > 0)

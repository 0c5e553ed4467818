"""The synthetic source: deterministic bytes and the stylized facts it promises."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from framework.data import Lake
from framework.data.settings import SyntheticConfig
from framework.data.sources.synthetic import generate_symbol, ingest_synthetic, market, to_frames
from tests.data.lake_testkit import numpy_time_bars

CFG = SyntheticConfig(symbols=["SPY", "QQQ", "NVDA"], seed=7, start=dt.date(2024, 3, 1),
                      end=dt.date(2024, 3, 28), trades_per_day=6000)


@pytest.fixture(scope="module")
def gen():
    mkt = market(CFG)
    return {s: to_frames(generate_symbol(mkt, s)) for s in CFG.symbols}


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    cfg = CFG.model_copy(update={"end": dt.date(2024, 3, 5), "symbols": ["SPY", "AAPL"]})
    fps = []
    for name, c in (("a", cfg), ("b", cfg), ("c", cfg.model_copy(update={"seed": 8}))):
        lake = Lake(tmp_path / name)
        rows = ingest_synthetic(lake, c, numpy_time_bars)
        assert rows["bars_1d"] == 2 * 3 and rows["bars_1m"] == 2 * 3 * 390
        fps.append([lake.fingerprint(ds, c.symbols) for ds in
                    ("trades", "quotes", "bars_1m", "bars_1d")])
    assert fps[0] == fps[1]
    assert all(x != y for x, y in zip(fps[0], fps[2], strict=True))
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.parquet"))
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_regular_session_sorted_and_quotes_positive(gen):
    trades, quotes = gen["SPY"]
    assert trades["ts"].is_sorted() and quotes["ts"].is_sorted()
    et = trades.select(pl.col("ts").cast(pl.Datetime("ns", "UTC"))
                       .dt.convert_time_zone("America/New_York").alias("t"))["t"]
    mins = et.dt.hour().cast(pl.Int32) * 60 + et.dt.minute().cast(pl.Int32)
    assert mins.min() >= 9 * 60 + 30 and mins.max() < 16 * 60
    spread = quotes["ask"] - quotes["bid"]
    assert (spread > 0).all() and (quotes["bid"] > 0).all()
    # every trade prints at the NBBO quoted just before it
    last_q = quotes.join(trades.select(pl.col("ts") - 1, "price"), on="ts")
    assert ((last_q["price"] == last_q["bid"]) | (last_q["price"] == last_q["ask"])).all()
    assert last_q.height == trades.height


def test_u_shaped_intraday_volume(gen):
    trades, _ = gen["QQQ"]
    et = trades.select(pl.col("ts").cast(pl.Datetime("ns", "UTC"))
                       .dt.convert_time_zone("America/New_York").alias("t"))["t"]
    m = (et.dt.hour().cast(pl.Int32) * 60 + et.dt.minute().cast(pl.Int32) - 570).to_numpy()
    counts = np.bincount(m, minlength=390)
    open_, mid, close = counts[:30].mean(), counts[165:225].mean(), counts[-30:].mean()
    assert open_ > 2 * mid and close > 2 * mid


def _minute_returns(trades: pl.DataFrame) -> np.ndarray:
    b = numpy_time_bars(np.rec.fromarrays([trades["ts"].to_numpy(), trades["price"].to_numpy(),
                                           trades["size"].to_numpy()],
                                          names="ts,price,size"), 60_000_000_000)
    return b["ts"], np.diff(np.log(b["close"]))


def test_correlation_vol_clustering_spread_widening_and_gaps(gen):
    t1, r1 = _minute_returns(gen["SPY"][0])
    t2, r2 = _minute_returns(gen["QQQ"][0])
    assert np.array_equal(t1, t2)
    intraday = np.diff(t1) == 60_000_000_000
    c = np.corrcoef(r1[intraday], r2[intraday])[0, 1]
    assert c > 0.5
    a = np.abs(r1[intraday])
    acf = np.corrcoef(a[:-30], a[30:])[0, 1]  # |r| stays autocorrelated half an hour later
    assert acf > 0.05
    gaps = r1[~intraday]
    assert gaps.size == 19 and np.std(gaps) > 3 * np.std(r1[intraday])
    # spread widens with volatility: minutes with large |r| have wider average spreads
    q = gen["NVDA"][1]
    qm = q.group_by((pl.col("ts") // 60_000_000_000).alias("m")).agg(
        ((pl.col("ask") - pl.col("bid")) / pl.col("bid")).mean().alias("s")).sort("m")
    t3, r3 = _minute_returns(gen["NVDA"][0])
    s = qm["s"].to_numpy()[1:]
    hi = np.abs(r3) > np.quantile(np.abs(r3), 0.9)
    lo = np.abs(r3) < np.quantile(np.abs(r3), 0.5)
    assert s[hi].mean() > s[lo].mean()


def test_bars_from_trades_contract_is_checked(tmp_path):
    cfg = CFG.model_copy(update={"end": dt.date(2024, 3, 1), "symbols": ["SPY"]})
    with pytest.raises(Exception, match="BAR_DTYPE"):
        ingest_synthetic(Lake(tmp_path), cfg, lambda tr, ns: np.zeros(3))


def test_overnight_gap_is_before_the_open_and_verify_sees_no_outlier(gen):
    """The gap happens overnight: a session's first trades print at the gapped level, not
    at the previous close and then drift there inside the first minute (which `fw data
    verify` used to flag as outliers, one per gap)."""
    from framework.data.quality import check_frame

    for sym in CFG.symbols:
        trades = gen[sym][0]
        b = numpy_time_bars(np.rec.fromarrays([trades["ts"].to_numpy(), trades["price"].to_numpy(),
                                               trades["size"].to_numpy()],
                                              names="ts,price,size"), 60_000_000_000)
        first = np.flatnonzero(np.diff(b["ts"]) > 60_000_000_000) + 1  # each session's 09:30
        prev_close, bar = b["close"][first - 1], b[first]
        gap = np.abs(np.log(bar["close"] / prev_close))
        inside = np.abs(np.log(bar["high"] / bar["low"]))
        big = gap > 0.005
        assert big.sum() >= 3 and (inside[big] < 0.5 * gap[big]).all()
        frame = pl.DataFrame({c: b[c] for c in ("ts", "open", "high", "low", "close", "volume",
                                                 "vwap", "n")})
        assert [f for f in check_frame("bars_1m", frame, sym).findings
                if f.check == "outlier"] == []

"""Helpers shared by the data-lake tests (a test-side bars kernel, clean minute bars)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from framework.data.calendar import sessions
from framework.types import BAR_DTYPE


def numpy_time_bars(trades: np.ndarray, interval_ns: int) -> np.ndarray:
    """Test-side tick-to-bar aggregation (epoch-aligned buckets) honouring the
    ``bars_from_trades`` contract: TRADE_DTYPE in, BAR_DTYPE out."""
    ts, px, sz = trades["ts"], trades["price"], trades["size"]
    bucket = ts // interval_ns
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(ts)]
    out = np.zeros(len(starts), BAR_DTYPE)
    out["ts"] = bucket[starts] * interval_ns
    out["open"] = px[starts]
    out["close"] = px[ends - 1]
    out["high"] = np.maximum.reduceat(px, starts)
    out["low"] = np.minimum.reduceat(px, starts)
    out["volume"] = np.add.reduceat(sz, starts)
    out["vwap"] = np.add.reduceat(px * sz, starts) / out["volume"]
    out["n"] = ends - starts
    out["first_ts"] = ts[starts]
    out["last_ts"] = ts[ends - 1]
    return out


def minute_bars(start: dt.date, end: dt.date, p0: float = 100.0, seed: int = 0) -> pl.DataFrame:
    """Clean regular-session 1-minute bars for every XNYS session in [start, end]."""
    _, opens, closes = sessions(start, end)
    ts = np.concatenate([np.arange(o, c, 60_000_000_000, dtype=np.int64)
                         for o, c in zip(opens, closes, strict=True)])
    rng = np.random.default_rng(seed)
    c = p0 * np.exp(np.cumsum(rng.normal(0, 5e-4, ts.size)))
    o = np.r_[p0, c[:-1]]
    return pl.DataFrame({"ts": ts, "open": o, "high": np.maximum(o, c) * 1.0002,
                         "low": np.minimum(o, c) * 0.9998, "close": c,
                         "volume": rng.integers(100, 10_000, ts.size).astype(float),
                         "vwap": (o + c) / 2, "n": rng.integers(1, 50, ts.size)})


def write_ticks(lake, symbol: str, exchange: str, conditions: str, lots: tuple[float, float]
                ) -> None:
    """300 trades and quotes 7.000123 ms apart from 2024-01-02 14:30 UTC (+7 ns, to show
    nanoseconds survive), with a vendor's venue/condition codes and quote sizes (bid, ask)."""
    ts = np.arange(300, dtype=np.int64) * 7_000_123 + 1_704_205_800_000_000_007
    lake.write("trades", symbol, pl.DataFrame({"ts": ts, "price": 470 + np.arange(300) / 100,
                                               "size": 10.0, "exchange": exchange,
                                               "conditions": conditions}), "test")
    lake.write("quotes", symbol, pl.DataFrame({"ts": ts, "bid": 470.0, "bid_size": lots[0],
                                               "ask": 470.02, "ask_size": lots[1]}), "test")

"""Parity with TA-Lib (C library via ``import talib``) to 1e-9 relative after warm-up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import framework.features as F

talib = pytest.importorskip("talib")

RTOL = 1e-9


def _close(a, b, atol: float = 0.0) -> None:
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    # Same warm-up: NaN exactly where TA-Lib has no value.
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    assert (~np.isnan(b)).sum() > 0
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=atol, equal_nan=True)


def _check_all(o, h, low, c, v, c2) -> None:
    _close(F.sma(c, 20), talib.SMA(c, 20))
    _close(F.ema(c, 12), talib.EMA(c, 12))
    _close(F.ema(c, 50), talib.EMA(c, 50))
    _close(F.wma(c, 15), talib.WMA(c, 15))
    _close(F.rsi(c, 14), talib.RSI(c, 14))
    _close(F.rsi(c, 3), talib.RSI(c, 3))
    for ours, theirs in zip(F.macd(c, 12, 26, 9), talib.MACD(c, 12, 26, 9), strict=True):
        _close(ours, theirs)
    for ours, theirs in zip(F.macd(c, 5, 35, 5), talib.MACD(c, 5, 35, 5), strict=True):
        _close(ours, theirs)
    for ours, theirs in zip(F.bbands(c, 20, 2.0, 1.5), talib.BBANDS(c, 20, 2.0, 1.5), strict=True):
        _close(ours, theirs)
    _close(F.atr(h, low, c, 14), talib.ATR(h, low, c, 14))
    _close(F.adx(h, low, c, 14), talib.ADX(h, low, c, 14))
    _close(F.adx(h, low, c, 5), talib.ADX(h, low, c, 5))
    for ours, theirs in zip(
        F.stoch(h, low, c, 5, 3, 3), talib.STOCH(h, low, c, 5, 3, 0, 3, 0), strict=True
    ):
        _close(ours, theirs)
    for ours, theirs in zip(
        F.stoch(h, low, c, 14, 3, 5), talib.STOCH(h, low, c, 14, 3, 0, 5, 0), strict=True
    ):
        _close(ours, theirs)
    _close(F.roc(c, 10), talib.ROC(c, 10))
    _close(F.mom(c, 10), talib.MOM(c, 10))
    _close(F.obv(c, v), talib.OBV(c, v))
    # Correlation is bounded in [-1, 1]; near 0 the running sums of both libraries
    # differ by round-off (~1e-12 absolute), so an absolute floor applies there.
    _close(F.rolling_corr(c, c2, 30), talib.CORREL(c, c2, 30), atol=1e-10)
    # TA-Lib BETA divides by the variance of its FIRST argument: pass the market first.
    _close(F.rolling_beta(c, c2, 5), talib.BETA(c2, c, 5), atol=1e-12)


def _backtrader(shared_data, name):
    df = pd.read_csv(shared_data / "daily" / "backtrader" / name)
    return [df[k].to_numpy(float) for k in ("Open", "High", "Low", "Close", "Volume")]


def _zipline(shared_data, sym):
    df = pd.read_csv(shared_data / "daily" / "zipline" / "csvdir" / "daily" / f"{sym}.csv.gz")
    return [df[k].to_numpy(float) for k in ("open", "high", "low", "close", "volume")]


@pytest.mark.parametrize("name", ["nvda-1999-2014.txt", "orcl-1995-2014.txt", "yhoo-1996-2015.txt"])
def test_parity_backtrader_daily(shared_data, name):
    o, h, low, c, v = _backtrader(shared_data, name)
    _, _, _, c2, _ = _backtrader(shared_data, "orcl-1995-2014.txt")
    n = min(len(c), len(c2))
    _check_all(o[-n:], h[-n:], low[-n:], c[-n:], v[-n:], c2[-n:])


@pytest.mark.parametrize("sym", ["AAPL", "IBM", "KO", "MSFT"])
def test_parity_zipline_daily(shared_data, sym):
    o, h, low, c, v = _zipline(shared_data, sym)
    c2 = _zipline(shared_data, "MSFT" if sym != "MSFT" else "KO")[3]
    n = min(len(c), len(c2))
    _check_all(o[-n:], h[-n:], low[-n:], c[-n:], v[-n:], c2[-n:])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_parity_synthetic_random_walk(seed):
    rng = np.random.default_rng(seed)
    n = 5000
    c = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    o = c * np.exp(rng.normal(0, 0.003, n))
    h = np.maximum(o, c) * np.exp(np.abs(rng.normal(0, 0.005, n)))
    low = np.minimum(o, c) * np.exp(-np.abs(rng.normal(0, 0.005, n)))
    v = rng.integers(1_000, 1_000_000, n).astype(float)
    c2 = 40.0 * np.exp(np.cumsum(rng.normal(0, 0.012, n)))
    _check_all(o, h, low, c, v, c2)


def test_parity_2d_time_by_symbol(shared_data):
    cols = [_zipline(shared_data, s)[3] for s in ("AAPL", "IBM", "KO", "MSFT")]
    n = min(len(x) for x in cols)
    x = np.column_stack([c[-n:] for c in cols])
    out = F.rsi(x, 14)
    line, sig, hist = F.macd(x)
    assert out.shape == x.shape
    for j in range(x.shape[1]):
        _close(out[:, j], talib.RSI(x[:, j], 14))
        _close(hist[:, j], talib.MACD(x[:, j])[2])

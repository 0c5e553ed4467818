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
    _close(F.rolling_corr(c, c2, 30), talib.CORREL(c, c2, 30))
    # TA-Lib BETA divides by the variance of its FIRST argument: pass the market first.
    _close(F.rolling_beta(c, c2, 5), talib.BETA(c2, c, 5))


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


def _walk(rng, n: int, kind: str) -> np.ndarray:
    if kind == "mult":  # 1 bp steps at $100: returns ~1e-4, variances ~1e-8
        return 100.0 * np.exp(np.cumsum(rng.normal(0, 1e-4, n)))
    return 1000.0 + np.cumsum(rng.normal(0, 0.01, n))  # $1000 level, 1 cent steps


@pytest.mark.parametrize("kind", ["mult", "add"])
def test_corr_beta_parity_on_long_random_walks(kind):
    """1 M-point random walks: small returns make n*Sxx - Sx^2 cancel to ~1e-9, where an
    absolute 1e-8 guard gave beta 0.0 (TA-Lib: up to +-75) on thousands of bars and
    correlation 0.0 instead of values up to +-1; running raw sums drifted by up to
    ~1e-7 over the series. TA-Lib sums deviations from a shift, reseeds, and tests each
    sum against its own scale; with the same arithmetic the results agree exactly."""
    rng = np.random.default_rng(7)
    a, m = _walk(rng, 1_000_000, kind), _walk(rng, 1_000_000, kind)
    for n in (5, 30):
        ours, theirs = F.rolling_beta(a, m, n), talib.BETA(m, a, n)
        np.testing.assert_array_equal(ours, theirs)
        assert (theirs[n:] == 0.0).sum() == 0  # no bar is a (wrongly) degenerate window
        np.testing.assert_array_equal(F.rolling_corr(a, m, n), talib.CORREL(a, m, n))


def test_corr_beta_parity_through_outliers_and_flat_stretches():
    """A 1e5x bad tick transiting the window (the outlier trigger) and flat stretches
    (zero variance: 0.0, never a division by a cancelled difference)."""
    rng = np.random.default_rng(3)
    n = 200_000
    a, m = _walk(rng, n, "mult"), _walk(rng, n, "mult")
    m[50_000] *= 1e5
    a[120_000] *= 1e-5
    m[150_000:150_040] = m[150_000]
    a[160_000:160_040] = a[160_000]
    for p in (5, 30):
        np.testing.assert_array_equal(F.rolling_beta(a, m, p), talib.BETA(m, a, p))
        np.testing.assert_array_equal(F.rolling_corr(a, m, p), talib.CORREL(a, m, p))
    assert F.rolling_corr(a, m, 30)[150_039] == 0.0  # x flat over the whole window

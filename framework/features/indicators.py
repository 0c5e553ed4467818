"""Batch indicators: validate input, run the numba kernel per column, return arrays.

Every function accepts 1-D ``[time]`` or 2-D ``[time x symbol]`` float arrays (any
array-like convertible to float64; all array arguments must have the same shape) and
returns float64 arrays of that shape. Each column is an independent series. The
arithmetic lives in the ``kernels_*`` modules (the same step functions the streaming
form uses).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from framework.features import incremental, shared
from framework.features import kernels_micro as km
from framework.features import kernels_oscillators as ko
from framework.features import kernels_stats as ks
from framework.features import kernels_trend as kt
from framework.types.errors import FwError


class FeatureError(FwError, ValueError):
    """Bad indicator input or parameter; the message names the indicator and argument."""


def _arrays(name: str, arrays: dict[str, object]) -> list[np.ndarray]:
    out = []
    shape = None
    for arg, a in arrays.items():
        x = np.asarray(a, dtype=np.float64)
        if x.ndim not in (1, 2):
            raise FeatureError(
                f"{name}: '{arg}' must be 1-D [time] or 2-D [time x symbol], got shape {x.shape}"
            )
        if shape is not None and x.shape != shape:
            raise FeatureError(
                f"{name}: '{arg}' has shape {x.shape}, expected {shape} like the first input"
            )
        shape = x.shape
        out.append(x)
    return out


def _period(name: str, arg: str, n: int, minimum: int = 1) -> int:
    if isinstance(n, bool) or int(n) != n or n < minimum:
        raise FeatureError(f"{name}: '{arg}' must be an integer >= {minimum}, got {n!r}")
    return int(n)


def _run(kernel: Callable, xs: list[np.ndarray], params: tuple, n_out: int):
    """Call ``kernel(*columns, *params)`` once per column; returns n_out arrays (inside a
    live window, over the full history kept so far: ``framework.features.incremental``)."""
    inc = incremental.current()
    if inc is not None:
        return inc.run_full((kernel.__name__, params),
                            lambda ins: _run(kernel, ins, params, n_out), xs, n_out)
    memo = shared.current()
    if memo is not None:  # a sweep: trials with the same parameters share the result
        return memo.get(("run", kernel.__name__, params), xs,
                        lambda: _columns(kernel, xs, params, n_out))
    return _columns(kernel, xs, params, n_out)


def _columns(kernel: Callable, xs: list[np.ndarray], params: tuple, n_out: int):
    if xs[0].ndim == 1:
        res = kernel(*[np.ascontiguousarray(x) for x in xs], *params)
        return res
    t, m = xs[0].shape
    outs = [np.empty((t, m)) for _ in range(n_out)]
    for j in range(m):
        res = kernel(*[np.ascontiguousarray(x[:, j]) for x in xs], *params)
        if n_out == 1:
            outs[0][:, j] = res
        else:
            for k in range(n_out):
                outs[k][:, j] = res[k]
    return outs[0] if n_out == 1 else tuple(outs)


def _run_state(run: Callable, state: Callable, xs: list[np.ndarray], n_out: int, extra: tuple = ()):
    """``run(state(), *columns, *extra, *outs)`` per column, outputs allocated here.

    NumPy allocates the outputs (it asks the kernel for huge pages on big arrays, which
    saves the page faults of numba's allocator on 1M-point outputs). Inside a live
    window (``framework.features.incremental``) only the rows not seen yet are run, from
    the state the last call left.
    """
    inc = incremental.current()
    if inc is not None:
        key = (run.__name__, state().tobytes(), extra)
        return inc.run_state(key, state, run, xs, n_out, extra)
    memo = shared.current()
    if memo is not None:  # a sweep: trials with the same parameters share the result
        return memo.get(("state", run.__name__, state().tobytes(), extra), xs,
                        lambda: _columns_state(run, state, xs, n_out, extra))
    return _columns_state(run, state, xs, n_out, extra)


def _columns_state(run: Callable, state: Callable, xs: list[np.ndarray], n_out: int,
                   extra: tuple):
    if xs[0].ndim == 1:
        outs = [np.empty(xs[0].shape[0]) for _ in range(n_out)]
        run(state(), *[np.ascontiguousarray(x) for x in xs], *extra, *outs)
        return outs[0] if n_out == 1 else tuple(outs)
    t, m = xs[0].shape
    outs = [np.empty((t, m)) for _ in range(n_out)]
    tmp = [np.empty(t) for _ in range(n_out)]
    for j in range(m):
        run(state(), *[np.ascontiguousarray(x[:, j]) for x in xs], *extra, *tmp)
        for k in range(n_out):
            outs[k][:, j] = tmp[k]
    return outs[0] if n_out == 1 else tuple(outs)


# --------------------------------------------------------------------------- trend
def sma(x, n: int) -> np.ndarray:
    """Simple moving average over n bars (TA-Lib SMA); price units."""
    n = _period("sma", "n", n)
    return _run_state(kt.sma_run, lambda: kt.sma_state(n), _arrays("sma", {"x": x}), 1)


def ema(x, n: int) -> np.ndarray:
    """Exponential MA, k = 2/(n+1), SMA seed (TA-Lib EMA); price units."""
    n = _period("ema", "n", n)
    return _run_state(kt.ema_run, lambda: kt.ema_state(n, 0), _arrays("ema", {"x": x}), 1)


def wma(x, n: int) -> np.ndarray:
    """Linearly weighted MA (TA-Lib WMA); price units."""
    n = _period("wma", "n", n)
    return _run_state(kt.wma_run, lambda: kt.wma_state(n), _arrays("wma", {"x": x}), 1)


def macd(x, fast: int = 12, slow: int = 26, signal: int = 9):
    """MACD (line, signal, histogram) with TA-Lib's seeding; price units."""
    p = (
        _period("macd", "fast", fast, 2),
        _period("macd", "slow", slow, 2),
        _period("macd", "signal", signal),
    )
    return _run_state(kt.macd_run, lambda: kt.macd_state(*p), _arrays("macd", {"x": x}), 3)


def bbands(x, n: int = 20, k_up: float = 2.0, k_dn: float = 2.0):
    """Bollinger bands (upper, middle, lower): SMA -/+ k population std devs."""
    n = _period("bbands", "n", n)
    return _run_state(
        kt.bbands_run,
        lambda: kt.bbands_state(n),
        _arrays("bbands", {"x": x}),
        3,
        (float(k_up), float(k_dn)),
    )


def zscore(x, n: int) -> np.ndarray:
    """(x - SMA_n) / population std dev over n; dimensionless; NaN when std is 0."""
    n = _period("zscore", "n", n, 2)
    return _run_state(kt.zscore_run, lambda: kt.bbands_state(n), _arrays("zscore", {"x": x}), 1)


def roc(x, n: int = 10) -> np.ndarray:
    """Rate of change in percent, (x / x[n] - 1) * 100 (TA-Lib ROC)."""
    n = _period("roc", "n", n)
    return _run_state(kt.roc_run, lambda: kt.lag_state(n), _arrays("roc", {"x": x}), 1)


def mom(x, n: int = 10) -> np.ndarray:
    """Momentum x - x[n], price units (TA-Lib MOM)."""
    n = _period("mom", "n", n)
    return _run_state(kt.mom_run, lambda: kt.lag_state(n), _arrays("mom", {"x": x}), 1)


def obv(close, volume) -> np.ndarray:
    """On-balance volume, shares (TA-Lib OBV)."""
    return _run_state(
        kt.obv_run, kt.obv_state, _arrays("obv", {"close": close, "volume": volume}), 1
    )


def vwap(price, volume, n: int) -> np.ndarray:
    """Rolling volume-weighted average price over n bars, USD."""
    xs = _arrays("vwap", {"price": price, "volume": volume})
    return _run(kt.vwap_batch, xs, (_period("vwap", "n", n),), 1)


def log_return(x) -> np.ndarray:
    """ln(x_t / x_{t-1}) against the previous valid value."""
    return _run(kt.logret_batch, _arrays("log_return", {"x": x}), (), 1)


# --------------------------------------------------------------------------- oscillators
def rsi(x, n: int = 14) -> np.ndarray:
    """Wilder RSI in [0, 100] (TA-Lib RSI)."""
    n = _period("rsi", "n", n, 2)
    return _run_state(ko.rsi_run, lambda: ko.rsi_state(n), _arrays("rsi", {"x": x}), 1)


def atr(high, low, close, n: int = 14) -> np.ndarray:
    """Average true range, price units (TA-Lib ATR)."""
    xs = _arrays("atr", {"high": high, "low": low, "close": close})
    n = _period("atr", "n", n)
    return _run_state(ko.atr_run, lambda: ko.atr_state(n), xs, 1)


def adx(high, low, close, n: int = 14) -> np.ndarray:
    """Average directional index in [0, 100] (TA-Lib ADX)."""
    xs = _arrays("adx", {"high": high, "low": low, "close": close})
    n = _period("adx", "n", n, 2)
    return _run_state(ko.adx_run, lambda: ko.adx_state(n), xs, 1)


def stoch(high, low, close, k: int = 5, sk: int = 3, sd: int = 3):
    """Slow stochastic (%K, %D) in [0, 100], SMA smoothing (TA-Lib STOCH)."""
    xs = _arrays("stoch", {"high": high, "low": low, "close": close})
    p = (_period("stoch", "k", k), _period("stoch", "sk", sk), _period("stoch", "sd", sd))
    return _run_state(ko.stoch_run, lambda: ko.stoch_state(*p), xs, 2)


# --------------------------------------------------------------------------- statistics
def realized_vol(close, n: int) -> np.ndarray:
    """Close-to-close volatility: sample std of n log returns (per bar, not annualised)."""
    xs = _arrays("realized_vol", {"close": close})
    n = _period("realized_vol", "n", n, 2)
    return _run_state(ks.realized_vol_run, lambda: ks.realized_vol_state(n), xs, 1)


def parkinson_vol(high, low, n: int) -> np.ndarray:
    """Parkinson high-low volatility over n bars (per bar, log units)."""
    xs = _arrays("parkinson_vol", {"high": high, "low": low})
    return _run(ks.parkinson_batch, xs, (_period("parkinson_vol", "n", n),), 1)


def garman_klass_vol(open_, high, low, close, n: int) -> np.ndarray:
    """Garman-Klass OHLC volatility over n bars (per bar, log units)."""
    xs = _arrays("garman_klass_vol", {"open": open_, "high": high, "low": low, "close": close})
    return _run(ks.garman_klass_batch, xs, (_period("garman_klass_vol", "n", n),), 1)


def rolling_corr(x, y, n: int) -> np.ndarray:
    """Pearson correlation of the raw series over n bars (TA-Lib CORREL)."""
    xs = _arrays("rolling_corr", {"x": x, "y": y})
    n = _period("rolling_corr", "n", n, 2)
    return _run_state(ks.corr_run, lambda: ks.corr_state(n), xs, 1)


def rolling_beta(asset, market, n: int) -> np.ndarray:
    """OLS beta of asset simple returns on market simple returns over n returns."""
    xs = _arrays("rolling_beta", {"asset": asset, "market": market})
    return _run(ks.beta_batch, xs, (_period("rolling_beta", "n", n, 2),), 1)


def rolling_skew(x, n: int) -> np.ndarray:
    """Bias-corrected rolling skewness over n values (pandas ``rolling().skew()``)."""
    xs = _arrays("rolling_skew", {"x": x})
    return _run(ks.moments_batch, xs, (_period("rolling_skew", "n", n, 3),), 2)[0]


def rolling_kurt(x, n: int) -> np.ndarray:
    """Bias-corrected rolling excess kurtosis over n values (pandas ``rolling().kurt()``)."""
    xs = _arrays("rolling_kurt", {"x": x})
    return _run(ks.moments_batch, xs, (_period("rolling_kurt", "n", n, 4),), 2)[1]


# --------------------------------------------------------------------------- microstructure
def _book(name: str, bid_sizes, ask_sizes, levels: int):
    b = np.ascontiguousarray(bid_sizes, dtype=np.float64)
    a = np.ascontiguousarray(ask_sizes, dtype=np.float64)
    if b.ndim != 2 or a.ndim != 2 or b.shape[0] != a.shape[0]:
        raise FeatureError(
            f"{name}: bid_sizes and ask_sizes must be 2-D [time x level] with "
            f"the same number of rows, got {b.shape} and {a.shape}"
        )
    return b, a, _period(name, "levels", levels)


def book_imbalance(bid_sizes, ask_sizes, levels: int) -> np.ndarray:
    """Order-book imbalance over the top ``levels`` levels, in [-1, 1]."""
    b, a, n = _book("book_imbalance", bid_sizes, ask_sizes, levels)
    return km.book_imbalance_batch(b, a, n)


def book_depth(bid_sizes, ask_sizes, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Shares resting on the top ``levels`` levels: (bid depth, ask depth)."""
    b, a, n = _book("book_depth", bid_sizes, ask_sizes, levels)
    return km.depth_batch(b, n), km.depth_batch(a, n)


def quoted_spread(bid, ask) -> np.ndarray:
    """Quoted spread ask - bid, USD (divide by the mid for a fraction)."""
    b, a = _arrays("quoted_spread", {"bid": bid, "ask": ask})
    return a - b


def microprice(bid, ask, bid_size, ask_size) -> np.ndarray:
    """Size-weighted mid price, USD."""
    xs = _arrays("microprice", {"bid": bid, "ask": ask, "bid_size": bid_size, "ask_size": ask_size})
    return _run(km.microprice_batch, xs, (), 1)


def effective_spread(price, bid, ask) -> np.ndarray:
    """Effective spread 2 |p - mid| per trade, USD."""
    xs = _arrays("effective_spread", {"price": price, "bid": bid, "ask": ask})
    return _run(km.effective_spread_batch, xs, (), 1)


def realized_spread(price, sign, mid, horizon: int) -> np.ndarray:
    """Realized spread 2 q (p - mid ``horizon`` events later), emitted at t + horizon."""
    xs = _arrays("realized_spread", {"price": price, "sign": sign, "mid": mid})
    return _run(km.realized_spread_batch, xs, (_period("realized_spread", "horizon", horizon),), 1)


def tick_rule(price) -> np.ndarray:
    """Trade signs by the tick rule (+1 / -1; 0 before the first price change)."""
    return _run(km.tick_rule_batch, _arrays("tick_rule", {"price": price}), (), 1)


def lee_ready(price, bid, ask) -> np.ndarray:
    """Trade signs by Lee-Ready (quote test, tick rule at the mid)."""
    xs = _arrays("lee_ready", {"price": price, "bid": bid, "ask": ask})
    return _run(km.lee_ready_batch, xs, (), 1)


def trade_flow_imbalance(volume, sign, n: int) -> np.ndarray:
    """Signed-volume share sum(q v) / sum(v) over n trades, in [-1, 1]."""
    xs = _arrays("trade_flow_imbalance", {"volume": volume, "sign": sign})
    return _run(km.flow_imbalance_batch, xs, (_period("trade_flow_imbalance", "n", n),), 1)


def roll_spread(price, n: int) -> np.ndarray:
    """Roll's implied spread from n serial price-change pairs, USD."""
    xs = _arrays("roll_spread", {"price": price})
    return _run(km.roll_batch, xs, (_period("roll_spread", "n", n, 2),), 1)


def kyle_lambda(price, signed_volume, n: int) -> np.ndarray:
    """Kyle's lambda: slope of price change on signed volume over n, USD per share."""
    xs = _arrays("kyle_lambda", {"price": price, "signed_volume": signed_volume})
    return _run(km.kyle_batch, xs, (_period("kyle_lambda", "n", n, 2),), 1)


def amihud(close, volume, n: int) -> np.ndarray:
    """Amihud illiquidity: mean |return| / dollar volume over n bars, 1/USD."""
    xs = _arrays("amihud", {"close": close, "volume": volume})
    return _run(km.amihud_batch, xs, (_period("amihud", "n", n),), 1)


def vpin(volume, sign, bucket_volume: float, n_buckets: int) -> np.ndarray:
    """VPIN over the last n_buckets volume buckets of bucket_volume shares each."""
    if not bucket_volume > 0:
        raise FeatureError(f"vpin: 'bucket_volume' must be > 0 shares, got {bucket_volume!r}")
    xs = _arrays("vpin", {"volume": volume, "sign": sign})
    return _run(
        km.vpin_batch, xs, (float(bucket_volume), _period("vpin", "n_buckets", n_buckets)), 1
    )

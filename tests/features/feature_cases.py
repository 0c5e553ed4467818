"""The indicator table the feature tests iterate over: kernel-level batch and streaming pairs.

Each case names its inputs (keys of the dict built by ``make_inputs``), the kernel batch
function with its parameters, and the streaming ``state``/``update`` pair.
"""

from __future__ import annotations

import numpy as np

from framework.features import kernels_micro as km
from framework.features import kernels_oscillators as ko
from framework.features import kernels_stats as ks
from framework.features import kernels_trend as kt

# name: (inputs, batch(*inputs), state(), update, n_out)
CASES = {
    "sma": (("c",), lambda c: kt.sma_batch(c, 10), lambda: kt.sma_state(10), kt.sma_update, 1),
    "ema": (("c",), lambda c: kt.ema_batch(c, 10), lambda: kt.ema_state(10, 0), kt.ema_update, 1),
    "wma": (("c",), lambda c: kt.wma_batch(c, 7), lambda: kt.wma_state(7), kt.wma_update, 1),
    "macd": (
        ("c",),
        lambda c: kt.macd_batch(c, 5, 11, 4),
        lambda: kt.macd_state(5, 11, 4),
        kt.macd_update,
        3,
    ),
    "bbands": (
        ("c",),
        lambda c: kt.bbands_batch(c, 8, 2.0, 1.5),
        lambda: kt.bbands_state(8),
        lambda s, c: kt.bbands_update(s, c, 2.0, 1.5),
        3,
    ),
    "zscore": (
        ("c",),
        lambda c: kt.zscore_batch(c, 8),
        lambda: kt.bbands_state(8),
        kt.zscore_update,
        1,
    ),
    "roc": (("c",), lambda c: kt.roc_batch(c, 5), lambda: kt.lag_state(5), kt.roc_update, 1),
    "mom": (("c",), lambda c: kt.mom_batch(c, 5), lambda: kt.lag_state(5), kt.mom_update, 1),
    "obv": (("c", "v"), kt.obv_batch, kt.obv_state, kt.obv_update, 1),
    "vwap": (
        ("c", "v"),
        lambda c, v: kt.vwap_batch(c, v, 6),
        lambda: kt.vwap_state(6),
        kt.vwap_update,
        1,
    ),
    "log_return": (("c",), kt.logret_batch, kt.logret_state, kt.logret_update, 1),
    "rsi": (("c",), lambda c: ko.rsi_batch(c, 9), lambda: ko.rsi_state(9), ko.rsi_update, 1),
    "atr": (
        ("h", "l", "c"),
        lambda h, low, c: ko.atr_batch(h, low, c, 9),
        lambda: ko.atr_state(9),
        ko.atr_update,
        1,
    ),
    "adx": (
        ("h", "l", "c"),
        lambda h, low, c: ko.adx_batch(h, low, c, 6),
        lambda: ko.adx_state(6),
        ko.adx_update,
        1,
    ),
    "stoch": (
        ("h", "l", "c"),
        lambda h, low, c: ko.stoch_batch(h, low, c, 5, 3, 3),
        lambda: ko.stoch_state(5, 3, 3),
        ko.stoch_update,
        2,
    ),
    "realized_vol": (
        ("c",),
        lambda c: ks.realized_vol_batch(c, 10),
        lambda: ks.realized_vol_state(10),
        ks.realized_vol_update,
        1,
    ),
    "parkinson": (
        ("h", "l"),
        lambda h, low: ks.parkinson_batch(h, low, 10),
        lambda: ks.parkinson_state(10),
        ks.parkinson_update,
        1,
    ),
    "garman_klass": (
        ("o", "h", "l", "c"),
        lambda o, h, low, c: ks.garman_klass_batch(o, h, low, c, 10),
        lambda: ks.garman_klass_state(10),
        ks.garman_klass_update,
        1,
    ),
    "corr": (
        ("c", "c2"),
        lambda x, y: ks.corr_batch(x, y, 12),
        lambda: ks.corr_state(12),
        ks.corr_update,
        1,
    ),
    "beta": (
        ("c", "c2"),
        lambda x, y: ks.beta_batch(x, y, 12),
        lambda: ks.beta_state(12),
        ks.beta_update,
        1,
    ),
    "moments": (
        ("c",),
        lambda c: ks.moments_batch(c, 7),
        lambda: ks.moments_state(7),
        ks.moments_update,
        2,
    ),
    "realized_spread": (
        ("c", "q", "m"),
        lambda p, q, m: km.realized_spread_batch(p, q, m, 3),
        lambda: km.realized_spread_state(3),
        km.realized_spread_update,
        1,
    ),
    "tick_rule": (("c",), km.tick_rule_batch, km.sign_state, km.tick_rule_update, 1),
    "lee_ready": (("c", "bid", "ask"), km.lee_ready_batch, km.sign_state, km.lee_ready_update, 1),
    "flow_imbalance": (
        ("v", "q"),
        lambda v, q: km.flow_imbalance_batch(v, q, 8),
        lambda: km.flow_imbalance_state(8),
        km.flow_imbalance_update,
        1,
    ),
    "roll": (("c",), lambda c: km.roll_batch(c, 10), lambda: km.roll_state(10), km.roll_update, 1),
    "kyle": (
        ("c", "sv"),
        lambda c, sv: km.kyle_batch(c, sv, 10),
        lambda: km.kyle_state(10),
        km.kyle_update,
        1,
    ),
    "amihud": (
        ("c", "v"),
        lambda c, v: km.amihud_batch(c, v, 5),
        lambda: km.amihud_state(5),
        km.amihud_update,
        1,
    ),
    "vpin": (
        ("v", "q"),
        lambda v, q: km.vpin_batch(v, q, 2500.0, 4),
        lambda: km.vpin_state(2500.0, 4),
        km.vpin_update,
        1,
    ),
}


def make_inputs(n: int, seed: int, nan_frac: float = 0.0) -> dict[str, np.ndarray]:
    """Random-walk OHLCV (+ a second series, signs, quotes) with optional NaN gaps."""
    rng = np.random.default_rng(seed)
    c = 50.0 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    o = c * np.exp(rng.normal(0, 0.005, n))
    h = np.maximum(o, c) * np.exp(np.abs(rng.normal(0, 0.01, n)))
    low = np.minimum(o, c) * np.exp(-np.abs(rng.normal(0, 0.01, n)))
    v = rng.integers(100, 5000, n).astype(float)
    c2 = 30.0 * np.exp(np.cumsum(rng.normal(0, 0.015, n)))
    q = rng.choice([-1.0, 0.0, 1.0], n, p=[0.45, 0.1, 0.45])
    spread = 0.01 + 0.02 * rng.random(n)
    bid = np.round(c - spread * rng.random(n), 2)
    ask = bid + np.round(spread, 2) + 0.01
    m = 0.5 * (bid + ask)
    d = {
        "o": o,
        "h": h,
        "l": low,
        "c": c,
        "v": v,
        "c2": c2,
        "q": q,
        "m": m,
        "bid": bid,
        "ask": ask,
        "sv": q * v,
    }
    if nan_frac > 0:
        for k in d:
            d[k] = d[k].copy()
            d[k][rng.random(n) < nan_frac] = np.nan
    return d


def as_tuple(res, n_out: int) -> tuple[np.ndarray, ...]:
    return (res,) if n_out == 1 else tuple(res)


# A series small enough to work out by hand, and the values (the batch == streaming tests
# alone would pass a rule both forms share): SMA(3) = 3, 10/3, 6; EMA(3) with k = 1/2,
# seeded with the first SMA: 3, 3 + (2 - 3)/2 = 2.5, 2.5 + (10 - 2.5)/2 = 6.25; z-score(3)
# against the population std: (6 - 3)/sqrt(14/3), (2 - 10/3)/sqrt(32/9) = -1/sqrt(2),
# (10 - 6)/sqrt(32/3) = sqrt(3/2); ROC(2) in percent: (6/1 - 1) 100, (2/2 - 1) 100,
# (10/6 - 1) 100. Keys are the feature-set column names.
HAND = np.array([1.0, 2.0, 6.0, 2.0, 10.0])
_WARM = [np.nan, np.nan]
HAND_VALUES = {
    "sma_3": _WARM + [3.0, 10 / 3, 6.0],
    "ema_3": _WARM + [3.0, 2.5, 6.25],
    "zscore_3": _WARM + [3 / np.sqrt(14 / 3), -1 / np.sqrt(2), np.sqrt(1.5)],
    "roc_2": _WARM + [500.0, 0.0, 200 / 3],
}

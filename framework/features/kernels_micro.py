"""Microstructure features from quotes, trades and the L2 book, as numba kernels.

Same contract as ``kernels_trend``: ``_state`` / ``_update`` / ``_batch`` with the batch
looping over the update; a NaN in any input gives NaN and leaves the state alone.
Stateless features (spreads, microprice, book imbalance) have only the per-element
function, which is both the streaming and the batch rule. Prices in USD, sizes and
volumes in shares; trade signs are +1 (buyer-initiated), -1 (seller), 0 (unknown).
"""

from __future__ import annotations

import numpy as np

from framework.features.kernels_trend import (
    place,
    sma_state,
    sma_update,
    vwap_state,
    vwap_update,
)
from framework.types.jit import builder, kernel, njit

NAN = np.nan


# --------------------------------------------------------------------------- book
@njit(cache=True, inline="always")
def book_imbalance_row(bid_sizes: np.ndarray, ask_sizes: np.ndarray, levels: int) -> float:
    """(sum bid - sum ask) / (sum bid + sum ask) over the top ``levels``; in [-1, 1].

    NaN sizes count as 0 (an empty level); NaN when both sides are empty.
    """
    b = 0.0
    a = 0.0
    for j in range(min(levels, bid_sizes.shape[0])):
        v = bid_sizes[j]
        if not np.isnan(v):
            b += v
    for j in range(min(levels, ask_sizes.shape[0])):
        v = ask_sizes[j]
        if not np.isnan(v):
            a += v
    t = b + a
    return (b - a) / t if t > 0.0 else NAN


@njit(cache=True)
def book_imbalance_batch(bid_sizes: np.ndarray, ask_sizes: np.ndarray, levels: int) -> np.ndarray:
    out = np.empty(bid_sizes.shape[0])
    for i in range(bid_sizes.shape[0]):
        out[i] = book_imbalance_row(bid_sizes[i], ask_sizes[i], levels)
    return out


@njit(cache=True, inline="always")
def depth_row(sizes: np.ndarray, levels: int) -> float:
    """Shares resting on the top ``levels`` of one side (NaN levels count 0)."""
    t = 0.0
    for j in range(min(levels, sizes.shape[0])):
        v = sizes[j]
        if not np.isnan(v):
            t += v
    return t


@njit(cache=True)
def depth_batch(sizes: np.ndarray, levels: int) -> np.ndarray:
    out = np.empty(sizes.shape[0])
    for i in range(sizes.shape[0]):
        out[i] = depth_row(sizes[i], levels)
    return out


@njit(cache=True, inline="always")
def microprice_one(bid: float, ask: float, bid_size: float, ask_size: float) -> float:
    """Size-weighted mid: (bid * ask_size + ask * bid_size) / (bid_size + ask_size), USD."""
    t = bid_size + ask_size
    if not t > 0.0:
        return NAN
    return (bid * ask_size + ask * bid_size) / t


@njit(cache=True)
def microprice_batch(bid, ask, bid_size, ask_size) -> np.ndarray:
    out = np.empty(bid.shape[0])
    for i in range(bid.shape[0]):
        out[i] = microprice_one(bid[i], ask[i], bid_size[i], ask_size[i])
    return out


@njit(cache=True, inline="always")
def effective_spread_one(price: float, bid: float, ask: float) -> float:
    """Effective spread 2 |p - mid|, USD."""
    return 2.0 * abs(price - 0.5 * (bid + ask))


@njit(cache=True)
def effective_spread_batch(price, bid, ask) -> np.ndarray:
    out = np.empty(price.shape[0])
    for i in range(price.shape[0]):
        out[i] = effective_spread_one(price[i], bid[i], ask[i])
    return out


# --------------------------------------------------------------------------- realized spread
# state: [count, h, pos, buf_p[h], buf_q[h]]
@builder
def realized_spread_state(horizon: int) -> np.ndarray:
    s = np.zeros(3 + 2 * horizon)
    s[1] = horizon
    return s


@njit(cache=True, inline="always")
def realized_spread_update(s: np.ndarray, price: float, sign: float, mid: float) -> float:
    """2 q (p - m') for the trade ``horizon`` events back, m' = the mid now (USD).

    Causal: the value for trade t appears at t + horizon, never earlier.
    """
    if np.isnan(price) or np.isnan(sign) or np.isnan(mid):
        return NAN
    h = int(s[1])
    pos = int(s[2])
    cnt = s[0]
    s[0] = cnt + 1.0
    out = 2.0 * s[3 + h + pos] * (s[3 + pos] - mid) if cnt >= h else NAN
    s[3 + pos] = price
    s[3 + h + pos] = sign
    pos += 1
    if pos == h:
        pos = 0
    s[2] = pos
    return out


@njit(cache=True)
def realized_spread_batch(price, sign, mid, horizon: int) -> np.ndarray:
    s = realized_spread_state(horizon)
    out = np.empty(price.shape[0])
    for i in range(price.shape[0]):
        out[i] = realized_spread_update(s, price[i], sign[i], mid[i])
    return out


# --------------------------------------------------------------------------- trade signing
# state: [count, prev_price, last_sign]
@builder
def sign_state() -> np.ndarray:
    return np.zeros(3)


@njit(cache=True, inline="always")
def tick_rule_update(s: np.ndarray, price: float) -> float:
    """Tick rule: +1 on an uptick, -1 on a downtick, the previous sign on a zero tick."""
    if np.isnan(price):
        return NAN
    if s[0] > 0.0:
        if price > s[1]:
            s[2] = 1.0
        elif price < s[1]:
            s[2] = -1.0
    s[0] += 1.0
    s[1] = price
    return s[2]


@njit(cache=True, inline="always")
def lee_ready_update(s: np.ndarray, price: float, bid: float, ask: float) -> float:
    """Lee-Ready: +1 above the prevailing mid, -1 below, tick rule at the mid.

    Pass the quote prevailing before the trade (the caller applies any quote lag).
    """
    if np.isnan(price) or np.isnan(bid) or np.isnan(ask):
        return NAN
    tick = tick_rule_update(s, price)
    mid = 0.5 * (bid + ask)
    if price > mid:
        return 1.0
    if price < mid:
        return -1.0
    return tick


@njit(cache=True)
def tick_rule_batch(price: np.ndarray) -> np.ndarray:
    s = sign_state()
    out = np.empty(price.shape[0])
    for i in range(price.shape[0]):
        out[i] = tick_rule_update(s, price[i])
    return out


@njit(cache=True)
def lee_ready_batch(price, bid, ask) -> np.ndarray:
    s = sign_state()
    out = np.empty(price.shape[0])
    for i in range(price.shape[0]):
        out[i] = lee_ready_update(s, price[i], bid[i], ask[i])
    return out


# --------------------------------------------------------------------------- trade-flow imbalance
@builder
def flow_imbalance_state(n: int) -> np.ndarray:
    return vwap_state(n)


@njit(cache=True, inline="always")
def flow_imbalance_update(s: np.ndarray, volume: float, sign: float) -> float:
    """sum(q v) / sum(v) over the last n trades, in [-1, 1]; lookback n-1.

    It is the volume-weighted mean of the sign, so it shares VWAP's rolling rule.
    """
    return vwap_update(s, sign, volume)


@njit(cache=True)
def flow_imbalance_batch(volume, sign, n: int) -> np.ndarray:
    s = flow_imbalance_state(n)
    out = np.empty(volume.shape[0])
    for i in range(volume.shape[0]):
        out[i] = flow_imbalance_update(s, volume[i], sign[i])
    return out


# --------------------------------------------------------------------------- rolling covariance
# state: [count, n, pos, sx, sy, sxy, sxx, bufx[n], bufy[n]]
@builder
def cov_state(n: int) -> np.ndarray:
    s = np.zeros(7 + 2 * n)
    s[1] = n
    return s


@njit(cache=True, inline="always")
def cov_update(s: np.ndarray, x: float, y: float) -> tuple[float, float]:
    """Sample covariance of (x, y) and sample variance of x over n pairs; lookback n-1."""
    n = int(s[1])
    pos = int(s[2])
    cnt = s[0] + 1.0
    s[0] = cnt
    s[3] += x
    s[4] += y
    s[5] += x * y
    s[6] += x * x
    s[7 + pos] = x
    s[7 + n + pos] = y
    pos += 1
    if pos == n:
        pos = 0
    s[2] = pos
    if cnt < n:
        return NAN, NAN
    fn = float(n)
    cov = (s[5] - s[3] * s[4] / fn) / (fn - 1.0)
    var = (s[6] - s[3] * s[3] / fn) / (fn - 1.0)
    ox = s[7 + pos]
    oy = s[7 + n + pos]
    s[3] -= ox
    s[4] -= oy
    s[5] -= ox * oy
    s[6] -= ox * ox
    return cov, var


# --------------------------------------------------------------------------- Roll's spread
# state: [count, prev_p, prev_dp, cov_state(n)...]
@builder
def roll_state(n: int) -> np.ndarray:
    s = np.zeros(3 + 7 + 2 * n)
    place(s, 3, cov_state(n))
    return s


@njit(cache=True, inline="always")
def roll_update(s: np.ndarray, price: float) -> float:
    """Roll (1984) spread 2 sqrt(-cov(dp_t, dp_t-1)) over n pairs, USD; 0 if cov >= 0.

    Lookback n+1 prices.
    """
    if np.isnan(price):
        return NAN
    cnt = s[0]
    s[0] = cnt + 1.0
    prev = s[1]
    s[1] = price
    if cnt == 0.0:
        return NAN
    dp = price - prev
    pdp = s[2]
    s[2] = dp
    if cnt == 1.0:
        return NAN
    cov, _ = cov_update(s[3:], dp, pdp)
    if np.isnan(cov):
        return NAN
    return 2.0 * np.sqrt(-cov) if cov < 0.0 else 0.0


@njit(cache=True)
def roll_batch(price: np.ndarray, n: int) -> np.ndarray:
    s = roll_state(n)
    out = np.empty(price.shape[0])
    for i in range(price.shape[0]):
        out[i] = roll_update(s, price[i])
    return out


# --------------------------------------------------------------------------- Kyle's lambda
# state: [count, prev_p, cov_state(n)...]
@builder
def kyle_state(n: int) -> np.ndarray:
    s = np.zeros(2 + 7 + 2 * n)
    place(s, 2, cov_state(n))
    return s


@njit(cache=True, inline="always")
def kyle_update(s: np.ndarray, price: float, signed_volume: float) -> float:
    """Kyle's lambda: OLS slope of dp on signed volume over n trades/bars (USD per share).

    Lookback n. NaN when the signed volume has no variance.
    """
    if np.isnan(price) or np.isnan(signed_volume):
        return NAN
    cnt = s[0]
    s[0] = cnt + 1.0
    prev = s[1]
    s[1] = price
    if cnt == 0.0:
        return NAN
    cov, var = cov_update(s[2:], signed_volume, price - prev)
    if np.isnan(cov) or not var > 0.0:
        return NAN
    return cov / var


@njit(cache=True)
def kyle_batch(price: np.ndarray, signed_volume: np.ndarray, n: int) -> np.ndarray:
    s = kyle_state(n)
    out = np.empty(price.shape[0])
    for i in range(price.shape[0]):
        out[i] = kyle_update(s, price[i], signed_volume[i])
    return out


# --------------------------------------------------------------------------- Amihud
# state: [count, prev_close, sma_state(n)...]
@builder
def amihud_state(n: int) -> np.ndarray:
    s = np.zeros(2 + 4 + n)
    place(s, 2, sma_state(n))
    return s


@njit(cache=True, inline="always")
def amihud_update(s: np.ndarray, close: float, volume: float) -> float:
    """Amihud illiquidity: mean of |simple return| / (close * volume) over n bars (1/USD).

    Lookback n. A bar with no volume is treated as missing (NaN, state untouched).
    """
    if np.isnan(close) or np.isnan(volume) or not volume > 0.0:
        return NAN
    cnt = s[0]
    s[0] = cnt + 1.0
    prev = s[1]
    s[1] = close
    if cnt == 0.0:
        return NAN
    return sma_update(s[2:], abs(close / prev - 1.0) / (close * volume))


@kernel
def amihud_run(s: np.ndarray, close: np.ndarray, volume: np.ndarray, out: np.ndarray) -> None:
    for i in range(close.shape[0]):
        out[i] = amihud_update(s, close[i], volume[i])


@njit(cache=True)
def amihud_batch(close: np.ndarray, volume: np.ndarray, n: int) -> np.ndarray:
    out = np.empty(close.shape[0])
    amihud_run(amihud_state(n), close, volume, out)
    return out


# --------------------------------------------------------------------------- VPIN
# state: [count, bucket_volume, n_buckets, buy, sell, filled, pos, sum_imb, buf[n_buckets]]
@builder
def vpin_state(bucket_volume: float, n_buckets: int) -> np.ndarray:
    s = np.zeros(8 + n_buckets)
    s[1] = bucket_volume
    s[2] = n_buckets
    return s


@njit(cache=True, inline="always")
def vpin_update(s: np.ndarray, volume: float, sign: float) -> float:
    """VPIN: mean |buy - sell| / V over the last n full volume buckets of size V shares.

    A trade spilling over a bucket boundary is split; sign 0 splits volume half/half.
    NaN until n buckets are full. O(volume / V) per trade.
    """
    if np.isnan(volume) or np.isnan(sign):
        return NAN
    bv = s[1]
    nb = int(s[2])
    s[0] += 1.0
    rem = volume
    while rem > 0.0:
        room = bv - (s[3] + s[4])
        take = rem if rem < room else room
        if sign > 0.0:
            s[3] += take
        elif sign < 0.0:
            s[4] += take
        else:
            s[3] += 0.5 * take
            s[4] += 0.5 * take
        rem -= take
        if take >= room:  # bucket full
            imb = abs(s[3] - s[4]) / bv
            pos = int(s[6])
            if s[5] >= nb:
                s[7] -= s[8 + pos]
            s[7] += imb
            s[8 + pos] = imb
            pos += 1
            if pos == nb:
                pos = 0
            s[6] = pos
            s[5] += 1.0
            s[3] = 0.0
            s[4] = 0.0
    if s[5] < nb:
        return NAN
    return s[7] / nb


@njit(cache=True)
def vpin_batch(
    volume: np.ndarray, sign: np.ndarray, bucket_volume: float, n_buckets: int
) -> np.ndarray:
    s = vpin_state(bucket_volume, n_buckets)
    out = np.empty(volume.shape[0])
    for i in range(volume.shape[0]):
        out[i] = vpin_update(s, volume[i], sign[i])
    return out

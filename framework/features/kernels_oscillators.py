"""Wilder-smoothed oscillators and range indicators: RSI, ATR, ADX, stochastic.

Same contract as ``kernels_trend``: ``_step`` (the rule, scalar state) / ``_state`` /
``_update`` / ``_run`` / ``_batch`` (stochastic: ``_update`` on array state, looped by
``_batch``); a NaN input yields NaN and leaves the state untouched.
Arithmetic order and seeding follow TA-Lib's C code (unstable period 0).
"""

from __future__ import annotations

import numpy as np

from framework.features.kernels_trend import sma_step
from framework.types.jit import builder, kernel, njit

NAN = np.nan
_EPS = 1e-8  # TA-Lib's TA_IS_ZERO threshold


# --------------------------------------------------------------------------- RSI
# state: [count, n, prev, gain, loss]
@builder
def rsi_state(n: int) -> np.ndarray:
    s = np.zeros(5)
    s[1] = n
    return s


@njit(cache=True, inline="always")
def rsi_step(cnt: int, prev: float, g: float, lo: float, n: int, x: float):
    """Wilder RSI in [0, 100]; seeded by the mean gain/loss of the first n changes.

    Lookback n. 0 when average gain + loss is ~0 (TA-Lib).
    """
    if np.isnan(x):
        return cnt, prev, g, lo, NAN
    if cnt == 0:
        return 1, x, g, lo, NAN
    d = x - prev
    # Branch-free split (a random walk's up/down is unpredictable for the branch predictor).
    up = d if d > 0.0 else 0.0
    dn = -d if d < 0.0 else 0.0
    if cnt < n:
        return cnt + 1, x, g + up, lo + dn, NAN
    if cnt == n:
        g = (g + up) / n
        lo = (lo + dn) / n
    else:
        # Wilder smoothing (avg * (n-1) + v) / n as avg * ((n-1)/n) + v * (1/n): one
        # multiply-add on the loop-carried chain instead of a division (~1 ulp from TA-Lib).
        a = (n - 1.0) / n
        b = 1.0 / n
        g = g * a + up * b
        lo = lo * a + dn * b
    t = g + lo
    return cnt + 1, x, g, lo, (100.0 * (g / t) if (t > _EPS or t < -_EPS) else 0.0)


@njit(cache=True, inline="always")
def rsi_update(s: np.ndarray, x: float) -> float:
    cnt, s[2], s[3], s[4], out = rsi_step(int(s[0]), s[2], s[3], s[4], int(s[1]), x)
    s[0] = cnt
    return out


@kernel
def rsi_run(s: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    cnt, prev, g, lo, n = int(s[0]), s[2], s[3], s[4], int(s[1])
    for i in range(x.shape[0]):
        cnt, prev, g, lo, out[i] = rsi_step(cnt, prev, g, lo, n, x[i])
    s[0], s[2], s[3], s[4] = cnt, prev, g, lo


@njit(cache=True)
def rsi_batch(x: np.ndarray, n: int) -> np.ndarray:
    s = rsi_state(n)
    out = np.empty(x.shape[0])
    rsi_run(s, x, out)
    return out


@njit(cache=True, inline="always")
def true_range(h: float, low: float, prev_close: float) -> float:
    """max(h - l, |h - prev_close|, |l - prev_close|) in price units."""
    tr = h - low
    a = abs(prev_close - h)
    if a > tr:
        tr = a
    a = abs(prev_close - low)
    if a > tr:
        tr = a
    return tr


# --------------------------------------------------------------------------- ATR
# state: [count, n, prev_close, atr]
@builder
def atr_state(n: int) -> np.ndarray:
    s = np.zeros(4)
    s[1] = n
    return s


@njit(cache=True, inline="always")
def atr_step(cnt: int, pc: float, atr: float, n: int, h: float, low: float, c: float):
    """Average true range (Wilder), price units; first value is the SMA of n TRs; lookback n."""
    if np.isnan(h) or np.isnan(low) or np.isnan(c):
        return cnt, pc, atr, NAN
    if cnt == 0:
        return 1, c, atr, NAN
    tr = true_range(h, low, pc)
    if n <= 1:
        return cnt + 1, c, atr, tr
    if cnt < n:
        return cnt + 1, c, atr + tr, NAN
    if cnt == n:
        atr = (atr + tr) / n
        return cnt + 1, c, atr, atr
    atr = atr * ((n - 1.0) / n) + tr * (1.0 / n)  # Wilder smoothing, as in rsi_step
    return cnt + 1, c, atr, atr


@njit(cache=True, inline="always")
def atr_update(s: np.ndarray, h: float, low: float, c: float) -> float:
    cnt, s[2], s[3], out = atr_step(int(s[0]), s[2], s[3], int(s[1]), h, low, c)
    s[0] = cnt
    return out


@kernel
def atr_run(s: np.ndarray, h: np.ndarray, low: np.ndarray, c: np.ndarray, out: np.ndarray) -> None:
    """``atr_step`` over the arrays. Once smoothing (past the seed, ``n`` > 1), a row
    whose three inputs are finite takes the smoothing alone (the same arithmetic as
    ``atr_step``'s last branch, without its warm-up tests); any other row takes the step."""
    cnt, pc, atr, n = int(s[0]), s[2], s[3], int(s[1])
    keep = (n - 1.0) / n
    w = 1.0 / n
    for i in range(c.shape[0]):
        hi, lo, cl = h[i], low[i], c[i]
        if cnt > n and n > 1 and np.isfinite(hi + lo + cl):
            atr = atr * keep + true_range(hi, lo, pc) * w
            pc = cl
            cnt += 1
            out[i] = atr
        else:
            cnt, pc, atr, out[i] = atr_step(cnt, pc, atr, n, hi, lo, cl)
    s[0], s[2], s[3] = cnt, pc, atr


@njit(cache=True)
def atr_batch(h: np.ndarray, low: np.ndarray, c: np.ndarray, n: int) -> np.ndarray:
    s = atr_state(n)
    out = np.empty(c.shape[0])
    atr_run(s, h, low, c, out)
    return out


# --------------------------------------------------------------------------- ADX
# state: [count, n, prev_high, prev_low, prev_close, plus_dm, minus_dm, tr, sum_dx, adx]
@builder
def adx_state(n: int) -> np.ndarray:
    s = np.zeros(10)
    s[1] = n
    return s


@njit(cache=True, inline="always")
def adx_step(
    cnt: int,
    ph: float,
    pl: float,
    pc: float,
    pdm: float,
    mdm: float,
    tr: float,
    sdx: float,
    adx: float,
    n: int,
    h: float,
    low: float,
    c: float,
):
    """Wilder ADX in [0, 100]; lookback 2n-1, seeded exactly as TA-Lib's ADX."""
    if np.isnan(h) or np.isnan(low) or np.isnan(c):
        return cnt, ph, pl, pc, pdm, mdm, tr, sdx, adx, NAN
    if cnt == 0:
        return 1, h, low, c, pdm, mdm, tr, sdx, adx, NAN
    dp = h - ph
    dm = pl - low
    t = true_range(h, low, pc)
    if cnt >= n:  # past the first n-1 changes the DM sums decay (Wilder)
        mdm -= mdm / n
        pdm -= pdm / n
    if dm > 0 and dp < dm:
        mdm += dm
    elif dp > 0 and dp > dm:
        pdm += dp
    if cnt < n:
        return cnt + 1, h, low, c, pdm, mdm, tr + t, sdx, adx, NAN
    tr = tr - (tr / n) + t
    dx = NAN
    if tr > _EPS or tr < -_EPS:
        mdi = 100.0 * (mdm / tr)
        pdi = 100.0 * (pdm / tr)
        u = mdi + pdi
        if u > _EPS or u < -_EPS:
            dx = 100.0 * (abs(mdi - pdi) / u)
    if cnt <= 2 * n - 1:
        if not np.isnan(dx):
            sdx += dx
        if cnt < 2 * n - 1:
            return cnt + 1, h, low, c, pdm, mdm, tr, sdx, adx, NAN
        adx = sdx / n
        return cnt + 1, h, low, c, pdm, mdm, tr, sdx, adx, adx
    if not np.isnan(dx):
        adx = ((adx * (n - 1.0)) + dx) / n
    return cnt + 1, h, low, c, pdm, mdm, tr, sdx, adx, adx


@njit(cache=True, inline="always")
def adx_update(s: np.ndarray, h: float, low: float, c: float) -> float:
    r = adx_step(int(s[0]), s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], int(s[1]), h, low, c)
    s[0], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9] = r[:9]
    return r[9]


@kernel
def adx_run(s: np.ndarray, h: np.ndarray, low: np.ndarray, c: np.ndarray, out: np.ndarray) -> None:
    cnt, ph, pl, pc, pdm, mdm, tr, sdx, adx = (
        int(s[0]),
        s[2],
        s[3],
        s[4],
        s[5],
        s[6],
        s[7],
        s[8],
        s[9],
    )
    n = int(s[1])
    for i in range(c.shape[0]):
        cnt, ph, pl, pc, pdm, mdm, tr, sdx, adx, out[i] = adx_step(
            cnt, ph, pl, pc, pdm, mdm, tr, sdx, adx, n, h[i], low[i], c[i]
        )
    s[0], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9] = cnt, ph, pl, pc, pdm, mdm, tr, sdx, adx


@njit(cache=True)
def adx_batch(h: np.ndarray, low: np.ndarray, c: np.ndarray, n: int) -> np.ndarray:
    s = adx_state(n)
    out = np.empty(c.shape[0])
    adx_run(s, h, low, c, out)
    return out


# --------------------------------------------------------------------------- stochastic
# state: [count, k, sk, sd, pos, hh, unused, ll, unused, sma_k(4+sk), sma_d(4+sd), hbuf[k], lbuf[k]]
@builder
def stoch_state(k: int, sk: int, sd: int) -> np.ndarray:
    s = np.zeros(9 + (4 + sk) + (4 + sd) + 2 * k)
    s[1] = k
    s[2] = sk
    s[3] = sd
    s[9 + 1] = sk
    s[9 + 4 + sk + 1] = sd
    return s


@njit(cache=True, inline="always")
def stoch_step(
    st,
    hb: np.ndarray,
    lb: np.ndarray,
    kb: np.ndarray,
    db: np.ndarray,
    h: float,
    low: float,
    c: float,
):
    """Slow stochastic %K and %D in [0, 100] (SMA smoothing, TA-Lib STOCH).

    ``st`` = (count, pos, hh, unused, ll, unused, then count/pos/sum of the %K and %D
    SMAs); ``hb``/``lb`` ring buffers of the last k highs/lows, ``kb``/``db`` the SMAs'.
    Lookback (k-1) + (sk-1) + (sd-1).
    """
    cnt, pos, hh, hage, ll, lage, kc, kp, ksum, dc, dp, dsum = st
    if np.isnan(h) or np.isnan(low) or np.isnan(c):
        return st, NAN, NAN
    k = hb.shape[0]
    hb[pos] = h
    lb[pos] = low
    pos += 1
    if pos == k:
        pos = 0
    cnt += 1
    if cnt < k:
        return (cnt, pos, hh, hage, ll, lage, kc, kp, ksum, dc, dp, dsum), NAN, NAN
    # Window high/low by a branch-free scan of the k-slot rings: O(k) per bar, but for
    # the usual k <= ~30 it beats tracking the extreme (whose branches a random walk
    # mispredicts); measured 2x faster at k = 5 (benchmarks/bench_features.py).
    hh = hb[0]
    ll = lb[0]
    for j in range(1, k):
        hh = max(hh, hb[j])
        ll = min(ll, lb[j])
    diff = (hh - ll) / 100.0
    fk = (c - ll) / diff if diff != 0.0 else 0.0
    kc, kp, ksum, slowk = sma_step(kc, kp, ksum, kb, fk)
    if not np.isnan(slowk):
        dc, dp, dsum, slowd = sma_step(dc, dp, dsum, db, slowk)
    else:
        slowd = NAN
    st = (cnt, pos, hh, hage, ll, lage, kc, kp, ksum, dc, dp, dsum)
    if np.isnan(slowd):
        return st, NAN, NAN
    return st, slowk, slowd


@njit(cache=True, inline="always")
def _stoch_load(s: np.ndarray):
    k, sk, sd = int(s[1]), int(s[2]), int(s[3])
    a = 9
    b = 9 + 4 + sk
    hbase = b + 4 + sd
    st = (
        int(s[0]),
        int(s[4]),
        s[5],
        int(s[6]),
        s[7],
        int(s[8]),
        int(s[a]),
        int(s[a + 2]),
        s[a + 3],
        int(s[b]),
        int(s[b + 2]),
        s[b + 3],
    )
    return (
        st,
        s[hbase : hbase + k],
        s[hbase + k : hbase + 2 * k],
        s[a + 4 : a + 4 + sk],
        s[b + 4 : b + 4 + sd],
    )


@njit(cache=True, inline="always")
def _stoch_store(s: np.ndarray, st) -> None:
    a = 9
    b = 9 + 4 + int(s[2])
    s[0], s[4], s[5], s[6], s[7], s[8] = st[0], st[1], st[2], st[3], st[4], st[5]
    s[a], s[a + 2], s[a + 3], s[b], s[b + 2], s[b + 3] = st[6], st[7], st[8], st[9], st[10], st[11]


@njit(cache=True, inline="always")
def stoch_update(s: np.ndarray, h: float, low: float, c: float) -> tuple[float, float]:
    st, hb, lb, kb, db = _stoch_load(s)
    st, k, d = stoch_step(st, hb, lb, kb, db, h, low, c)
    _stoch_store(s, st)
    return k, d


@kernel
def stoch_run(
    s: np.ndarray, h: np.ndarray, low: np.ndarray, c: np.ndarray, ok: np.ndarray, od: np.ndarray
) -> None:
    st, hb, lb, kb, db = _stoch_load(s)
    for i in range(c.shape[0]):
        st, ok[i], od[i] = stoch_step(st, hb, lb, kb, db, h[i], low[i], c[i])
    _stoch_store(s, st)


@njit(cache=True)
def stoch_batch(h: np.ndarray, low: np.ndarray, c: np.ndarray, k: int, sk: int, sd: int):
    s = stoch_state(k, sk, sd)
    m = c.shape[0]
    ok = np.empty(m)
    od = np.empty(m)
    stoch_run(s, h, low, c, ok, od)
    return ok, od

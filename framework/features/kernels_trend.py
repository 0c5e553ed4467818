"""Moving averages and price-level indicators as numba state machines.

Every indicator here is one definition in four functions:

* ``<name>_step(state_scalars..., x) -> (state_scalars..., value)``: the arithmetic, pure
  and scalar, so the loop-carried state lives in registers; the only rule;
* ``<name>_state(params) -> float64[:]``: a fresh state array (params inside it), plain
  Python unless a kernel calls it (``framework.types.jit.builder``);
* ``<name>_update(state, inputs...) -> value(s)``: one O(1) streaming step: loads the
  scalars from the array, calls ``_step``, stores them back (what the live driver calls);
* ``<name>_run(state, inputs..., out)``: many steps over arrays, carrying ``state`` in and
  out (the batch kernel and the fused feature-set pass), calling the same ``_step``.

``<name>_batch`` is ``_state`` + ``_run``. Batch and streaming therefore agree by
construction.

NaN policy (all indicators): a NaN in any input yields NaN output for that element
and leaves the state untouched, as if the bar had not happened. Warm-up counts valid
inputs only and follows TA-Lib's lookback (NaN until the lookback is reached).
The arithmetic order copies TA-Lib's C code so results match it to round-off.
"""

from __future__ import annotations

import numpy as np

from framework.types.jit import builder, kernel, njit

NAN = np.nan


@builder
def place(dst: np.ndarray, start: int, src: np.ndarray) -> None:
    """``dst[start:start + len(src)] = src`` for composing states. A loop, because numba's
    slice assignment compiles its shape-mismatch error message (~2 s of JIT, cache empty)."""
    for i in range(src.shape[0]):
        dst[start + i] = src[i]


# --------------------------------------------------------------------------- SMA
# state: [count, n, pos, sum, buf[n]]
@builder
def sma_state(n: int) -> np.ndarray:
    s = np.zeros(4 + n)
    s[1] = n
    return s


@njit(cache=True, inline="always")
def sma_step(cnt: int, pos: int, tot: float, buf: np.ndarray, x: float):
    """Simple moving average of the last n = len(buf) valid values; lookback n-1."""
    if np.isnan(x):
        return cnt, pos, tot, NAN
    n = buf.shape[0]
    cnt += 1
    tot += x
    buf[pos] = x
    pos += 1
    if pos == n:
        pos = 0
    if cnt < n:
        return cnt, pos, tot, NAN
    out = tot / n
    # TA-Lib adds the new value, emits, then drops the trailing one: same order here.
    tot -= buf[pos]
    return cnt, pos, tot, out


@njit(cache=True, inline="always")
def sma_update(s: np.ndarray, x: float) -> float:
    cnt, pos, tot, out = sma_step(int(s[0]), int(s[2]), s[3], s[4:], x)
    s[0] = cnt
    s[2] = pos
    s[3] = tot
    return out


@kernel
def sma_run(s: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    cnt, pos, tot, buf = int(s[0]), int(s[2]), s[3], s[4:]
    for i in range(x.shape[0]):
        cnt, pos, tot, out[i] = sma_step(cnt, pos, tot, buf, x[i])
    s[0] = cnt
    s[2] = pos
    s[3] = tot


@njit(cache=True)
def sma_batch(x: np.ndarray, n: int) -> np.ndarray:
    s = sma_state(n)
    out = np.empty(x.shape[0])
    sma_run(s, x, out)
    return out


# --------------------------------------------------------------------------- EMA
# state: [count, n, k, value, skip]
# ``skip`` valid inputs are ignored before the SMA seed window starts: TA-Lib's MACD
# seeds its fast EMA on the bars ending where the slow one is seeded.
@builder
def ema_state(n: int, skip: int = 0) -> np.ndarray:
    s = np.zeros(5)
    s[1] = n
    s[2] = 2.0 / (n + 1.0)
    s[4] = skip
    return s


@njit(cache=True, inline="always")
def ema_step(cnt: int, v: float, n: int, k: float, skip: int, x: float):
    """EMA with k = 2/(n+1), seeded by the SMA of the first n values (TA-Lib default)."""
    if np.isnan(x):
        return cnt, v, NAN
    cnt += 1
    c = cnt - skip
    if c <= 0:
        return cnt, v, NAN
    if c < n:
        return cnt, v + x, NAN
    if c == n:
        v = (v + x) / n
        return cnt, v, v
    v = ((x - v) * k) + v
    return cnt, v, v


@njit(cache=True, inline="always")
def ema_update(s: np.ndarray, x: float) -> float:
    cnt, v, out = ema_step(int(s[0]), s[3], int(s[1]), s[2], int(s[4]), x)
    s[0] = cnt
    s[3] = v
    return out


@kernel
def ema_run(s: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    cnt, v, n, k, skip = int(s[0]), s[3], int(s[1]), s[2], int(s[4])
    for i in range(x.shape[0]):
        cnt, v, out[i] = ema_step(cnt, v, n, k, skip, x[i])
    s[0] = cnt
    s[3] = v


@njit(cache=True)
def ema_batch(x: np.ndarray, n: int) -> np.ndarray:
    s = ema_state(n, 0)
    out = np.empty(x.shape[0])
    ema_run(s, x, out)
    return out


# --------------------------------------------------------------------------- WMA
# state: [count, n, pos, sub, wsum, trailing, buf[n]]
@builder
def wma_state(n: int) -> np.ndarray:
    s = np.zeros(6 + n)
    s[1] = n
    return s


@njit(cache=True, inline="always")
def wma_step(cnt: int, pos: int, sub: float, wsum: float, trail: float, buf: np.ndarray, x: float):
    """Linearly weighted MA (weights 1..n, newest heaviest); lookback n-1."""
    if np.isnan(x):
        return cnt, pos, sub, wsum, trail, NAN
    n = buf.shape[0]
    cnt += 1
    buf[pos] = x
    pos += 1
    if pos == n:
        pos = 0
    if cnt < n:
        return cnt, pos, sub + x, wsum + x * cnt, trail, NAN
    # TA-Lib's O(1) recurrence: the weighted sum loses the plain sum each step.
    sub += x
    sub -= trail
    wsum += x * n
    trail = buf[pos]  # oldest value of the current window leaves next step
    out = wsum / (n * (n + 1) // 2)
    wsum -= sub
    return cnt, pos, sub, wsum, trail, out


@njit(cache=True, inline="always")
def wma_update(s: np.ndarray, x: float) -> float:
    r = wma_step(int(s[0]), int(s[2]), s[3], s[4], s[5], s[6:], x)
    s[0], s[2], s[3], s[4], s[5] = r[0], r[1], r[2], r[3], r[4]
    return r[5]


@kernel
def wma_run(s: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    cnt, pos, sub, wsum, trail, buf = int(s[0]), int(s[2]), s[3], s[4], s[5], s[6:]
    for i in range(x.shape[0]):
        cnt, pos, sub, wsum, trail, out[i] = wma_step(cnt, pos, sub, wsum, trail, buf, x[i])
    s[0], s[2], s[3], s[4], s[5] = cnt, pos, sub, wsum, trail


@njit(cache=True)
def wma_batch(x: np.ndarray, n: int) -> np.ndarray:
    s = wma_state(n)
    out = np.empty(x.shape[0])
    wma_run(s, x, out)
    return out


# --------------------------------------------------------------------------- MACD
# state: [count, slow, signal, ema_fast(5), ema_slow(5), ema_signal(5)]
@builder
def macd_state(fast: int, slow: int, signal: int) -> np.ndarray:
    if slow < fast:  # TA-Lib swaps them
        fast, slow = slow, fast
    s = np.zeros(18)
    s[1] = slow
    s[2] = signal
    place(s, 3, ema_state(fast, slow - fast))
    place(s, 8, ema_state(slow, 0))
    place(s, 13, ema_state(signal, 0))
    return s


@njit(cache=True, inline="always")
def macd_step(cf: int, vf: float, cs: int, vs: float, cg: int, vg: float, s: np.ndarray, x: float):
    """MACD line, signal and histogram; lookback slow-1 + signal-1 (TA-Lib seeding).

    ``s`` is the state array, read for the (constant) EMA parameters only.
    """
    if np.isnan(x):
        return cf, vf, cs, vs, cg, vg, NAN, NAN, NAN
    cf, vf, f = ema_step(cf, vf, int(s[4]), s[5], int(s[7]), x)
    cs, vs, sl = ema_step(cs, vs, int(s[9]), s[10], 0, x)
    if np.isnan(sl):
        return cf, vf, cs, vs, cg, vg, NAN, NAN, NAN
    m = f - sl
    cg, vg, sig = ema_step(cg, vg, int(s[14]), s[15], 0, m)
    if np.isnan(sig):
        return cf, vf, cs, vs, cg, vg, NAN, NAN, NAN
    return cf, vf, cs, vs, cg, vg, m, sig, m - sig


@njit(cache=True, inline="always")
def macd_update(s: np.ndarray, x: float) -> tuple[float, float, float]:
    r = macd_step(int(s[3]), s[6], int(s[8]), s[11], int(s[13]), s[16], s, x)
    s[3], s[6], s[8], s[11], s[13], s[16] = r[0], r[1], r[2], r[3], r[4], r[5]
    return r[6], r[7], r[8]


@kernel
def macd_run(s: np.ndarray, x: np.ndarray, m: np.ndarray, sg: np.ndarray, h: np.ndarray) -> None:
    cf, vf, cs, vs, cg, vg = int(s[3]), s[6], int(s[8]), s[11], int(s[13]), s[16]
    for i in range(x.shape[0]):
        cf, vf, cs, vs, cg, vg, m[i], sg[i], h[i] = macd_step(cf, vf, cs, vs, cg, vg, s, x[i])
    s[3], s[6], s[8], s[11], s[13], s[16] = cf, vf, cs, vs, cg, vg


@njit(cache=True)
def macd_batch(x: np.ndarray, fast: int, slow: int, signal: int):
    s = macd_state(fast, slow, signal)
    n = x.shape[0]
    m = np.empty(n)
    sg = np.empty(n)
    h = np.empty(n)
    macd_run(s, x, m, sg, h)
    return m, sg, h


# --------------------------------------------------------------------------- Bollinger / z-score
# state: [count, n, pos, sum, sum2, buf[n]]
@builder
def bbands_state(n: int) -> np.ndarray:
    s = np.zeros(5 + n)
    s[1] = n
    return s


@njit(cache=True, inline="always")
def mean_std_step(cnt: int, pos: int, s1: float, s2: float, buf: np.ndarray, x: float):
    """Rolling mean and population std dev (TA-Lib STDDEV); lookback n-1.

    The std dev is 0 when the variance is below 1e-8, as in TA-Lib.
    """
    if np.isnan(x):
        return cnt, pos, s1, s2, NAN, NAN
    n = buf.shape[0]
    cnt += 1
    s1 += x
    s2 += x * x
    buf[pos] = x
    pos += 1
    if pos == n:
        pos = 0
    if cnt < n:
        return cnt, pos, s1, s2, NAN, NAN
    mean = s1 / n
    m2 = s2 / n
    old = buf[pos]
    s1 -= old
    s2 -= old * old
    var = m2 - mean * mean
    sd = np.sqrt(var) if var >= 1e-8 else 0.0
    return cnt, pos, s1, s2, mean, sd


@njit(cache=True, inline="always")
def bbands_step(cnt, pos, s1, s2, buf, k_up: float, k_dn: float, x: float):
    """Bollinger upper, middle (SMA), lower: middle -/+ k * population std dev."""
    cnt, pos, s1, s2, mid, sd = mean_std_step(cnt, pos, s1, s2, buf, x)
    return cnt, pos, s1, s2, mid + k_up * sd, mid, mid - k_dn * sd


@njit(cache=True, inline="always")
def bbands_update(s: np.ndarray, x: float, k_up: float, k_dn: float):
    r = bbands_step(int(s[0]), int(s[2]), s[3], s[4], s[5:], k_up, k_dn, x)
    s[0], s[2], s[3], s[4] = r[0], r[1], r[2], r[3]
    return r[4], r[5], r[6]


@kernel
def bbands_run(
    s: np.ndarray,
    x: np.ndarray,
    k_up: float,
    k_dn: float,
    up: np.ndarray,
    mid: np.ndarray,
    lo: np.ndarray,
) -> None:
    cnt, pos, s1, s2, buf = int(s[0]), int(s[2]), s[3], s[4], s[5:]
    for i in range(x.shape[0]):
        cnt, pos, s1, s2, up[i], mid[i], lo[i] = bbands_step(
            cnt, pos, s1, s2, buf, k_up, k_dn, x[i]
        )
    s[0], s[2], s[3], s[4] = cnt, pos, s1, s2


@njit(cache=True)
def bbands_batch(x: np.ndarray, n: int, k_up: float, k_dn: float):
    s = bbands_state(n)
    m = x.shape[0]
    up = np.empty(m)
    mid = np.empty(m)
    lo = np.empty(m)
    bbands_run(s, x, k_up, k_dn, up, mid, lo)
    return up, mid, lo


@njit(cache=True, inline="always")
def zscore_step(cnt, pos, s1, s2, buf, x: float):
    """(x - rolling mean) / rolling population std dev over n; NaN when std is 0."""
    cnt, pos, s1, s2, mean, sd = mean_std_step(cnt, pos, s1, s2, buf, x)
    if np.isnan(mean) or sd == 0.0:
        return cnt, pos, s1, s2, NAN
    return cnt, pos, s1, s2, (x - mean) / sd


@njit(cache=True, inline="always")
def zscore_update(s: np.ndarray, x: float) -> float:
    r = zscore_step(int(s[0]), int(s[2]), s[3], s[4], s[5:], x)
    s[0], s[2], s[3], s[4] = r[0], r[1], r[2], r[3]
    return r[4]


@kernel
def zscore_run(s: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    cnt, pos, s1, s2, buf = int(s[0]), int(s[2]), s[3], s[4], s[5:]
    for i in range(x.shape[0]):
        cnt, pos, s1, s2, out[i] = zscore_step(cnt, pos, s1, s2, buf, x[i])
    s[0], s[2], s[3], s[4] = cnt, pos, s1, s2


@njit(cache=True)
def zscore_batch(x: np.ndarray, n: int) -> np.ndarray:
    s = bbands_state(n)
    out = np.empty(x.shape[0])
    zscore_run(s, x, out)
    return out


# --------------------------------------------------------------------------- ROC / MOM
# state: [count, n, pos, buf[n]]
@builder
def lag_state(n: int) -> np.ndarray:
    s = np.zeros(3 + n)
    s[1] = n
    return s


@njit(cache=True, inline="always")
def lag_step(cnt: int, pos: int, buf: np.ndarray, x: float):
    """Stores x; returns the valid value n = len(buf) steps back (NaN in warm-up)."""
    n = buf.shape[0]
    prev = buf[pos] if cnt >= n else NAN
    buf[pos] = x
    pos += 1
    if pos == n:
        pos = 0
    return cnt + 1, pos, prev


@njit(cache=True, inline="always")
def roc_step(cnt: int, pos: int, buf: np.ndarray, x: float):
    """Rate of change in percent: (x / x[n] - 1) * 100 (TA-Lib ROC); 0 if x[n] == 0."""
    if np.isnan(x):
        return cnt, pos, NAN
    cnt, pos, prev = lag_step(cnt, pos, buf, x)
    if np.isnan(prev):
        return cnt, pos, NAN
    return cnt, pos, ((x / prev) - 1.0) * 100.0 if prev != 0.0 else 0.0


@njit(cache=True, inline="always")
def mom_step(cnt: int, pos: int, buf: np.ndarray, x: float):
    """Momentum: x - x[n] in price units (TA-Lib MOM)."""
    if np.isnan(x):
        return cnt, pos, NAN
    cnt, pos, prev = lag_step(cnt, pos, buf, x)
    return cnt, pos, x - prev


@njit(cache=True, inline="always")
def roc_update(s: np.ndarray, x: float) -> float:
    cnt, pos, out = roc_step(int(s[0]), int(s[2]), s[3:], x)
    s[0], s[2] = cnt, pos
    return out


@njit(cache=True, inline="always")
def mom_update(s: np.ndarray, x: float) -> float:
    cnt, pos, out = mom_step(int(s[0]), int(s[2]), s[3:], x)
    s[0], s[2] = cnt, pos
    return out


# rows per block of ``_lag_run``'s direct path (32 KB: a block redone stays in L1)
_LAG_BLOCK = 4096


@njit(cache=True, inline="always")
def _lag_block(cur, back, dst, pct):
    """``dst = cur - back`` (MOM) or TA-Lib ROC's ``(cur / back - 1) * 100``, 0 where
    ``back`` is 0 (``pct``), vectorised; returns non-zero when ``cur`` holds a NaN."""
    bad = 0
    if pct:
        for k in range(dst.shape[0]):
            b = back[k]
            r = ((cur[k] / b) - 1.0) * 100.0
            dst[k] = r if b != 0.0 else 0.0
            bad |= np.int64(cur[k] != cur[k])  # an integer OR: vectorised too
    else:
        for k in range(dst.shape[0]):
            dst[k] = cur[k] - back[k]
            bad |= np.int64(cur[k] != cur[k])
    return bad


@njit(cache=True, inline="always")
def _lag_run(s: np.ndarray, x: np.ndarray, out: np.ndarray, pct: bool) -> None:
    """``roc_step`` (``pct``) or ``mom_step`` over ``x``, a block at a time. Where the
    block and the ``n`` values before it are NaN-free and in ``x``, the value ``n`` valid
    steps back is ``x[j - n]``: the same formula without the ring, vectorised, with a NaN
    check in the same pass (a block holding a NaN is redone step by step); the ring is
    then refilled with the block's last ``n`` values, where the step would have left
    them."""
    cnt, pos, buf = int(s[0]), int(s[2]), s[3:]
    n = buf.shape[0]
    clean = 0  # NaN-free values of x just before row i
    i = 0
    while i < x.shape[0]:
        hi = min(i + _LAG_BLOCK, x.shape[0])
        bad = 1
        if clean >= n:
            # views indexed from 0: LLVM sees no negative index to wrap, and vectorises
            bad = _lag_block(x[i:hi], x[i - n:hi - n], out[i:hi], pct)
        if bad == 0:
            first = max(i, hi - n)
            pos = (pos + first - i) % n
            for j in range(first, hi):
                buf[pos] = x[j]
                pos += 1
                if pos == n:
                    pos = 0
            cnt += hi - i
            clean += hi - i
        else:
            for j in range(i, hi):
                if pct:
                    cnt, pos, out[j] = roc_step(cnt, pos, buf, x[j])
                else:
                    cnt, pos, out[j] = mom_step(cnt, pos, buf, x[j])
                clean = 0 if np.isnan(x[j]) else clean + 1
        i = hi
    s[0], s[2] = cnt, pos


@kernel(error_model="numpy")
def roc_run(s: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    """``roc_step`` over ``x`` (``_lag_run``'s blocks). numba's default error model checks
    every division for a zero divisor (to raise as Python does), which stops LLVM from
    vectorising the block loop; a zero ``x[n]`` is replaced by 0 after the division."""
    _lag_run(s, x, out, True)


@kernel
def mom_run(s: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    """``mom_step`` over ``x`` (``_lag_run``'s blocks)."""
    _lag_run(s, x, out, False)


@njit(cache=True)
def roc_batch(x: np.ndarray, n: int) -> np.ndarray:
    s = lag_state(n)
    out = np.empty(x.shape[0])
    roc_run(s, x, out)
    return out


@njit(cache=True)
def mom_batch(x: np.ndarray, n: int) -> np.ndarray:
    s = lag_state(n)
    out = np.empty(x.shape[0])
    mom_run(s, x, out)
    return out


# --------------------------------------------------------------------------- OBV
# state: [count, prev_close, obv]
@builder
def obv_state() -> np.ndarray:
    return np.zeros(3)


@njit(cache=True, inline="always")
def obv_step(cnt: int, prev: float, obv: float, close: float, volume: float):
    """On-balance volume in shares, starting at the first bar's volume (TA-Lib OBV)."""
    if np.isnan(close) or np.isnan(volume):
        return cnt, prev, obv, NAN
    if cnt == 0:
        obv = volume
    elif close > prev:
        obv += volume
    elif close < prev:
        obv -= volume
    return cnt + 1, close, obv, obv


@njit(cache=True, inline="always")
def obv_update(s: np.ndarray, close: float, volume: float) -> float:
    cnt, s[1], s[2], out = obv_step(int(s[0]), s[1], s[2], close, volume)
    s[0] = cnt
    return out


@kernel
def obv_run(s: np.ndarray, close: np.ndarray, volume: np.ndarray, out: np.ndarray) -> None:
    cnt, prev, obv = int(s[0]), s[1], s[2]
    for i in range(close.shape[0]):
        cnt, prev, obv, out[i] = obv_step(cnt, prev, obv, close[i], volume[i])
    s[0], s[1], s[2] = cnt, prev, obv


@njit(cache=True)
def obv_batch(close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    s = obv_state()
    out = np.empty(close.shape[0])
    obv_run(s, close, volume, out)
    return out


# --------------------------------------------------------------------------- rolling VWAP
# state: [count, n, pos, sum_pv, sum_v, buf_pv[n], buf_v[n]]
@builder
def vwap_state(n: int) -> np.ndarray:
    s = np.zeros(5 + 2 * n)
    s[1] = n
    return s


@njit(cache=True, inline="always")
def vwap_update(s: np.ndarray, price: float, volume: float) -> float:
    """Volume-weighted average price of the last n bars; NaN when their volume is 0."""
    if np.isnan(price) or np.isnan(volume):
        return NAN
    n = int(s[1])
    pos = int(s[2])
    cnt = s[0] + 1.0
    s[0] = cnt
    pv = price * volume
    s[3] += pv
    s[4] += volume
    s[5 + pos] = pv
    s[5 + n + pos] = volume
    pos += 1
    if pos == n:
        pos = 0
    s[2] = pos
    if cnt < n:
        return NAN
    out = s[3] / s[4] if s[4] > 0.0 else NAN
    s[3] -= s[5 + pos]
    s[4] -= s[5 + n + pos]
    return out


@kernel
def vwap_run(s: np.ndarray, price: np.ndarray, volume: np.ndarray, out: np.ndarray) -> None:
    for i in range(price.shape[0]):
        out[i] = vwap_update(s, price[i], volume[i])


@njit(cache=True)
def vwap_batch(price: np.ndarray, volume: np.ndarray, n: int) -> np.ndarray:
    out = np.empty(price.shape[0])
    vwap_run(vwap_state(n), price, volume, out)
    return out


# --------------------------------------------------------------------------- log return
# state: [count, prev]
@builder
def logret_state() -> np.ndarray:
    return np.zeros(2)


@njit(cache=True, inline="always")
def logret_update(s: np.ndarray, x: float) -> float:
    """ln(x / previous valid x); lookback 1."""
    if np.isnan(x):
        return NAN
    prev = s[1]
    first = s[0] == 0.0
    s[0] += 1.0
    s[1] = x
    if first:
        return NAN
    return np.log(x / prev)


@kernel
def logret_run(s: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    for i in range(x.shape[0]):
        out[i] = logret_update(s, x[i])


@njit(cache=True)
def logret_batch(x: np.ndarray) -> np.ndarray:
    out = np.empty(x.shape[0])
    logret_run(logret_state(), x, out)
    return out

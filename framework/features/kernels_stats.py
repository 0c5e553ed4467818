"""Rolling statistics: realized volatility, correlation, beta, skew, kurtosis.

Same contract as ``kernels_trend`` (``_state`` / ``_update`` / ``_batch``; a NaN in any
input gives NaN and leaves the state alone). Volatilities are per bar (not annualised)
and in units of log return.
"""

from __future__ import annotations

import numpy as np

from framework.features.kernels_trend import sma_state, sma_update
from framework.types.jit import builder, kernel, njit

NAN = np.nan
_LN2 = np.log(2.0)


# --------------------------------------------------------------------------- close-to-close
# state: [count, n, pos, prev, s1, s2, buf[n]]
@builder
def realized_vol_state(n: int) -> np.ndarray:
    s = np.zeros(6 + n)
    s[1] = n
    return s


@njit(cache=True, inline="always")
def realized_vol_step(
    cnt: int, pos: int, prev: float, s1: float, s2: float, buf: np.ndarray, close: float
):
    """Sample std dev (ddof=1) of the last n = len(buf) log returns; lookback n closes."""
    if np.isnan(close):
        return cnt, pos, prev, s1, s2, NAN
    if cnt == 0:
        return 1, pos, close, s1, s2, NAN
    r = np.log(close / prev)
    n = buf.shape[0]
    s1 += r
    s2 += r * r
    buf[pos] = r
    pos += 1
    if pos == n:
        pos = 0
    if cnt < n:
        return cnt + 1, pos, close, s1, s2, NAN
    var = (s2 - s1 * s1 / n) / (n - 1.0)
    old = buf[pos]
    s1 -= old
    s2 -= old * old
    return cnt + 1, pos, close, s1, s2, (np.sqrt(var) if var > 0.0 else 0.0)


@njit(cache=True, inline="always")
def realized_vol_update(s: np.ndarray, close: float) -> float:
    r = realized_vol_step(int(s[0]), int(s[2]), s[3], s[4], s[5], s[6:], close)
    s[0], s[2], s[3], s[4], s[5] = r[0], r[1], r[2], r[3], r[4]
    return r[5]


@kernel
def realized_vol_run(s: np.ndarray, c: np.ndarray, out: np.ndarray) -> None:
    cnt, pos, prev, s1, s2, buf = int(s[0]), int(s[2]), s[3], s[4], s[5], s[6:]
    for i in range(c.shape[0]):
        cnt, pos, prev, s1, s2, out[i] = realized_vol_step(cnt, pos, prev, s1, s2, buf, c[i])
    s[0], s[2], s[3], s[4], s[5] = cnt, pos, prev, s1, s2


@njit(cache=True)
def realized_vol_batch(c: np.ndarray, n: int) -> np.ndarray:
    s = realized_vol_state(n)
    out = np.empty(c.shape[0])
    realized_vol_run(s, c, out)
    return out


# --------------------------------------------------------------------------- range estimators
# Both keep a rolling mean of a per-bar term in an SMA state.
@builder
def parkinson_state(n: int) -> np.ndarray:
    return sma_state(n)


@njit(cache=True, inline="always")
def parkinson_update(s: np.ndarray, h: float, low: float) -> float:
    """Parkinson volatility sqrt(mean(ln(H/L)^2) / (4 ln 2)); lookback n-1."""
    if np.isnan(h) or np.isnan(low):
        return NAN
    hl = np.log(h / low)
    m = sma_update(s, hl * hl)
    return np.sqrt(m / (4.0 * _LN2))


@kernel
def parkinson_run(s: np.ndarray, h: np.ndarray, low: np.ndarray, out: np.ndarray) -> None:
    for i in range(h.shape[0]):
        out[i] = parkinson_update(s, h[i], low[i])


@njit(cache=True)
def parkinson_batch(h: np.ndarray, low: np.ndarray, n: int) -> np.ndarray:
    out = np.empty(h.shape[0])
    parkinson_run(parkinson_state(n), h, low, out)
    return out


@builder
def garman_klass_state(n: int) -> np.ndarray:
    return sma_state(n)


@njit(cache=True, inline="always")
def garman_klass_update(s: np.ndarray, o: float, h: float, low: float, c: float) -> float:
    """Garman-Klass volatility sqrt(mean(0.5 ln(H/L)^2 - (2 ln2 - 1) ln(C/O)^2)); lookback n-1."""
    if np.isnan(o) or np.isnan(h) or np.isnan(low) or np.isnan(c):
        return NAN
    hl = np.log(h / low)
    co = np.log(c / o)
    m = sma_update(s, 0.5 * hl * hl - (2.0 * _LN2 - 1.0) * co * co)
    if np.isnan(m):
        return NAN
    return np.sqrt(m) if m > 0.0 else 0.0


@kernel
def garman_klass_run(
    s: np.ndarray, o: np.ndarray, h: np.ndarray, low: np.ndarray, c: np.ndarray, out: np.ndarray
) -> None:
    for i in range(c.shape[0]):
        out[i] = garman_klass_update(s, o[i], h[i], low[i], c[i])


@njit(cache=True)
def garman_klass_batch(
    o: np.ndarray, h: np.ndarray, low: np.ndarray, c: np.ndarray, n: int
) -> np.ndarray:
    out = np.empty(c.shape[0])
    garman_klass_run(garman_klass_state(n), o, h, low, c, out)
    return out


# --------------------------------------------------------------------------- correlation
# Running sums of n values go wrong in two ways on long series (TA-Lib issue #242): raw
# price levels make sumX2 - sumX^2/n a difference of two ~n*mean^2 numbers, so a small
# spread keeps only a few significant digits; and the add/remove round-off of millions
# of updates drifts. Like TA-Lib (from 0.7), both kernels below sum DEVIATIONS from a
# shift (first the window's first value, later the window mean) and rebuild the sums
# with a fresh two-pass over the ring buffer when a sum of squares has cancelled below
# 1e-6 of its raw scale, when the value that just left dwarfed the rest, or every 32
# windows. The zero guard is relative to each sum's own scale (1e-14, TA_EPSILON): an
# absolute 1e-8 band rejected well-defined small variances (beta 0.0 where TA-Lib gave
# 26.1). Same operations in the same order as TA-Lib's C, so results agree to the bit
# on the parity series; the streaming form is the batch form (one update per bar).
_TA_EPS = 1e-14  # TA-Lib's TA_EPSILON: the relative zero guard
_RESEED_WINDOWS = 32  # rebuild the sums at least every 32 windows
_CANCEL = 1e-6  # a sum of squares below this fraction of its raw scale has cancelled

# state: [count, n, pos, shiftX, shiftY, sX, sY, sXX, sYY, sXY, leaveX, leaveY, reseed,
#         bufx[n], bufy[n]]  (buffers hold the raw values, oldest at pos once full)
_C0 = 13


@builder
def corr_state(n: int) -> np.ndarray:
    s = np.zeros(_C0 + 2 * n)
    s[1] = n
    return s


@njit(cache=True, inline="always")
def _ring_sums(s: np.ndarray, base: int, n: int, pos: int):
    """Sums of the two n-slot rings at ``s[base:]``, oldest (slot ``pos``) first."""
    sx = 0.0
    sy = 0.0
    for k in range(n):
        j = (pos + k) % n
        sx += s[base + j]
        sy += s[base + n + j]
    return sx, sy


@kernel
def _corr_reseed(s: np.ndarray, n: int, pos: int):
    """Shift to the window means and rebuild the five sums (oldest value first):
    (shiftX, shiftY, sX, sY, sXX, sYY, sXY)."""
    inv = 1.0 / n
    mx, my = _ring_sums(s, _C0, n, pos)
    hx = mx * inv
    hy = my * inv
    sx = sy = sxx = syy = sxy = 0.0
    for k in range(n):
        j = (pos + k) % n
        x = s[_C0 + j] - hx
        sx += x
        sxx += x * x
        y = s[_C0 + n + j] - hy
        sxy += x * y
        sy += y
        syy += y * y
    return hx, hy, sx, sy, sxx, syy, sxy


@njit(cache=True, inline="always")
def _corr_load(s: np.ndarray):
    """The state's scalars as a tuple: (count, pos, shiftX, shiftY, sX, sY, sXX, sYY, sXY,
    leaveX, leaveY, reseed); a loop carries them in registers (``corr_run``)."""
    return (s[0], int(s[2]), s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12])


@njit(cache=True, inline="always")
def _corr_store(s: np.ndarray, v) -> None:
    s[0], s[2], s[3], s[4], s[5], s[6] = v[0], v[1], v[2], v[3], v[4], v[5]
    s[7], s[8], s[9], s[10], s[11], s[12] = v[6], v[7], v[8], v[9], v[10], v[11]


@njit(cache=True, inline="always")
def _corr_step(s: np.ndarray, n: int, v, x: float, y: float):
    """Pearson correlation of the last n (x, y) pairs (TA-Lib CORREL); lookback n-1.

    ``v``: the scalars of ``_corr_load``; ``s`` keeps the rings. Returns (new ``v``,
    value). 0.0 where either variance is zero relative to its own scale; clamped to
    [-1, 1]."""
    cnt, pos, hx, hy, sx, sy, sxx, syy, sxy, lx, ly, rs = v
    if np.isnan(x) or np.isnan(y):
        return v, NAN
    cnt += 1.0
    if cnt == 1.0:  # anchor the shift on the first value
        hx = x
        hy = y
    s[_C0 + pos] = x
    s[_C0 + n + pos] = y
    pos += 1
    if pos == n:
        pos = 0  # the oldest value of the window (the one that leaves next)
    dx = x - hx
    sx += dx
    sxx += dx * dx
    dy = y - hy
    sxy += dx * dy
    sy += dy
    syy += dy * dy
    if cnt < n:
        return (cnt, pos, hx, hy, sx, sy, sxx, syy, sxy, lx, ly, rs), NAN
    if cnt == n:
        rs = float(_RESEED_WINDOWS * n)
    inv = 1.0 / n
    ssx = sxx - ((sx * sx) * inv)
    ssy = syy - ((sy * sy) * inv)
    spxy = sxy - ((sx * sy) * inv)
    rs -= 1.0
    if (ssx < _CANCEL * sxx or ssy < _CANCEL * syy or lx > 1e6 * sxx
            or ly > 1e6 * syy or rs <= 0.0):
        rs = float(_RESEED_WINDOWS * n)
        hx, hy, sx, sy, sxx, syy, sxy = _corr_reseed(s, n, pos)
        ssx = max(sxx - ((sx * sx) * inv), 0.0)
        ssy = max(syy - ((sy * sy) * inv), 0.0)
        spxy = sxy - ((sx * sy) * inv)
    tx = s[_C0 + pos] - hx
    ty = s[_C0 + n + pos] - hy
    out = 0.0
    if ssx > _TA_EPS * sxx and ssy > _TA_EPS * syy:
        out = min(max(spxy / np.sqrt(ssx * ssy), -1.0), 1.0)
    lx = tx * tx
    ly = ty * ty
    sx -= tx
    sxx -= lx
    sxy -= tx * ty
    sy -= ty
    syy -= ly
    return (cnt, pos, hx, hy, sx, sy, sxx, syy, sxy, lx, ly, rs), out


@njit(cache=True, inline="always")
def corr_update(s: np.ndarray, x: float, y: float) -> float:
    """One streaming step of ``_corr_step`` (TA-Lib CORREL)."""
    v, out = _corr_step(s, int(s[1]), _corr_load(s), x, y)
    _corr_store(s, v)
    return out


@kernel
def corr_run(s: np.ndarray, x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    """``_corr_step`` over the arrays, the sums in registers (TA-Lib CORREL)."""
    n = int(s[1])
    v = _corr_load(s)
    for i in range(x.shape[0]):
        v, out[i] = _corr_step(s, n, v, x[i], y[i])
    _corr_store(s, v)


@njit(cache=True)
def corr_batch(x: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    out = np.empty(x.shape[0])
    corr_run(corr_state(n), x, y, out)
    return out


# --------------------------------------------------------------------------- beta
# state: [count, n, pos, prev_m, prev_a, shiftX, shiftY, sXX, sXY, sX, sY, leaveXX, reseed,
#         sYY, leaveYY, bufx[n], bufy[n]]  (buffers: raw simple returns, market x / asset y;
#         sYY exists only to scale the asset-side outlier trigger, as in TA-Lib)
_B0 = 15


@builder
def beta_state(n: int) -> np.ndarray:
    s = np.zeros(_B0 + 2 * n)
    s[1] = n
    return s


@njit(cache=True, inline="always")
def _simple_return(x: float, prev: float) -> float:
    """(x - prev) / prev; 0.0 only when prev is exactly 0 (a small quoted price is a
    price, not a missing one: TA-Lib issue #253)."""
    return (x - prev) / prev if prev != 0.0 else 0.0


@kernel
def _beta_reseed(s: np.ndarray, n: int, pos: int):
    """Shift to the window's mean returns and rebuild the five sums (oldest first):
    (shiftX, shiftY, sXX, sYY, sXY, sX, sY)."""
    fn = float(n)
    mx, my = _ring_sums(s, _B0, n, pos)
    hx = mx / fn
    hy = my / fn
    sxx = syy = sxy = sx = sy = 0.0
    for k in range(n):
        j = (pos + k) % n
        x = s[_B0 + j] - hx
        y = s[_B0 + n + j] - hy
        sxx += x * x
        syy += y * y
        sxy += x * y
        sx += x
        sy += y
    return hx, hy, sxx, syy, sxy, sx, sy


@njit(cache=True, inline="always")
def _beta_load(s: np.ndarray):
    """The state's scalars as a tuple: (count, pos, prev_m, prev_a, shiftX, shiftY, sXX,
    sXY, sX, sY, leaveXX, reseed, sYY, leaveYY); a loop carries them in registers
    (``beta_run``)."""
    return (s[0], int(s[2]), s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12],
            s[13], s[14])


@njit(cache=True, inline="always")
def _beta_store(s: np.ndarray, v) -> None:
    s[0], s[2], s[3], s[4], s[5], s[6], s[7] = v[0], v[1], v[2], v[3], v[4], v[5], v[6]
    s[8], s[9], s[10], s[11], s[12], s[13], s[14] = v[7], v[8], v[9], v[10], v[11], v[12], v[13]


@njit(cache=True, inline="always")
def _beta_step(s: np.ndarray, n: int, v, asset: float, market: float):
    """OLS beta of the asset's simple returns on the market's over n returns; lookback n.

    Same arithmetic as TA-Lib ``BETA(market, asset, n)`` (TA-Lib divides by the
    variance of its first argument); 0.0 where the market variance is zero relative to
    its own scale. Both sides have an outlier trigger: a bad asset tick corrupts the
    covariance sums as much as a bad market tick corrupts the variance.
    ``v``: the scalars of ``_beta_load``; ``s`` keeps the rings. Returns (new ``v``, value).
    """
    cnt, pos, pm, pa, hx, hy, sxx, sxy, sx, sy, lxx, rs, syy, lyy = v
    if np.isnan(asset) or np.isnan(market):
        return v, NAN
    seen = cnt
    cnt += 1.0
    rx = _simple_return(market, pm)
    ry = _simple_return(asset, pa)
    pm = market
    pa = asset
    if seen == 0.0:
        return (cnt, pos, pm, pa, hx, hy, sxx, sxy, sx, sy, lxx, rs, syy, lyy), NAN
    if seen == 1.0:  # anchor the shift on the first return
        hx = rx
        hy = ry
    s[_B0 + pos] = rx
    s[_B0 + n + pos] = ry
    pos += 1
    if pos == n:
        pos = 0
    x = rx - hx
    y = ry - hy
    sxx += x * x
    syy += y * y
    sxy += x * y
    sx += x
    sy += y
    if seen < n:
        return (cnt, pos, pm, pa, hx, hy, sxx, sxy, sx, sy, lxx, rs, syy, lyy), NAN
    if seen == n:
        rs = float(_RESEED_WINDOWS * n)
    fn = float(n)
    scale = fn * sxx
    denom = scale - (sx * sx)
    rs -= 1.0
    if (denom < _CANCEL * scale or lxx > 1000.0 * sxx or lyy > 1000.0 * syy
            or rs <= 0.0):
        rs = float(_RESEED_WINDOWS * n)
        hx, hy, sxx, syy, sxy, sx, sy = _beta_reseed(s, n, pos)
        scale = fn * sxx
        denom = max(scale - (sx * sx), 0.0)
    x = s[_B0 + pos] - hx
    y = s[_B0 + n + pos] - hy
    out = ((fn * sxy) - (sx * sy)) / denom if denom > _TA_EPS * scale else 0.0
    lxx = x * x
    lyy = y * y
    sxx -= x * x
    syy -= y * y
    sxy -= x * y
    sx -= x
    sy -= y
    return (cnt, pos, pm, pa, hx, hy, sxx, sxy, sx, sy, lxx, rs, syy, lyy), out


@njit(cache=True, inline="always")
def beta_update(s: np.ndarray, asset: float, market: float) -> float:
    """One streaming step of ``_beta_step`` (TA-Lib BETA(market, asset, n))."""
    v, out = _beta_step(s, int(s[1]), _beta_load(s), asset, market)
    _beta_store(s, v)
    return out


@kernel
def beta_run(s: np.ndarray, asset: np.ndarray, market: np.ndarray, out: np.ndarray) -> None:
    """``_beta_step`` over the arrays, the sums in registers (TA-Lib BETA)."""
    n = int(s[1])
    v = _beta_load(s)
    for i in range(asset.shape[0]):
        v, out[i] = _beta_step(s, n, v, asset[i], market[i])
    _beta_store(s, v)


@njit(cache=True)
def beta_batch(asset: np.ndarray, market: np.ndarray, n: int) -> np.ndarray:
    out = np.empty(asset.shape[0])
    beta_run(beta_state(n), asset, market, out)
    return out


# --------------------------------------------------------------------------- skew / kurtosis
# state: [count, n, pos, shift, s1, s2, s3, s4, buf[n]]; values are stored minus
# ``shift`` (first the first input, then the window mean, re-based every n updates) so
# the power sums of price levels keep precision.
@builder
def moments_state(n: int) -> np.ndarray:
    s = np.zeros(8 + n)
    s[1] = n
    return s


@njit(cache=True)
def _rebase_moments(s: np.ndarray, n: int, mu: float) -> None:
    # Every n updates re-centre on the window mean and re-sum the kept n-1 values:
    # amortised O(1), and the power sums stay central so prices keep full precision.
    pos = int(s[2])
    s[3] += mu
    s[4] = 0.0
    s[5] = 0.0
    s[6] = 0.0
    s[7] = 0.0
    for j in range(n):
        d = s[8 + j] - mu
        s[8 + j] = d
        if j != pos:  # the slot at pos is the value that just left the window
            d2 = d * d
            s[4] += d
            s[5] += d2
            s[6] += d2 * d
            s[7] += d2 * d2


@njit(cache=True, inline="always")
def moments_update(s: np.ndarray, x: float) -> tuple[float, float]:
    """Rolling bias-corrected skewness and excess kurtosis (pandas' definitions).

    Lookback n-1; NaN when the window is constant. Kurtosis needs n >= 4, skew n >= 3.
    """
    if np.isnan(x):
        return NAN, NAN
    n = int(s[1])
    pos = int(s[2])
    cnt = s[0] + 1.0
    s[0] = cnt
    if cnt == 1.0:
        s[3] = x
    d = x - s[3]
    d2 = d * d
    s[4] += d
    s[5] += d2
    s[6] += d2 * d
    s[7] += d2 * d2
    s[8 + pos] = d
    pos += 1
    if pos == n:
        pos = 0
    s[2] = pos
    if cnt < n:
        return NAN, NAN
    fn = float(n)
    mu = s[4] / fn
    e2 = s[5] / fn
    e3 = s[6] / fn
    e4 = s[7] / fn
    m2 = e2 - mu * mu
    m3 = e3 - 3.0 * mu * e2 + 2.0 * mu * mu * mu
    m4 = e4 - 4.0 * mu * e3 + 6.0 * mu * mu * e2 - 3.0 * mu * mu * mu * mu
    old = s[8 + pos]
    o2 = old * old
    s[4] -= old
    s[5] -= o2
    s[6] -= o2 * old
    s[7] -= o2 * o2
    if pos == 0:
        _rebase_moments(s, n, mu)
    if m2 <= 1e-14 * (e2 + 1e-300):  # constant window (up to round-off)
        return NAN, NAN
    sk = NAN
    if n >= 3:
        sk = np.sqrt(fn * (fn - 1.0)) / (fn - 2.0) * m3 / (m2**1.5)
    ku = NAN
    if n >= 4:
        g2 = m4 / (m2 * m2) - 3.0
        ku = ((fn + 1.0) * g2 + 6.0) * (fn - 1.0) / ((fn - 2.0) * (fn - 3.0))
    return sk, ku


@njit(cache=True)
def skew_update(s: np.ndarray, x: float) -> float:
    return moments_update(s, x)[0]


@njit(cache=True)
def kurt_update(s: np.ndarray, x: float) -> float:
    return moments_update(s, x)[1]


@kernel
def moments_run(s: np.ndarray, x: np.ndarray, out: np.ndarray, which: int) -> None:
    """One of the two moments over ``x``: ``which`` 0 = skewness, 1 = excess kurtosis."""
    for i in range(x.shape[0]):
        out[i] = moments_update(s, x[i])[which]


@njit(cache=True)
def moments_batch(x: np.ndarray, n: int):
    s = moments_state(n)
    sk = np.empty(x.shape[0])
    ku = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        sk[i], ku[i] = moments_update(s, x[i])
    return sk, ku

"""Numba kernels of the synthetic market generator (pure functions over arrays).

Model, per minute m of session d: market factor return f = sqrt(hf) * z (GARCH(1,1) in hf,
plus rare market jumps); symbol return r = beta * f + sqrt(h) * e (+ idiosyncratic jump),
h GARCH(1,1). Trades per minute ~ Poisson(lam * U(m) * (0.5 + 0.5 * vol ratio)) with a
U-shaped U; trade times are uniform order statistics inside the minute; the mid follows a
Brownian bridge between minute closes; the spread widens with the vol ratio; trades print
at the bid or the ask. Overnight: a factor gap and an idiosyncratic gap, applied before the
open (the first minute bridges from the gapped level, not from the previous close).

Planted effect (optional, off unless ``shock_prob`` > 0; ``framework.data.settings.
PlantedEffects``): in a minute with probability ``shock_prob`` a liquidity shock pushes the
log price by ``shock_sigma * z`` and multiplies the minute's expected trade count by
``shock_volume``; with ``revert`` > 0 (and, with ``high_vol_only``, only while the
symbol's GARCH variance is above its long-run level) the next ``revert_minutes`` minutes
add ``-revert * push / revert_minutes`` each, so a fraction ``revert`` of the push
reverts, in expectation, by construction; never past the session's close. With
``revert`` = 0 the shocks are permanent: the null universe, the same draws, nothing to
find. With ``shock_prob`` = 0 no extra random number is drawn (the stream is unchanged).
"""

from __future__ import annotations

import numpy as np

from framework.types.jit import njit

NS_MIN = 60_000_000_000
TICK = 0.01


@njit(cache=True)
def factor_paths(seed, n_min, sigma_min, gap_sigma, jump_prob, jump_sigma):
    """Market factor: per-minute log returns ``ret[d, m]``, conditional variance ``var[d, m]``
    and overnight gaps ``gap[d]`` (applied before session d). ``n_min[d]`` minutes per session."""
    np.random.seed(seed)
    n_days = n_min.shape[0]
    max_m = 0
    for d in range(n_days):
        max_m = max(max_m, n_min[d])
    ret = np.zeros((n_days, max_m))
    var = np.zeros((n_days, max_m))
    gap = np.zeros(n_days)
    base = sigma_min * sigma_min
    alpha, beta_g = 0.05, 0.93
    omega = base * (1.0 - alpha - beta_g)
    h = base
    for d in range(n_days):
        if d > 0:
            gap[d] = gap_sigma * np.random.standard_normal() * np.sqrt(h / base)
        for m in range(n_min[d]):
            r = np.sqrt(h) * np.random.standard_normal()
            if np.random.random() < jump_prob:
                r += jump_sigma * np.random.standard_normal()
            ret[d, m] = r
            var[d, m] = h
            h = omega + alpha * r * r + beta_g * h
    return ret, var, gap


@njit(cache=True)
def _u_shape(m, n):
    """Intraday activity weight: ~3.4 at the open/close, 0.6 at midday (mean ~1.5)."""
    x = (m + 0.5) / n - 0.5
    return 0.6 + 11.2 * x * x


@njit(cache=True)
def minute_plan(seed, opens, n_min, f_ret, f_var, f_gap, beta, p0, idio_sigma, gap_sigma,
                jump_prob, jump_sigma, trades_per_day, shock_prob, shock_sigma, shock_volume,
                revert, revert_minutes, high_vol_only):
    """First pass for one symbol: per-minute log close, vol ratio and trade count, and the
    log price each session opens at (after its overnight gap); the shock arguments plant
    the effect of the module docstring."""
    np.random.seed(seed)
    n_days = opens.shape[0]
    total = 0
    for d in range(n_days):
        total += n_min[d]
    logc = np.empty(total)
    volr = np.empty(total)
    count = np.empty(total, np.int64)
    open_lp = np.empty(n_days)
    base_f = f_var[0, 0] if n_days > 0 else 0.0
    base = idio_sigma * idio_sigma
    alpha, beta_g = 0.06, 0.92
    omega = base * (1.0 - alpha - beta_g)
    h = base
    lp = np.log(p0)
    k = 0
    for d in range(n_days):
        n = n_min[d]
        if d > 0:
            lp += beta * f_gap[d] + gap_sigma * np.random.standard_normal()
        open_lp[d] = lp
        wsum = 0.0
        for m in range(n):
            wsum += _u_shape(m, n)
        lam = trades_per_day / wsum
        left = 0  # minutes of reversion still to come (none across the close)
        drift = 0.0
        for m in range(n):
            e = np.sqrt(h) * np.random.standard_normal()
            if np.random.random() < jump_prob:
                e += jump_sigma * np.random.standard_normal()
            push = 0.0
            if left > 0:
                push = drift
                left -= 1
            shocked = shock_prob > 0.0 and np.random.random() < shock_prob
            if shocked:
                jolt = shock_sigma * np.random.standard_normal()
                push += jolt
                left = 0
                if revert > 0.0 and (not high_vol_only or h > base):
                    drift = -revert * jolt / revert_minutes
                    left = revert_minutes
            lp += beta * f_ret[d, m] + e + push
            tot_var = h + beta * beta * f_var[d, m]
            vr = np.sqrt(tot_var / (base + beta * beta * base_f))
            logc[k] = lp
            volr[k] = vr
            rate = lam * _u_shape(m, n) * (0.5 + 0.5 * vr)
            count[k] = max(1, np.random.poisson(rate * shock_volume if shocked else rate))
            h = omega + alpha * e * e + beta_g * h
            k += 1
    return logc, volr, count, open_lp


@njit(cache=True)
def _norm_ppf(p):
    """Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9)."""
    a = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
         -30.66479806614716, 2.506628277459239)
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
         -13.28068155288572)
    c = (-7.784894002430293e-03, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
         4.374664141464968, 2.938163982698783)
    d = (7.784695709041462e-03, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    if p < 0.02425:
        q = np.sqrt(-2.0 * np.log(p))
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
    if p > 1.0 - 0.02425:
        q = np.sqrt(-2.0 * np.log(1.0 - p))
        return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
    q = p - 0.5
    r = q * q
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / \
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)


@njit(cache=True)
def fill_ticks(seed, opens, n_min, logc, volr, count, open_lp, spread_bps, quotes_per_trade):
    """Second pass: trades (ts, price, size, exchange code) and NBBO quotes for one symbol.
    Each session's first minute bridges from its opening level ``open_lp[d]`` (the gap
    happened overnight, so no trade prints at the previous close)."""
    np.random.seed(seed)
    n_tr = 0
    for k in range(count.shape[0]):
        n_tr += count[k]
    n_q = n_tr * quotes_per_trade
    t_ts = np.empty(n_tr, np.int64)
    t_px = np.empty(n_tr)
    t_sz = np.empty(n_tr)
    t_ex = np.empty(n_tr, np.int8)
    q_ts = np.empty(n_q, np.int64)
    q_bid = np.empty(n_q)
    q_bsz = np.empty(n_q)
    q_ask = np.empty(n_q)
    q_asz = np.empty(n_q)
    size_q = np.empty(4096)
    for a in range(4096):
        size_q[a] = max(1.0, np.floor(np.exp(3.5 + 1.1 * _norm_ppf((a + 0.5) / 4096.0))))
    i = 0
    j = 0
    k = 0
    prev_lc = 0.0
    for d in range(opens.shape[0]):
        prev_lc = open_lp[d]
        for m in range(n_min[d]):
            n = count[k]
            t0 = opens[d] + m * NS_MIN
            lc = logc[k]
            # uniform order statistics via normalised exponential spacings: sorted, no sort
            s_tot = 0.0
            for a in range(n + 1):
                s_tot += np.random.exponential(1.0)
                if a < n:
                    t_px[i + a] = s_tot  # temporary: cumulative spacing
            sig = abs(lc - prev_lc) + 1e-4 * volr[k]
            w = 0.0
            for a in range(n):
                w += np.random.standard_normal() * sig / np.sqrt(n)
                t_ts[i + a] = t0 + np.int64(t_px[i + a] / s_tot * (NS_MIN - 2 * quotes_per_trade))
                t_sz[i + a] = w  # temporary: random-walk value
            w_end = w
            p_prev = np.exp(prev_lc)
            half = max(0.5 * TICK, 0.5 * np.exp(lc) * spread_bps * 1e-4 * (0.6 + 0.4 * volr[k]))
            last_t = t0
            for a in range(n):
                frac = (a + 1.0) / (n + 1.0)
                x = (lc - prev_lc) * frac + t_sz[i + a] - frac * w_end
                mid = p_prev * (1.0 + x + 0.5 * x * x)  # exp(x) to 2nd order: |x| << 1 in a minute
                bid = np.floor((mid - half) / TICK) * TICK
                ask = bid + max(1.0, np.round(2.0 * half / TICK)) * TICK
                ts = max(t_ts[i + a], last_t + quotes_per_trade)
                t_ts[i + a] = ts
                # quotes_per_trade quotes leading up to the trade; the last one is its NBBO
                for q in range(quotes_per_trade):
                    # one uniform gives the widening and both displayed sizes (1..8 lots each)
                    u = np.random.random()
                    q_ts[j] = ts - (quotes_per_trade - q)
                    jitter = 0.0 if q == quotes_per_trade - 1 else TICK * np.floor(2.0 * u)
                    q_bid[j] = bid - jitter
                    q_ask[j] = ask + jitter
                    q_bsz[j] = 100.0 * (1 + np.floor(u * 64.0) % 8)
                    q_asz[j] = 100.0 * (1 + np.floor(u * 512.0) % 8)
                    j += 1
                # one uniform gives the aggressor side and the venue code
                u = np.random.random()
                t_px[i + a] = ask if u < 0.5 else bid
                t_ex[i + a] = np.int8(np.floor(u * 12.0) % 6)
                # lognormal trade size (median ~33 shares) from a quantile table: one uniform
                t_sz[i + a] = size_q[np.int64(np.random.random() * size_q.shape[0])]
                last_t = ts
            i += n
            prev_lc = lc
            k += 1
    return t_ts, t_px, t_sz, t_ex, q_ts, q_bid, q_bsz, q_ask, q_asz

"""Schedules of the parent-order algorithms: pure numba functions of the clock, the
parent's size and the parameters (no state), so a test can work each one out by hand.

Every schedule says how many shares should have been *sent* by a slice / bucket;
``framework.execution.algos.machine`` turns that into children. Formulas:
``/work/shared/docs/execution-and-research-formulas.md`` (TWAP, VWAP, POV, iceberg,
Almgren & Chriss 2000). Units: ns UTC, shares, seconds for Almgren–Chriss time.
"""

from __future__ import annotations

import math

import numpy as np

from framework.types.jit import kernel

NS = 1e9  # ns per second


@kernel(inline="always")
def uniform(seed: int, a: int, b: int) -> float:
    """A uniform draw in [0, 1) from ``(seed, a, b)`` (splitmix64): the same number in
    a backtest and live, whatever else was drawn before."""
    z = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
    z ^= np.uint64(a) * np.uint64(0xBF58476D1CE4E5B9) + np.uint64(b)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) / 9007199254740992.0  # 2**53


@kernel(inline="always")
def on_lot(q: float, lot: float) -> float:
    """``q`` shares down to a multiple of ``lot`` (``lot`` <= 0: unchanged)."""
    return math.floor(q / lot + 1e-9) * lot if lot > 0.0 else q


@kernel
def n_slices(horizon_ns: int, interval_ns: int) -> int:
    """Slices of a schedule: floor(H / interval), at least 1."""
    return max(1, horizon_ns // max(interval_ns, 1))


@kernel
def slice_due(ts_ns: int, t0: int, interval_ns: int, n: int, jitter: float, seed: int,
              pid: int) -> int:
    """Index of the last slice due at ``ts_ns`` (-1 none): slice ``i`` is due at
    ``t0 + i * interval`` plus, for ``i`` >= 1 and ``jitter`` j > 0, U(-j, j) intervals
    (j < 0.5 keeps the order); slice 0 goes at once."""
    k = -1
    for i in range(n):
        due = t0 + i * interval_ns
        if i > 0 and jitter > 0.0:
            due += int((2.0 * uniform(seed, pid, 2 * i) - 1.0) * jitter * interval_ns)
        if due <= ts_ns:
            k = i
        else:
            break
    return k


@kernel
def twap_cum(k: int, n: int, qty: float, lot: float, rand_size: float, seed: int,
             pid: int) -> float:
    """Shares sent through slice ``k`` of ``n`` of a ``qty`` TWAP: slices of qty / n (times
    1 + U(-s, s), renormalised to sum to qty, when ``rand_size`` s > 0) rounded down to
    the lot; the last slice takes the remainder."""
    if k >= n - 1:
        return qty
    if rand_size <= 0.0:
        return (k + 1) * on_lot(qty / n, lot)
    tot = 0.0
    part = 0.0
    for i in range(n):
        w = 1.0 + (2.0 * uniform(seed, pid, 2 * i + 1) - 1.0) * rand_size
        tot += w
        if i <= k:
            part += w
    return on_lot(qty * part / tot, lot)


@kernel
def ac_kappa(lam: float, sigma: float, eta: float, gamma: float, tau: float) -> float:
    """Almgren–Chriss urgency kappa (1/s): (2/tau^2)(cosh(kappa tau) - 1) = lam sigma^2 /
    eta_tilde with eta_tilde = eta - gamma tau / 2 (tau in s; NaN if eta_tilde <= 0)."""
    eta_t = eta - 0.5 * gamma * tau
    if not (eta_t > 0.0):
        return np.nan
    return math.acosh(1.0 + lam * sigma * sigma * tau * tau / (2.0 * eta_t)) / tau


@kernel
def ac_holding(k: int, n: int, qty: float, kappa: float, tau: float) -> float:
    """Shares still to trade after slice ``k`` of ``n`` (t_k = k tau, T = n tau):
    x_k = X sinh(kappa (T - t_k)) / sinh(kappa T); linear (TWAP) as kappa -> 0."""
    T = n * tau
    t = k * tau
    if kappa * T < 1e-9:
        return qty * (T - t) / T
    return qty * math.sinh(kappa * (T - t)) / math.sinh(kappa * T)


@kernel
def is_cum(k: int, n: int, qty: float, lot: float, kappa: float, tau: float) -> float:
    """Shares sent through slice ``k``: slice ``k`` trades n_{k+1} = x_k - x_{k+1}, so
    ``qty - x_{k+1}`` rounded down to the lot; the last slice takes the remainder."""
    if k >= n - 1:
        return qty
    return on_lot(qty - ac_holding(k + 1, n, qty, kappa, tau), lot)


@kernel
def vwap_bucket(q_rem: float, prof: np.ndarray, b: int, b_last: int) -> float:
    """Shares for bucket ``b`` of ``q_rem`` left: q_rem * w_b / sum(w_b' for b <= b' <=
    b_last) of the profile ``prof`` (shares of a day's volume); all of it in the last
    bucket, or where the profile has no volume left."""
    nb = prof.shape[0]
    b = min(max(b, 0), nb - 1)
    b_last = min(max(b_last, b), nb - 1)
    if b >= b_last:
        return q_rem
    rest = 0.0
    for j in range(b, b_last + 1):
        rest += prof[j]
    if not (rest > 0.0):
        return q_rem
    return q_rem * prof[b] / rest


@kernel
def pov_target(rate: float, other_volume: float) -> float:
    """Own shares that make ``rate`` of all volume after ``other_volume`` shares traded by
    others: rate / (1 - rate) * other_volume."""
    if rate >= 1.0:
        return np.inf
    return rate / (1.0 - rate) * other_volume

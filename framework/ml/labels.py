"""Labels for supervised models: fixed-horizon returns, triple-barrier outcomes,
meta-labels of a primary signal, and sample weights by label uniqueness.

All kernels work on one symbol's bar arrays and bar indices; a label's horizon is the
bar interval ``[t0, t1]`` it depends on, which purged cross-validation uses to keep
overlapping samples out of training. Barriers never cross the session close: the
flagship is flat at every close, so a label that looks overnight would be a lie.
"""

from __future__ import annotations

import math

import numpy as np

from framework.types.jit import njit


@njit(cache=True)
def fixed_horizon_returns(close: np.ndarray, horizon: int) -> np.ndarray:
    """Forward return over ``horizon`` bars (fraction): ``close[t+h] / close[t] - 1``;
    NaN where the horizon runs past the data. Row t looks *forward*: a label, not a feature."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    for t in range(n - horizon):
        out[t] = close[t + horizon] / close[t] - 1.0
    return out


@njit(cache=True)
def triple_barrier(close: np.ndarray, session_last: np.ndarray, events: np.ndarray,
                   side: np.ndarray, width: np.ndarray, profit_take: float,
                   stop_loss: float, max_bars: int) -> tuple[np.ndarray, np.ndarray,
                                                            np.ndarray]:
    """Triple-barrier outcome of each event (López de Prado, AFML ch. 3).

    ``close[T]`` one symbol's closes (NaN where it did not trade); ``session_last[T]`` the
    index of the last bar of each bar's session; ``events[n]`` entry bar indices;
    ``side[n]`` +1 long / -1 short; ``width[n]`` barrier unit (fraction of price, e.g. the
    volatility over the horizon). Barriers: profit-take at ``+profit_take * width``,
    stop-loss at ``-stop_loss * width`` (side-adjusted return), time at ``max_bars`` bars
    or the session's last bar, whichever is first.

    Returns ``(label[n] int8 in {-1, 0, +1}, ret[n] side-adjusted return at the first
    barrier touched (fraction), t1[n] bar index where it was touched)``.
    """
    n = events.shape[0]
    label = np.zeros(n, np.int8)
    ret = np.zeros(n)
    t1 = np.empty(n, np.int64)
    for k in range(n):
        i = events[k]
        p0 = close[i]
        end = min(i + max_bars, session_last[i])
        up = profit_take * width[k]
        down = -stop_loss * width[k]
        t1[k] = i
        for j in range(i + 1, end + 1):
            if math.isnan(close[j]):
                continue
            r = side[k] * (close[j] / p0 - 1.0)
            t1[k] = j
            ret[k] = r
            if r >= up:
                label[k] = 1
                break
            if r <= down:
                label[k] = -1
                break
    return label, ret, t1


def meta_labels(ret: np.ndarray, min_return: float = 0.0) -> np.ndarray:
    """Meta-label of a primary signal's trades: 1 where the side-adjusted return at the
    first barrier exceeds ``min_return`` (fraction, e.g. round-trip costs), else 0."""
    return (ret > min_return).astype(np.int8)


@njit(cache=True)
def uniqueness_weights(t0: np.ndarray, t1: np.ndarray, n_bars: int) -> np.ndarray:
    """Average uniqueness of each label over its horizon ``[t0, t1]`` (bar indices,
    inclusive): the mean of ``1 / concurrency`` where concurrency counts labels alive at
    each bar. Overlapping labels share information, so each counts for less."""
    count = np.zeros(n_bars + 1, np.int64)
    for k in range(t0.shape[0]):
        count[t0[k]] += 1
        count[t1[k] + 1] -= 1
    alive = np.cumsum(count)[:n_bars]
    w = np.empty(t0.shape[0])
    for k in range(t0.shape[0]):
        s = 0.0
        for t in range(t0[k], t1[k] + 1):
            s += 1.0 / alive[t]
        w[k] = s / (t1[k] - t0[k] + 1)
    return w


def bet_size(proba: np.ndarray, threshold: float) -> np.ndarray:
    """Position size in [0, 1] from the meta-model's probability that a trade wins
    (AFML ch. 10): ``2 N(z) - 1`` with ``z = (p - 1/2) / sqrt(p (1 - p))``; 0 below
    ``threshold`` and where the probability is NaN."""
    p = np.clip(np.asarray(proba, dtype=np.float64), 1e-9, 1 - 1e-9)
    z = (p - 0.5) / np.sqrt(p * (1.0 - p))
    size = np.array([math.erf(v / math.sqrt(2.0)) for v in z.ravel()]).reshape(p.shape)
    return np.where(np.isfinite(proba) & (proba >= threshold), np.maximum(size, 0.0), 0.0)

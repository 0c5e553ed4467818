"""The synthetic market's planted effect does what its docstring says, checked against a
by-hand replay of the rule: with every other source of noise switched off, the null
path's increments are the shocks alone, and the planted path is those shocks plus a
linear reversion of ``revert`` of each over ``revert_minutes`` minutes (restarted by a
new shock, never past the close)."""

from __future__ import annotations

import numpy as np

from framework.data.sources import synthetic_kernels as K

N_MIN = 390


def _path(revert: float, days: int = 3, shock_prob: float = 0.03, minutes: int = 10,
          high_vol_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    n_min = np.full(days, N_MIN, np.int64)
    zeros = np.zeros((days, N_MIN))
    var = np.full((days, N_MIN), 1e-12)  # the factor never moves; its variance sets vol 1
    logc, _, count, open_lp = K.minute_plan(
        123, np.arange(days, dtype=np.int64), n_min, zeros, var, np.zeros(days), 1.0, 100.0,
        0.0, 0.0, 0.0, 0.0, 1000.0, shock_prob, 0.01, 5.0, revert, minutes, high_vol_only)
    return logc.reshape(days, N_MIN), count.reshape(days, N_MIN)


def _by_hand(null: np.ndarray, revert: float, minutes: int) -> np.ndarray:
    """The planted path from the null one: each shock (a non-zero null increment)
    starts ``minutes`` minutes of ``-revert * shock / minutes``, cut by the next shock
    or the session's close."""
    out = np.empty_like(null)
    lp = prev = np.log(100.0)  # a session opens at the last close (no gap here)
    for d in range(null.shape[0]):
        left, drift = 0, 0.0
        for m in range(N_MIN):
            jolt = null[d, m] - prev
            prev = null[d, m]
            push = drift if left > 0 else 0.0
            left = max(left - 1, 0)
            if jolt != 0.0:
                push += jolt
                left, drift = minutes, -revert * jolt / minutes
            lp += push
            out[d, m] = lp
    return out


def _shocks(null: np.ndarray) -> np.ndarray:
    """Where the null path moves: its shock minutes (nothing else moves it here)."""
    flat = np.diff(np.concatenate([[np.log(100.0)], null.ravel()]))
    return (flat != 0).reshape(null.shape)


def test_planted_reversion_follows_the_rule_by_hand() -> None:
    null, n_count = _path(0.0)
    planted, p_count = _path(0.6)
    shocks = _shocks(null)
    assert 15 <= shocks.sum() <= 60  # ~0.03 x 1,170 minutes
    np.testing.assert_array_equal(n_count, p_count)  # the same draws: only prices differ
    np.testing.assert_allclose(planted, _by_hand(null, 0.6, 10), rtol=0, atol=1e-12)
    # an isolated shock ends 60 % reverted after its 10 minutes
    d, m = next((d, m) for d, m in zip(*np.nonzero(shocks), strict=True)
                if m + 11 < N_MIN and not shocks[d, m + 1:m + 12].any() and m > 0
                and not shocks[d, max(0, m - 10):m].any())
    jolt = null[d, m] - null[d, m - 1]
    assert abs(planted[d, m + 10] - planted[d, m - 1] - 0.4 * jolt) < 1e-12


def test_shock_minutes_carry_the_volume_shock() -> None:
    null, count = _path(0.0, days=20)
    jumps = _shocks(null)
    # expected 1000 trades a session spread over 390 minutes (U-shaped): a shock minute
    # draws from 5x the rate
    assert count[jumps].mean() > 3.5 * count[~jumps].mean()


def test_no_shocks_leaves_the_random_stream_unchanged() -> None:
    days = 2
    n_min = np.full(days, N_MIN, np.int64)
    rng = np.random.default_rng(0)
    f = rng.normal(0, 1e-4, (days, N_MIN))
    var = np.full((days, N_MIN), 1e-8)
    args = (7, np.arange(days, dtype=np.int64), n_min, f, var, np.zeros(days), 1.1, 50.0,
            4e-4, 1e-3, 5e-4, 4e-3, 2000.0)
    off = K.minute_plan(*args, 0.0, 0.003, 5.0, 0.6, 10, True)
    null = K.minute_plan(*args, 0.01, 0.003, 5.0, 0.0, 10, True)
    again = K.minute_plan(*args, 0.0, 0.003, 5.0, 0.0, 10, False)
    for a, b in zip(off, again, strict=True):
        np.testing.assert_array_equal(a, b)  # off: revert and regime are inert
    assert not np.array_equal(off[0], null[0])  # shocks on: another path

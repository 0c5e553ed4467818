"""The causal helpers of framework.strategy: equal to their pandas counterparts on random
data with NaNs, hand-checked at the boundaries, causal (truncating the input at t leaves
every earlier row unchanged), and no way to ask for the future."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from framework.strategy import (
    LookAheadError,
    crossover,
    crossunder,
    rolling_max,
    rolling_mean,
    rolling_min,
    rolling_std,
    rolling_sum,
    shift,
)

ROLLING = {"mean": rolling_mean, "std": rolling_std, "min": rolling_min, "max": rolling_max,
           "sum": rolling_sum}


def _random(seed: int, nan_rate: float = 0.15) -> np.ndarray:
    rng = np.random.default_rng(seed)
    T, S = int(rng.integers(1, 120)), int(rng.integers(1, 5))
    a = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (T, S)), axis=0))
    a[rng.random((T, S)) < nan_rate] = np.nan
    a[: int(rng.integers(0, 10))] = np.nan  # a leading gap, like a warm-up
    return a


def _brute(a: np.ndarray, window: int, min_periods: int, how: str, ddof: int = 1
           ) -> np.ndarray:
    """Each window's finite values reduced by NumPy (two-pass std): the definition."""
    out = np.full(a.shape, np.nan)
    for t in range(a.shape[0]):
        for s in range(a.shape[1]):
            v = a[max(0, t - window + 1): t + 1, s]
            v = v[np.isfinite(v)]
            if v.shape[0] >= min_periods and not (how == "std" and v.shape[0] <= ddof):
                out[t, s] = np.std(v, ddof=ddof) if how == "std" else getattr(np, how)(v)
    return out


@pytest.mark.parametrize("seed", range(25))
def test_rolling_equals_pandas(seed: int) -> None:
    a = _random(seed)
    rng = np.random.default_rng(1000 + seed)
    window = int(rng.integers(1, 30))  # also longer than the data
    mp = int(rng.integers(1, window + 1))
    frame = pd.DataFrame(a)
    for name, fn in ROLLING.items():
        for min_periods in (None, mp):
            got = fn(a, window, min_periods)
            want = getattr(frame.rolling(window, min_periods=min_periods), name)().to_numpy()
            # pandas keeps running sums: a residue up to ~1e-7 where a std should be 0
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-7,
                                       err_msg=f"rolling_{name}({window}, {min_periods})")
            exact = _brute(a, window, window if min_periods is None else mp, name)
            np.testing.assert_allclose(got, exact, rtol=1e-9, atol=1e-9)
    got = rolling_std(a, window, mp, ddof=0)
    want = frame.rolling(window, min_periods=mp).std(ddof=0).to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(got, _brute(a, window, mp, "std", 0), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", range(40))
def test_shift_and_crosses_equal_pandas(seed: int) -> None:
    a, b = _random(seed), _random(seed)[::-1].copy()
    b = b[: a.shape[0], : a.shape[1]] if b.shape == a.shape else np.roll(a, 3, axis=0)
    fa, fb = pd.DataFrame(a), pd.DataFrame(b)
    for n in (1, 2, 7, 500):
        np.testing.assert_array_equal(shift(a, n), fa.shift(n).to_numpy())
    np.testing.assert_array_equal(shift(a[:, 0] > 100, 1)[1:], (a[:-1, 0] > 100))
    # pandas: the state a > b begins (ends) with both bars known
    above, below = fa > fb, fa <= fb
    known = fa.notna() & fb.notna() & fa.shift(1).notna() & fb.shift(1).notna()
    want_over = (above & below.shift(1, fill_value=False) & known).to_numpy()
    want_under = (below & above.shift(1, fill_value=False) & known).to_numpy()
    np.testing.assert_array_equal(crossover(a, b), want_over)
    np.testing.assert_array_equal(crossunder(a, b), want_under)


def test_crosses_by_hand() -> None:
    a = np.array([1.0, 3.0, 2.0, 2.0, 1.0, 3.0, np.nan, 3.0, 1.0, 3.0])
    level = 2.0
    #  t:     0      1     2      3      4      5     6(NaN) 7      8      9
    over = [False, True, False, False, False, True, False, False, False, True]
    under = [False, False, True, False, False, False, False, False, True, False]
    assert crossover(a, level).tolist() == over  # a touch (t=2,3) is not a cross above
    assert crossunder(a, level).tolist() == under  # leaving a > level at the touch
    # a strict cross below is crossover(level, a): fires at t=4, not at the touch
    assert crossover(np.full(10, level), a).tolist() == [False, False, False, False, True,
                                                        False, False, False, True, False]
    # two symbols against a [S] row of levels
    two = np.column_stack([a, a + 10.0])
    assert crossover(two, np.array([2.0, 12.0])).tolist() == [[x, x] for x in over]


def test_shift_by_hand_and_refuses_the_future() -> None:
    assert np.array_equal(shift(np.array([1, 2, 3]), 1), [np.nan, 1.0, 2.0], equal_nan=True)
    assert shift(np.array([True, True]), 1).tolist() == [False, True]
    for n in (0, -1, 1.0, True):
        with pytest.raises(LookAheadError, match="look-ahead"):
            shift(np.arange(3.0), n)


def test_rolling_by_hand() -> None:
    a = np.array([1.0, np.nan, 3.0, 5.0])
    np.testing.assert_array_equal(rolling_mean(a, 2), [np.nan, np.nan, np.nan, 4.0])
    np.testing.assert_array_equal(rolling_mean(a, 2, min_periods=1), [1.0, 1.0, 3.0, 4.0])
    np.testing.assert_array_equal(rolling_max(a, 3, min_periods=2), [np.nan, np.nan, 3.0, 5.0])
    np.testing.assert_allclose(rolling_std(a, 3, min_periods=2), [np.nan, np.nan, np.sqrt(2.0),
                                                                   np.sqrt(2.0)])
    with pytest.raises(ValueError, match="window"):
        rolling_sum(a, 0)
    with pytest.raises(ValueError, match="min_periods"):
        rolling_sum(a, 2, min_periods=3)


@pytest.mark.parametrize("seed", range(10))
def test_truncating_the_input_changes_no_earlier_row(seed: int) -> None:
    a, b = _random(seed), _random(seed + 1)
    T = min(a.shape[0], b.shape[0])
    a, b = a[:T, :1], b[:T, :1]
    full = {"over": crossover(a, b), "under": crossunder(a, b), "shift": shift(a, 3),
            **{n: fn(a, 5, 2) for n, fn in ROLLING.items()}}
    for t in range(1, T + 1):
        cut = {"over": crossover(a[:t], b[:t]), "under": crossunder(a[:t], b[:t]),
               "shift": shift(a[:t], 3), **{n: fn(a[:t], 5, 2) for n, fn in ROLLING.items()}}
        for name, got in cut.items():
            np.testing.assert_array_equal(got, full[name][:t], err_msg=f"{name} cut at {t}")


def test_rolling_std_of_equal_values_is_zero() -> None:
    a = np.r_[100.0 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.02, 200))),
              np.full(10, 123.37)]
    assert (rolling_std(a, 5)[-6:] == 0.0).all()  # running sums of squares leave ~1e-6 here

"""Batch == streaming, NaN-gap policy, warm-up and no look-ahead for every indicator; a few\nagainst values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from framework.features import kernels_micro as km
from framework.features import kernels_oscillators as ko
from framework.features import kernels_trend as kt
from tests.features.feature_cases import CASES, HAND, HAND_VALUES, as_tuple, make_inputs

N = 600


def _stream_py(case, d):
    inputs, _, state, update, n_out = case
    s = state()
    rows = [as_tuple(update(s, *[d[k][i] for k in inputs]), n_out) for i in range(N)]
    return tuple(np.array([r[j] for r in rows], dtype=float) for j in range(n_out))


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("nan_frac", [0.0, 0.08])
def test_batch_equals_python_streaming(name, nan_frac):
    case = CASES[name]
    d = make_inputs(N, seed=7, nan_frac=nan_frac)
    batch = as_tuple(case[1](*[d[k] for k in case[0]]), case[4])
    stream = _stream_py(case, d)
    for b, s in zip(batch, stream, strict=True):
        assert np.isnan(b).sum() < N  # something was computed
        np.testing.assert_allclose(s, b, rtol=1e-12, atol=0.0, equal_nan=True)


# kernel-level batch and streaming pairs of the hand-worked cases (feature_cases.HAND)
HAND_CASES = {
    "sma_3": (lambda c: kt.sma_batch(c, 3), lambda: kt.sma_state(3), kt.sma_update),
    "ema_3": (lambda c: kt.ema_batch(c, 3), lambda: kt.ema_state(3, 0), kt.ema_update),
    "zscore_3": (lambda c: kt.zscore_batch(c, 3), lambda: kt.bbands_state(3), kt.zscore_update),
    "roc_2": (lambda c: kt.roc_batch(c, 2), lambda: kt.lag_state(2), kt.roc_update),
}


@pytest.mark.parametrize("name", sorted(HAND_CASES))
def test_batch_and_streaming_equal_the_hand_values(name):
    batch, state, update = HAND_CASES[name]
    s = state()
    stream = np.array([update(s, x) for x in HAND])
    for got in (batch(HAND), stream):
        np.testing.assert_allclose(got, HAND_VALUES[name], rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_nan_input_is_skipped_not_poisoning(name):
    """A NaN in any input gives NaN there; the rest equals the series without those bars."""
    inputs, batch, _, _, n_out = CASES[name]
    d = make_inputs(N, seed=11, nan_frac=0.05)
    bad = np.zeros(N, bool)
    for k in inputs:
        bad |= np.isnan(d[k])
    assert bad.any()
    full = as_tuple(batch(*[d[k] for k in inputs]), n_out)
    dense = as_tuple(batch(*[d[k][~bad] for k in inputs]), n_out)
    for f, g in zip(full, dense, strict=True):
        assert np.isnan(f[bad]).all()
        np.testing.assert_array_equal(f[~bad], g)
        assert not np.isnan(f[~bad][-50:]).any()  # recovered after the gaps


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_look_ahead(name):
    """Truncating the input at random points leaves every earlier value unchanged."""
    inputs, batch, _, _, n_out = CASES[name]
    d = make_inputs(N, seed=3, nan_frac=0.03)
    full = as_tuple(batch(*[d[k] for k in inputs]), n_out)
    rng = np.random.default_rng(5)
    for t in rng.integers(1, N, 6):
        part = as_tuple(batch(*[d[k][:t] for k in inputs]), n_out)
        for f, p in zip(full, part, strict=True):
            np.testing.assert_array_equal(f[:t], p)


@njit(cache=True)
def _drive_njit(c, h, low, v, q):
    """What the live driver does: per-bar updates of states from inside numba."""
    n = c.shape[0]
    out = np.empty((n, 7))
    s_rsi = ko.rsi_state(14)
    s_macd = kt.macd_state(12, 26, 9)
    s_atr = ko.atr_state(14)
    s_st = ko.stoch_state(5, 3, 3)
    s_vp = km.vpin_state(2500.0, 4)
    for i in range(n):
        out[i, 0] = ko.rsi_update(s_rsi, c[i])
        out[i, 1], out[i, 2], out[i, 3] = kt.macd_update(s_macd, c[i])
        out[i, 4] = ko.atr_update(s_atr, h[i], low[i], c[i])
        out[i, 5] = ko.stoch_update(s_st, h[i], low[i], c[i])[0]
        out[i, 6] = km.vpin_update(s_vp, v[i], q[i])
    return out


def test_streaming_from_njit_equals_batch():
    d = make_inputs(N, seed=21, nan_frac=0.05)
    got = _drive_njit(d["c"], d["h"], d["l"], d["v"], d["q"])
    want = np.column_stack(
        [
            ko.rsi_batch(d["c"], 14),
            *kt.macd_batch(d["c"], 12, 26, 9),
            ko.atr_batch(d["h"], d["l"], d["c"], 14),
            ko.stoch_batch(d["h"], d["l"], d["c"], 5, 3, 3)[0],
            km.vpin_batch(d["v"], d["q"], 2500.0, 4),
        ]
    )
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0.0, equal_nan=True)


@pytest.mark.parametrize(
    "fn,args,lookback",
    [
        (kt.sma_batch, (10,), 9),
        (kt.ema_batch, (10,), 9),
        (kt.wma_batch, (10,), 9),
        (ko.rsi_batch, (14,), 14),
        (kt.roc_batch, (10,), 10),
        (kt.logret_batch, (), 1),
    ],
)
def test_warm_up_is_nan_until_lookback(fn, args, lookback):
    c = make_inputs(100, seed=1)["c"]
    out = fn(c, *args)
    assert np.isnan(out[:lookback]).all()
    assert not np.isnan(out[lookback:]).any()


@pytest.mark.parametrize("n", [3, 40, 1500])
@pytest.mark.parametrize("which", ["mom", "roc"])
def test_lag_block_path_equals_streaming_and_hand_rule(n, which):
    """``mom_run`` / ``roc_run`` take NaN-free 4,096-row blocks without their ring
    (``x[j - n]`` read directly): on 10,000 rows with NaNs at and around block edges, a
    zero price (ROC's 0 rule) and a window longer than a block, split into two calls at
    an odd row, each equals its ``*_update`` step by step; wherever the n rows before a
    row are valid the value is that row minus the row n back (MOM) or
    ``(x / x[n] - 1) * 100`` (ROC), worked out here with NumPy."""
    x = make_inputs(10_000, seed=9)["c"]
    for i in (5, 4095, 4096, 8191, 8194, 8195, 9100):
        x[i] = np.nan
    x[6000] = 0.0
    run, update = (kt.mom_run, kt.mom_update) if which == "mom" else (kt.roc_run, kt.roc_update)
    s_stream = kt.lag_state(n)
    want = np.array([update(s_stream, v) for v in x])
    s = kt.lag_state(n)
    got = np.empty_like(x)
    run(s, x[:1777], got[:1777])
    run(s, x[1777:], got[1777:])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(s, s_stream)  # the ring and counters as streaming left them
    for j in range(n, x.shape[0]):
        if not np.isnan(x[j - n: j + 1]).any():
            back = x[j - n]
            hand = x[j] - back if which == "mom" else (
                (x[j] / back - 1.0) * 100.0 if back != 0.0 else 0.0)
            assert got[j] == hand

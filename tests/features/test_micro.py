"""Microstructure features against plain NumPy/pandas references and real LOBSTER data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import framework.features as F
from tests.features.feature_cases import make_inputs


def test_book_imbalance_and_depth_match_numpy():
    rng = np.random.default_rng(0)
    b = rng.integers(0, 500, (200, 10)).astype(float)
    a = rng.integers(0, 500, (200, 10)).astype(float)
    b[3, 2] = np.nan  # an empty level counts as 0
    for lv in (1, 3, 10, 20):
        sb = np.nansum(b[:, :lv], axis=1)
        sa = np.nansum(a[:, :lv], axis=1)
        with np.errstate(invalid="ignore"):
            want = (sb - sa) / (sb + sa)
        np.testing.assert_allclose(F.book_imbalance(b, a, lv), want, rtol=1e-14, equal_nan=True)
        db, da = F.book_depth(b, a, lv)
        np.testing.assert_array_equal(db, sb)
        np.testing.assert_array_equal(da, sa)


def test_book_imbalance_on_lobster_level10(shared_data):
    path = shared_data / "lobster" / "TSLA_2015-01-07_34200000_57600000_orderbook_10_SAMPLE.csv"
    book = np.loadtxt(path, delimiter=",")
    ask_sz = book[:, 1::4]
    bid_sz = book[:, 3::4]
    imb = F.book_imbalance(bid_sz, ask_sz, 5)
    sb, sa = bid_sz[:, :5].sum(1), ask_sz[:, :5].sum(1)
    np.testing.assert_allclose(imb, (sb - sa) / (sb + sa), rtol=1e-14)
    assert np.all(np.abs(imb) <= 1.0)


def test_spreads_and_microprice():
    d = make_inputs(300, seed=4)
    bid, ask, p = d["bid"], d["ask"], d["c"]
    bs, as_ = d["v"], d["v"][::-1].copy()
    np.testing.assert_allclose(F.quoted_spread(bid, ask), ask - bid)
    np.testing.assert_allclose(
        F.microprice(bid, ask, bs, as_), (bid * as_ + ask * bs) / (bs + as_), rtol=1e-14
    )
    mid = 0.5 * (bid + ask)
    np.testing.assert_allclose(F.effective_spread(p, bid, ask), 2 * np.abs(p - mid), rtol=1e-14)
    q = d["q"]
    rs = F.realized_spread(p, q, mid, 5)
    assert np.isnan(rs[:5]).all()
    np.testing.assert_allclose(rs[5:], 2 * q[:-5] * (p[:-5] - mid[5:]), rtol=1e-14)


def _tick_rule_reference(p):
    out, last = [], 0.0
    for i, x in enumerate(p):
        if i > 0 and x != p[i - 1]:
            last = 1.0 if x > p[i - 1] else -1.0
        out.append(last)
    return np.array(out)


def test_tick_rule_and_lee_ready_reference():
    p = np.array([10, 10.01, 10.01, 10.0, 10.0, 10.02, 10.02])
    np.testing.assert_array_equal(F.tick_rule(p), _tick_rule_reference(p))
    bid = np.full(7, 10.0)
    ask = np.full(7, 10.02)
    # mid 10.01: above -> +1, below -> -1, at the mid -> tick rule
    np.testing.assert_array_equal(F.lee_ready(p, bid, ask), [-1, 1, 1, -1, -1, 1, 1])


def test_lee_ready_classifies_lobster_executions(shared_data):
    """LOBSTER marks which side of the book each execution hit: Lee-Ready must agree."""
    d = shared_data / "lobster"
    msg = np.loadtxt(d / "AMZN_2012-06-21_34200000_57600000_message_1.csv", delimiter=",")
    book = np.loadtxt(d / "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv", delimiter=",")
    ex = np.flatnonzero((msg[:, 1] == 4)[1:]) + 1  # visible executions (not the first row)
    price = msg[ex, 4] / 1e4
    ask, bid = book[ex - 1, 0] / 1e4, book[ex - 1, 2] / 1e4  # quote before the trade
    truth = -msg[ex, 5]  # a resting sell order executed = buyer-initiated (+1)
    sign = F.lee_ready(price, bid, ask)
    assert (sign == truth).mean() > 0.95
    tfi = F.trade_flow_imbalance(msg[ex, 3], sign, 100)
    want = (
        pd.Series(sign * msg[ex, 3]).rolling(100).sum() / pd.Series(msg[ex, 3]).rolling(100).sum()
    )
    np.testing.assert_allclose(tfi, want.to_numpy(), rtol=1e-9, equal_nan=True)


def test_roll_kyle_amihud_against_pandas():
    d = make_inputs(500, seed=9)
    p, v, q = d["c"], d["v"], d["q"]
    dp = pd.Series(np.diff(p, prepend=np.nan))
    cov = dp.rolling(20).cov(dp.shift(1)).to_numpy()
    want = np.where(cov < 0, 2 * np.sqrt(np.abs(cov)), 0.0)
    want[np.isnan(cov)] = np.nan
    np.testing.assert_allclose(F.roll_spread(p, 20), want, rtol=1e-8, atol=1e-12, equal_nan=True)
    sv = pd.Series(q * v)
    lam = (dp.rolling(20).cov(sv) / sv.rolling(20).var()).to_numpy()
    np.testing.assert_allclose(F.kyle_lambda(p, q * v, 20), lam, rtol=1e-8, equal_nan=True)
    r = pd.Series(p).pct_change().abs() / (p * v)
    np.testing.assert_allclose(
        F.amihud(p, v, 10), r.rolling(10).mean().to_numpy(), rtol=1e-9, equal_nan=True
    )


def _vpin_reference(vol, sign, bucket, nb):
    buckets, buy, sell, out = [], 0.0, 0.0, []
    for x, s in zip(vol, sign, strict=True):
        rem = x
        while rem > 0:
            take = min(rem, bucket - buy - sell)
            if s > 0:
                buy += take
            elif s < 0:
                sell += take
            else:
                buy += take / 2
                sell += take / 2
            rem -= take
            if buy + sell >= bucket:
                buckets.append(abs(buy - sell) / bucket)
                buy = sell = 0.0
        out.append(np.mean(buckets[-nb:]) if len(buckets) >= nb else np.nan)
    return np.array(out)


def test_vpin_against_reference():
    d = make_inputs(800, seed=2)
    got = F.vpin(d["v"], d["q"], 7_000.0, 10)
    np.testing.assert_allclose(
        got, _vpin_reference(d["v"], d["q"], 7_000.0, 10), rtol=1e-9, equal_nan=True
    )
    assert np.nanmax(got) <= 1.0


def test_bad_input_names_the_argument():
    with pytest.raises(F.FeatureError, match="vpin: 'bucket_volume'"):
        F.vpin([1.0], [1.0], 0.0, 3)
    with pytest.raises(F.FeatureError, match="rsi: 'n'"):
        F.rsi([1.0, 2.0], 0)
    with pytest.raises(F.FeatureError, match="atr: 'low' has shape"):
        F.atr([1.0, 2.0], [1.0], [1.0, 2.0])

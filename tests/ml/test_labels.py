"""Triple-barrier labels, meta-labels, uniqueness weights and bet sizing on hand cases."""

from __future__ import annotations

import numpy as np
import pytest

from framework.ml.labels import (
    bet_size,
    fixed_horizon_returns,
    meta_labels,
    triple_barrier,
    uniqueness_weights,
)

CLOSE = np.array([100.0, 100.5, 101.2, 99.0, np.nan, 98.0, 100.0, 100.0, 103.0, 90.0])
LAST = np.array([7, 7, 7, 7, 7, 7, 7, 7, 9, 9])  # sessions: bars 0-7 and 8-9


def _tb(events, side, width, pt=1.0, sl=1.0, max_bars=10):
    return triple_barrier(CLOSE, LAST, np.asarray(events, np.int64),
                          np.asarray(side, np.float64), np.asarray(width, np.float64),
                          pt, sl, max_bars)


def test_profit_take_stop_loss_and_side() -> None:
    label, ret, t1 = _tb([0, 0, 2], [1, -1, 1], [0.01, 0.01, 0.01])
    assert label.tolist() == [1, -1, -1]
    assert t1.tolist() == [2, 2, 3]  # long: +1.2 % at bar 2 is the short's -1.2 % stop
    assert ret[0] == pytest.approx(0.012) and ret[1] == pytest.approx(-0.012)
    assert ret[2] == pytest.approx(99.0 / 101.2 - 1)


def test_time_barrier_stops_at_the_session_close_and_skips_missing_bars() -> None:
    label, ret, t1 = _tb([5, 7, 9], [1, 1, 1], [1.0, 1.0, 1.0])
    assert label.tolist() == [0, 0, 0]
    assert t1.tolist() == [7, 7, 9]  # never looks into the next session (bar 8)
    assert ret[0] == pytest.approx(100.0 / 98.0 - 1) and ret[1] == 0.0
    label, _, t1 = _tb([3], [1], [1.0], max_bars=2)
    assert t1.tolist() == [5]  # bar 4 has no print: the clock runs, the price is skipped


def test_a_return_exactly_on_a_barrier_touches_it() -> None:
    # 64 -> 72 is +12.5 % and 64 -> 56 is -12.5 %, both exact in binary floating point,
    # so the side-adjusted return equals the 12.5 % barrier to the last bit
    close = np.array([64.0, 72.0, 64.0, 56.0])
    last = np.full(4, 3)
    label, ret, t1 = triple_barrier(close, last, np.array([0, 0, 2, 2]),
                                    np.array([1.0, -1.0, 1.0, -1.0]), np.full(4, 0.125),
                                    1.0, 1.0, 3)
    assert ret.tolist() == [0.125, -0.125, -0.125, 0.125]
    assert label.tolist() == [1, -1, -1, 1]
    assert t1.tolist() == [1, 1, 3, 3]


def test_meta_labels_need_more_than_costs() -> None:
    assert meta_labels(np.array([0.001, 0.0001, -0.01]), 0.0002).tolist() == [1, 0, 0]


def test_uniqueness_weights() -> None:
    # a: bars 0-3 alone for 0-1, shared with b on 2-3; b: bars 2-5, alone on 4-5
    w = uniqueness_weights(np.array([0, 2]), np.array([3, 5]), 8)
    assert w.tolist() == pytest.approx([(1 + 1 + 0.5 + 0.5) / 4] * 2)
    assert uniqueness_weights(np.array([1]), np.array([1]), 3).tolist() == [1.0]


def test_bet_size() -> None:
    p = np.array([np.nan, 0.4, 0.5, 0.55, 0.7, 0.99])
    s = bet_size(p, 0.55)
    assert s[:3].tolist() == [0.0, 0.0, 0.0]
    assert 0.0 < s[3] < s[4] < s[5] <= 1.0


def test_fixed_horizon_returns() -> None:
    r = fixed_horizon_returns(np.array([1.0, 2.0, 4.0, 2.0]), 2)
    assert r[:2].tolist() == [3.0, 0.0] and np.isnan(r[2:]).all()

"""Stops fire on the first market-data event that crosses them, and never before."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from framework.risk import RiskAction, StopKind, fired_stop, set_atr, set_bracket

S = 1_000_000_000

paths = hs.lists(hs.floats(-0.03, 0.03), min_size=1, max_size=120)


def _first(cond):
    idx = np.flatnonzero(cond)
    return int(idx[0]) if idx.size else -1


@settings(max_examples=200, deadline=None)
@given(
    rets=paths,
    side=hs.sampled_from([1, -1]),
    sl=hs.floats(0.01, 0.1),
    tp=hs.floats(0.01, 0.1),
    trail=hs.floats(0.01, 0.1),
)
def test_percent_stops_fire_on_first_crossing(new_risk, rets, side, sl, tp, trail):
    r = new_risk(n_symbols=1, stop_loss_pct=sl, take_profit_pct=tp, trailing_pct=trail)
    r.mark(0, 100.0, ts=1)
    r.fill(0, side, 10, 100.0, ts=1)
    prices = 100.0 * np.cumprod(1.0 + np.asarray(rets))
    d = float(side)
    best = (
        np.maximum.accumulate(np.r_[100.0, prices])[1:]
        if side > 0
        else np.minimum.accumulate(np.r_[100.0, prices])[1:]
    )
    hit = (
        (d * (prices - 100.0 * (1 - d * sl)) <= 0)
        | (d * (prices - 100.0 * (1 + d * tp)) >= 0)
        | (d * (prices - best * (1 - d * trail)) <= 0)
    )
    expected = _first(hit)
    for i, p in enumerate(prices):
        act = r.mark(0, p, ts=2 + i)
        if i < expected or expected < 0:
            assert act == RiskAction.NONE, (i, p)
        elif i == expected:
            assert act == RiskAction.EXIT_POSITION
            assert fired_stop(r.SS, 0) != StopKind.NONE
        else:
            assert act == RiskAction.NONE  # OCO: the group fired once


def test_each_kind_and_priority(new_risk):
    r = new_risk(n_symbols=1, stop_loss_pct=0.05, take_profit_pct=0.1)
    r.fill(0, 1, 10, 100.0)
    assert r.mark(0, 95.01) == RiskAction.NONE
    assert r.mark(0, 95.0) == RiskAction.EXIT_POSITION
    assert fired_stop(r.SS, 0) == StopKind.STOP_LOSS
    r.fill(0, -1, 10, 95.0)  # exit, then a short with take-profit at 90
    r.fill(0, -1, 10, 100.0)
    assert r.SS[0]["take_profit"] == pytest.approx(90.0)
    assert r.mark(0, 90.0) == RiskAction.EXIT_POSITION
    assert fired_stop(r.SS, 0) == StopKind.TAKE_PROFIT


def test_atr_trailing_and_time_stop(new_risk):
    r = new_risk(n_symbols=1, trailing_atr_mult=2.0, time_stop_s=60)
    r.fill(0, 1, 10, 100.0, ts=0)
    set_atr(r.SS, 0, 1.5)
    assert r.mark(0, 110.0, ts=1 * S) == RiskAction.NONE  # peak 110, stop 107
    assert r.mark(0, 107.01, ts=2 * S) == RiskAction.NONE
    assert r.mark(0, 107.0, ts=3 * S) == RiskAction.EXIT_POSITION
    assert fired_stop(r.SS, 0) == StopKind.TRAILING_ATR
    r.fill(0, -1, 10, 107.0, ts=3 * S)
    r.fill(0, 1, 10, 100.0, ts=10 * S)
    set_atr(r.SS, 0, np.nan)
    assert r.mark(0, 100.0, ts=70 * S - 1) == RiskAction.NONE
    assert r.mark(0, 100.0, ts=70 * S) == RiskAction.EXIT_POSITION
    assert fired_stop(r.SS, 0) == StopKind.TIME


def test_bracket_set_by_strategy_is_oco(new_risk):
    r = new_risk(n_symbols=1)
    r.fill(0, 1, 10, 100.0)
    set_bracket(r.SS, 0, 98.0, 103.0, 0.0, 0.0, 0)
    assert r.mark(0, 102.9) == RiskAction.NONE
    assert r.mark(0, 103.0) == RiskAction.EXIT_POSITION
    assert fired_stop(r.SS, 0) == StopKind.TAKE_PROFIT
    assert r.mark(0, 97.0) == RiskAction.NONE  # the stop leg was cancelled with it
    set_bracket(r.SS, 0, 96.0, np.nan, 0.0, 0.0, 0)  # re-arm
    assert r.mark(0, 95.0) == RiskAction.EXIT_POSITION
    r.fill(0, -1, 10, 95.0)
    assert fired_stop(r.SS, 0) == StopKind.NONE  # flat: all disarmed
    assert r.mark(0, 50.0) == RiskAction.NONE

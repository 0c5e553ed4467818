"""Bar fill model rules, order types, time in force, brackets and participation."""

from __future__ import annotations

import numpy as np
import pytest

from framework.engine.event.engine import run_event
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig, cost_array
from framework.execution.fill_models.bar import bar_fill_price
from framework.risk import RiskConfig
from framework.strategy import DecisionConfig, Signals
from framework.types import OrderType
from tests.engine.engine_testkit import daily_panel

NO_COST = cost_array()
M, L, S, SL = (OrderType.MARKET.value, OrderType.LIMIT.value, OrderType.STOP.value,
               OrderType.STOP_LIMIT.value)


def fill(otype, side, limit=np.nan, stop=np.nan, o=100.0, h=102.0, lo=98.0, trig=False):
    return bar_fill_price(otype, side, limit, stop, trig, 10.0, o, h, lo, 1e6, NO_COST)


def test_market_fills_at_open_with_slippage():
    px, _, maker = bar_fill_price(M, 1, np.nan, np.nan, False, 10.0, 100.0, 101.0, 99.0, 1e6,
                                  cost_array(slippage_bps=10.0))
    assert px == pytest.approx(100.1) and not maker


@pytest.mark.parametrize(("side", "limit", "expected"), [
    (1, 101.0, 100.0),   # marketable at the open: the open
    (1, 99.0, 99.0),     # low 98 traded through 99: the limit, passive
    (1, 98.0, np.nan),   # low only touched 98: no fill (queue unknown)
    (-1, 99.0, 100.0),
    (-1, 101.0, 101.0),
    (-1, 102.0, np.nan),
])
def test_limit_needs_trade_through(side, limit, expected):
    px, _, _ = fill(L, side, limit=limit)
    np.testing.assert_equal(px, expected)


@pytest.mark.parametrize(("side", "stop", "o", "expected"), [
    (1, 101.0, 100.0, 101.0),   # triggered inside the bar: at the stop
    (1, 99.0, 100.0, 100.0),    # gapped through at the open: at the open
    (1, 103.0, 100.0, np.nan),  # never reached
    (1, 102.0, 100.0, 102.0),   # the high touches the stop: triggered (a breakout stop at
    (-1, 98.0, 100.0, 98.0),    # the prior high fires when the high only equals it)
    (-1, 99.0, 100.0, 99.0),
    (-1, 101.0, 100.0, 100.0),
])
def test_stop(side, stop, o, expected):
    px, trig, _ = fill(S, side, stop=stop, o=o)
    np.testing.assert_equal(px, expected)
    assert trig == (not np.isnan(expected))


def test_stop_limit():
    # triggered inside the bar, limit beyond the stop: fills at the stop
    assert fill(SL, 1, limit=101.5, stop=101.0)[:2] == (101.0, True)
    # triggered inside the bar, limit below the stop: rests as a limit, no fill now
    px, trig, _ = fill(SL, 1, limit=100.5, stop=101.0)
    assert np.isnan(px) and trig
    # gap through the stop and the limit at the open: triggered, unfilled
    px, trig, _ = fill(SL, 1, limit=100.5, stop=99.0, o=101.0)
    assert np.isnan(px) and trig
    # gap through the stop, open inside the limit: fills at the open
    assert fill(SL, 1, limit=102.0, stop=99.0, o=101.0)[:2] == (101.0, True)
    # already triggered: behaves as a limit
    assert fill(SL, 1, limit=99.0, stop=101.0, trig=True)[0] == 99.0


def _one_entry(panel, bar, limit=np.nan, **dec):
    e = np.zeros(panel.close.shape, np.int8)
    e[bar, 0] = 1
    lim = np.full(panel.close.shape, np.nan)
    lim[bar, 0] = limit
    return Signals.of(e, np.zeros(panel.close.shape, bool), limit=lim)


def _run(panel, sig, participation=0.0, risk=None, **dec):
    return run_event(panel, sig, decision=DecisionConfig(size_mode="shares", size=100, **dec),
                     costs=CostConfig(model="custom", slippage_bps=0.0),
                     risk=risk or RiskConfig(),
                     execution=ExecutionConfig(participation=participation), init_cash=1e6)


def test_day_limit_expires_gtc_rests_until_filled():
    panel = daily_panel(40, ["A"], 11)
    below = float(np.nanmin(panel.low[6:40, 0])) * 0.5  # never reached
    day = _run(panel, _one_entry(panel, 5, below), tif="day")
    assert day.orders["status"].to_list() == ["expired"]
    gtc = _run(panel, _one_entry(panel, 5, below), tif="gtc")
    assert gtc.orders["status"].to_list() == ["new"]  # still working at the end


def test_ioc_cancels_unfilled_rest_and_fok_refuses_partial():
    panel = daily_panel(20, ["A"], 12, volume=500.0)
    ioc = _run(panel, _one_entry(panel, 3), participation=0.1, tif="ioc")  # cap: 50 shares
    row = ioc.orders.row(0, named=True)
    assert row["status"] == "canceled" and row["filled_qty"] == pytest.approx(50.0)
    fok = _run(panel, _one_entry(panel, 3), participation=0.1, tif="fok")
    row = fok.orders.row(0, named=True)
    assert row["status"] == "canceled" and row["filled_qty"] == 0.0
    assert row["reject_reason"] == "fok_unfillable"


def test_participation_spreads_a_fill_over_bars():
    panel = daily_panel(20, ["A"], 13, volume=400.0)
    res = _run(panel, _one_entry(panel, 3), participation=0.1, tif="gtc")  # 40 per bar
    assert res.fills["qty"].to_list() == pytest.approx([40.0, 40.0, 20.0])
    assert res.orders["status"].to_list() == ["filled"]


def test_bracket_legs_are_oco():
    panel = daily_panel(120, ["A"], 14)
    res = _run(panel, _one_entry(panel, 2), tif="gtc", stop_loss_pct=0.03,
               take_profit_pct=0.03)
    legs = res.orders.filter(res.orders["role"] == "bracket_leg")
    assert legs.height == 2
    assert sorted(legs["status"].to_list()) == ["canceled", "filled"]
    entry = res.orders.row(0, named=True)
    stop = legs.filter(legs["type"] == "stop").row(0, named=True)
    take = legs.filter(legs["type"] == "limit").row(0, named=True)
    assert stop["stop_price"] == pytest.approx(entry["avg_price"] * 0.97)
    assert take["limit_price"] == pytest.approx(entry["avg_price"] * 1.03)
    assert res.equity["equity"][-1] == pytest.approx(res.equity["cash"][-1])  # flat


def test_binding_risk_limit_rejects_and_is_reported():
    panel = daily_panel(120, ["A", "B"], 15)
    rng = np.random.default_rng(0)
    e = (rng.random(panel.close.shape) < 0.2).astype(np.int8)
    x = rng.random(panel.close.shape) < 0.2
    free = _run(panel, Signals.of(e, x), tif="gtc")
    bound = _run(panel, Signals.of(e, x), tif="gtc",
                 risk=RiskConfig(max_position_shares=50))
    assert (free.orders["status"] == "rejected").sum() == 0
    rej = bound.orders.filter(bound.orders["status"] == "rejected")
    assert rej.height > 0 and set(rej["reject_reason"]) == {"max_position_shares"}
    assert bound.risk_summary["rejections"]["max_position_shares"] == rej.height
    assert (bound.risk_events["reason"] == "max_position_shares").sum() == rej.height

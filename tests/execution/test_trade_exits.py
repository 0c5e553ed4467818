"""Per-trade exits set from the strategy's arrays (issue 16): each entry carries its own
stop-loss / take-profit legs, trailing stops and holding limit; they fire at the bar and
price worked out by hand on crafted paths (bar fill model: a stop fills on a touch, a
take-profit only when the bar trades through it; trailing stops act on close marks and
exit at the next open)."""

from __future__ import annotations

import numpy as np
import pytest

from framework.engine.event.engine import run_event
from framework.execution.config import ExecutionConfig
from framework.execution.costs import NO_COSTS
from framework.risk import RiskConfig
from framework.strategy import DecisionConfig, Signals
from tests.engine.engine_testkit import path_panel


def _run(panel, entry_bars, **sig_kw):
    entry = np.zeros(panel.close.shape, np.int8)
    entry[list(entry_bars), 0] = 1
    sig = Signals.of(entry, np.zeros(panel.close.shape, bool), **sig_kw)
    return run_event(panel, sig, decision=DecisionConfig(size_mode="shares", size=10,
                                                         tif="gtc"),
                     costs=NO_COSTS, risk=RiskConfig(), execution=ExecutionConfig(),
                     init_cash=100_000.0)


def _bar(panel, res):
    """(bars, prices) of the exit fills; prices to 1e-12 relative."""
    f = res.fills.filter(res.fills["side"] == -1)
    return (np.searchsorted(panel.ts, f["ts"].to_numpy()).tolist(),
            pytest.approx(f["price"].to_list(), rel=1e-12))


def test_stop_loss_of_the_entry_fills_on_a_touch():
    # entry decided at bar 0, filled at bar 1's open 100; its stop at 95 (5 %)
    p = path_panel([100, 100, 99, 97, 96], [100, 101, 100, 98, 97], [100, 99, 96, 95, 95],
                   [100, 100, 97, 96, 96])
    res = _run(p, [0], stop_loss=np.full((5, 1), 0.05))
    assert _bar(p, res) == ([3], [95.0])  # bar 3's low touches 95


def test_take_profit_needs_the_bar_to_trade_through():
    p = path_panel([100, 100, 104, 109, 108], [100, 102, 110, 111, 109],
                   [100, 99, 103, 107, 107], [100, 101, 109, 108, 108])
    res = _run(p, [0], take_profit=0.10)  # one value for every entry: limit at 110
    assert _bar(p, res) == ([3], [110.0])  # bar 2 only touched 110; bar 3 went through


def test_each_entry_keeps_its_own_stop():
    p = path_panel([100, 100, 100, 100, 100, 100, 100, 100],
                   [100, 100, 100, 100, 100, 100, 100, 100],
                   [100, 99, 97, 99, 99, 99, 99, 94], [100] * 8)
    stops = np.full((8, 1), np.nan)
    stops[0], stops[3] = 0.02, 0.05  # first trade: 98; second trade: 95
    res = _run(p, [0, 3], stop_loss=stops)
    assert _bar(p, res) == ([2, 7], [98.0, 95.0])


def test_trailing_stop_of_the_entry_exits_at_the_next_open():
    # 5 % trailing: the peak close is 120 (bar 3), so 114 is the line; bar 4 closes 113
    p = path_panel([100, 100, 110, 118, 116, 112, 112], [100, 100, 112, 121, 117, 113, 113],
                   [100, 100, 109, 117, 112, 111, 111], [100, 105, 111, 120, 113, 112, 112])
    res = _run(p, [0], trail_pct=0.05)
    assert _bar(p, res) == ([5], [112.0])


def test_atr_trailing_stop_uses_the_strategys_atr():
    # ATR 2 USD, 3 ATRs: the line is the peak close 110 - 6 = 104; bar 4 closes at 103
    p = path_panel([100, 100, 104, 109, 105, 102], [100, 101, 106, 111, 106, 103],
                   [100, 99, 103, 108, 102, 101], [100, 100, 105, 110, 103, 102])
    res = _run(p, [0], trail_atr=3.0, atr=np.full((6, 1), 2.0))
    assert _bar(p, res) == ([5], [102.0])


def test_max_hold_of_the_entry():
    p = path_panel([100 + i for i in range(8)], [101 + i for i in range(8)],
                   [99 + i for i in range(8)], [100 + i for i in range(8)])
    hold = np.full((8, 1), np.nan)
    hold[0] = 2
    res = _run(p, [0], max_hold=hold)
    # opened at bar 1; after 2 bars in the trade (bar 3's close) exit, filled at bar 4's open
    assert _bar(p, res) == ([4], [104.0])


def test_overrides_are_validated():
    p = path_panel([100, 101], [100, 101], [100, 101], [100, 101])
    with pytest.raises(Exception, match="atr"):
        _run(p, [0], trail_atr=2.0)
    with pytest.raises(Exception, match="stop_loss"):
        _run(p, [0], stop_loss=-0.1)

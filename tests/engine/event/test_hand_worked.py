"""Engine rules pinned on bars small enough to work out by hand: borrow over 252 sessions
(and the trade P&L it reconciles with), the participation cap shared by every order of a
symbol in a bar, the cool-down's length, whole shares rounded down, and the fees of one
round trip in the event and the vectorized engine against the arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from framework.analytics.trades import round_trips
from framework.engine.event.engine import run_event
from framework.engine.vector import run_signals
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig
from framework.risk import RiskConfig
from framework.strategy import DecisionConfig, Signals
from tests.engine.engine_testkit import hand_panel

FLAT = 1e6  # volume no participation cap reaches


def _signals(panel, entries: dict[int, int], exits: tuple[int, ...] = ()) -> Signals:
    e = np.zeros(panel.close.shape, np.int8)
    x = np.zeros(panel.close.shape, bool)
    for bar, side in entries.items():
        e[bar, 0] = side
    for bar in exits:
        x[bar, 0] = True
    return Signals.of(e, x)


def _run(panel, sig, *, costs=None, participation=0.0, **decision):
    dec = {"size_mode": "shares", "size": 10, "tif": "gtc", **decision}
    return run_event(panel, sig, decision=DecisionConfig(**dec),
                     costs=costs or CostConfig(model="custom", slippage_bps=0.0),
                     risk=RiskConfig(), execution=ExecutionConfig(participation=participation),
                     init_cash=100_000.0)


def test_borrow_is_charged_per_session_over_252_and_reconciles_with_trade_pnl():
    # short 10 shares decided at bar 0's close, sold at bar 1's open (100); covered by the
    # exit decided at bar 3's close, bought at bar 4's open (60). Borrow is charged when a
    # session starts with the short on, on 10 x the previous close, at 25.2 % / 252 = 0.1 %:
    # bar 2: 10 x 100 -> 1.00; bar 3: 10 x 200 -> 2.00; bar 4 (before the cover): 10 x 50
    # -> 0.50; total 3.50 USD (over 365 sessions it would be 2.42).
    panel = hand_panel([(100, 101, 99, 100, FLAT), (100, 101, 99, 100, FLAT),
                        (150, 201, 149, 200, FLAT), (60, 61, 49, 50, FLAT),
                        (60, 61, 59, 60, FLAT), (60, 61, 59, 60, FLAT)])
    res = _run(panel, _signals(panel, {0: -1}, (3,)), allow_short=True,
               costs=CostConfig(model="custom", slippage_bps=0.0, borrow_rate=0.252))
    assert res.fills["price"].to_list() == [100.0, 60.0]
    assert res.borrow == pytest.approx(3.5, abs=1e-12)
    equity = res.equity["equity"].to_list()
    assert equity[-1] == pytest.approx(100_000 + 10 * (100 - 60) - 3.5, abs=1e-9)
    trades, _ = round_trips(res.fills)
    assert trades["pnl"].to_list() == pytest.approx([400.0])
    assert trades["pnl"].sum() - 3.5 == pytest.approx(equity[-1] - 100_000, abs=1e-9)


def test_participation_cap_is_shared_by_the_orders_of_a_symbol_in_a_bar():
    # 100 shares bought at bar 1's open 100; the bracket's stop (97) and take-profit (103)
    # both trade in bar 2 (low 96, high 104), whose volume 500 allows 10 % = 50 shares in
    # all: the stop (evaluated first) takes the 50, the take-profit nothing in that bar.
    panel = hand_panel([(100, 101, 99, 100, FLAT), (100, 101, 99, 100, FLAT),
                        (100, 104, 96, 100, 500), (100, 101, 99, 100, FLAT)])
    res = _run(panel, _signals(panel, {0: 1}), size=100, participation=0.1,
               stop_loss_pct=0.03, take_profit_pct=0.03)
    in_bar_2 = res.fills.filter(res.fills["ts"] == int(panel.ts[2]))
    assert in_bar_2.select("side", "qty", "price").rows() == [(-1, 50.0, 97.0)]


@pytest.mark.parametrize(("cooldown", "second_entry_bar"), [(0, 4), (1, 5), (2, 6)])
def test_cooldown_counts_bars_from_the_exit_fill(cooldown, second_entry_bar):
    # long from bar 1; the exit decided at bar 3 fills at bar 4's open; entry signals on
    # every bar from 4: with cooldown_bars = N the next entry is decided N bars after the
    # bar whose open closed the position (N = 0: at once, in that same bar).
    panel = hand_panel([(100, 101, 99, 100, FLAT)] * 10)
    sig = _signals(panel, {0: 1, **dict.fromkeys(range(4, 10), 1)}, (3,))
    res = _run(panel, sig, cooldown_bars=cooldown)
    entries = res.orders.filter(res.orders["role"] == "entry")["ts"].to_list()
    dec = panel.decision_ts()
    assert entries == [int(dec[0]), int(dec[second_entry_bar])]
    assert res.fills["ts"].to_list()[:2] == [int(panel.ts[1]), int(panel.ts[4])]


def test_whole_shares_round_down():
    panel = hand_panel([(100, 101, 99, 100, FLAT)] * 3)
    whole = _run(panel, _signals(panel, {0: 1}), size=10.7, whole_shares=True)
    assert whole.orders["qty"].to_list() == [10.0]
    assert _run(panel, _signals(panel, {0: 1}), size=10.7).orders["qty"].to_list() == [10.7]
    # under one share: no order at all
    assert _run(panel, _signals(panel, {0: 1}), size=0.7, whole_shares=True).orders.height == 0


def test_event_and_vector_engines_charge_the_fees_worked_out_by_hand():
    # 100 shares bought at bar 1's open 50 and sold at bar 3's open 60, 10 bps slippage,
    # $0.005/share with a $1 minimum, 2 bps of notional:
    # buy  at 50 x 1.001 = 50.05: 0.5 -> $1 minimum + 5005.0 x 2e-4 = 2.001
    # sell at 60 x 0.999 = 59.94: $1 minimum + 5994.0 x 2e-4 = 2.1988
    panel = hand_panel([(50, 51, 49, 50, FLAT), (50, 51, 49, 50, FLAT),
                        (55, 56, 54, 55, FLAT), (60, 61, 59, 60, FLAT),
                        (60, 61, 59, 60, FLAT)])
    sig = _signals(panel, {0: 1}, (2,))
    costs = CostConfig(model="custom", per_share=0.005, min_fee=1.0, fee_bps=2.0,
                       slippage_bps=10.0)
    ev = _run(panel, sig, size=100, costs=costs)
    vec = run_signals(panel.open, panel.close, sig.entry > 0, sig.exit, init_cash=100_000.0,
                      size_mode="shares", size=100, costs=costs)
    final = 100_000 - 5005.0 - 2.001 + 5994.0 - 2.1988
    for prices, fees, equity in ((ev.fills["price"], ev.fills["fee"], ev.equity["equity"][-1]),
                                 (vec.fills["price"], vec.fills["fee"], vec.equity[-1])):
        assert list(prices) == pytest.approx([50.05, 59.94], rel=1e-15)
        assert list(fees) == pytest.approx([2.001, 2.1988], rel=1e-12)
        assert equity == pytest.approx(final, rel=1e-12)

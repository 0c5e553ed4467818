"""The event-driven and vectorized engines agree on signal-driven bar-fill strategies:
same fills, same equity to 1e-9, on random multi-symbol signals and costs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.engine.event.engine import run_event
from framework.engine.vector import run_signals
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig
from framework.risk import RiskConfig
from framework.strategy import DecisionConfig, Signals
from tests.engine.engine_testkit import daily_panel


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_sym=st.integers(1, 4),
       per_share=st.sampled_from([0.0, 0.005]), min_fee=st.sampled_from([0.0, 1.0]),
       fee_bps=st.floats(0, 5), slip_bps=st.floats(0, 20), p=st.floats(0.02, 0.3))
def test_same_trades_and_equity(seed, n_sym, per_share, min_fee, fee_bps, slip_bps, p):
    symbols = [f"S{i}" for i in range(n_sym)]
    panel = daily_panel(120, symbols, seed)
    rng = np.random.default_rng(seed + 1)
    shape = panel.close.shape
    entries, exits = rng.random(shape) < p, rng.random(shape) < p
    costs = CostConfig(model="custom", per_share=per_share, min_fee=min_fee, fee_bps=fee_bps,
                       slippage_bps=slip_bps)
    ev = run_event(panel, Signals.of(entries.astype(np.int8), exits),
                   decision=DecisionConfig(size_mode="shares", size=25, tif="gtc"),
                   costs=costs,
                   risk=RiskConfig(), execution=ExecutionConfig(), init_cash=1e7)
    vec = run_signals(panel.open, panel.close, entries, exits, init_cash=1e7,
                      size_mode="shares", size=25,
                      costs=costs)
    f_ev, f_vec = ev.fills, vec.fills
    assert f_ev.height == f_vec.height
    bar_of_fill = np.searchsorted(panel.ts, f_ev["ts"].to_numpy())
    np.testing.assert_array_equal(bar_of_fill, f_vec["bar"].to_numpy())
    np.testing.assert_array_equal([symbols.index(s) for s in f_ev["symbol"]],
                                  f_vec["symbol"].to_numpy())
    np.testing.assert_allclose(f_ev["side"] * f_ev["qty"], f_vec["qty"], rtol=1e-12)
    np.testing.assert_allclose(f_ev["price"], f_vec["price"], rtol=1e-12)
    np.testing.assert_allclose(f_ev["fee"], f_vec["fee"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ev.equity["equity"], vec.equity, rtol=1e-9)


def test_alpaca_sell_fees_are_charged_on_sells_only():
    panel = daily_panel(30, ["A"], 3)
    entries = np.zeros(panel.close.shape, bool)
    exits = np.zeros_like(entries)
    entries[2, 0] = True
    exits[10, 0] = True
    ev = run_event(panel, Signals.of(entries.astype(np.int8), exits),
                   decision=DecisionConfig(size_mode="shares", size=1000, tif="gtc"),
                   costs=CostConfig(model="alpaca", slippage_bps=0.0), risk=RiskConfig(),
                   execution=ExecutionConfig(), init_cash=1e6)
    buy, sell = ev.fills.row(0, named=True), ev.fills.row(1, named=True)
    assert buy["fee"] == 0.0
    expected = 1000 * sell["price"] * 27.8e-6 + min(1000 * 1.66e-4, 8.30)
    assert sell["fee"] == pytest.approx(expected, rel=1e-12)

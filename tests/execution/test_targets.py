"""Target mode (issue 16): the strategy says what to hold, the engine trades the
difference at the next fill opportunity — equal to the vectorized engine's
``run_targets`` on everything both express, and pinned by hand on small cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.engine.event.engine import run_event
from framework.engine.vector import run_targets
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig
from framework.risk import RiskConfig
from framework.strategy import DecisionConfig, Signals
from framework.strategy.signals import SignalError
from tests.engine.engine_testkit import daily_panel, path_panel

CONSTRUCTORS = {"weight": Signals.target_weights, "shares": Signals.target_shares,
                "value": Signals.target_values}


def _with_gaps(panel, rng, p=0.05):
    """Knock out whole bars of some symbols (no print: NaN prices, no volume)."""
    gone = rng.random(panel.close.shape) < p
    gone[0] = False
    arrays = {f: getattr(panel, f).copy() for f in ("open", "high", "low", "close", "vwap")}
    for a in arrays.values():
        a[gone] = np.nan
    vol = panel.volume.copy()
    vol[gone] = 0.0
    return panel.__class__(panel.symbols, panel.timeframe, panel.bar_ns, panel.ts,
                           arrays["open"], arrays["high"], arrays["low"], arrays["close"], vol,
                           arrays["vwap"], panel.session, panel.session_open,
                           panel.session_close)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_sym=st.integers(1, 4),
       unit=st.sampled_from(["weight", "shares", "value"]), shorts=st.booleans(),
       whole=st.booleans(), band=st.sampled_from([0.0, 0.02]),
       min_value=st.sampled_from([0.0, 2_000.0]), fee_bps=st.floats(0, 10),
       slip_bps=st.floats(0, 20), per_share=st.sampled_from([0.0, 0.005]))
def test_target_mode_equals_the_vector_engine(seed, n_sym, unit, shorts, whole, band,
                                              min_value, fee_bps, slip_bps, per_share):
    rng = np.random.default_rng(seed)
    panel = _with_gaps(daily_panel(150, [f"S{i}" for i in range(n_sym)], seed), rng)
    shape = panel.close.shape
    scale = {"weight": 1.0 / n_sym, "shares": 400.0, "value": 20_000.0}[unit]
    tg = rng.uniform(-1.0 if shorts else 0.0, 1.0, shape) * scale
    tg[rng.random(shape) < 0.6] = np.nan  # most bars: no change
    costs = CostConfig(model="custom", per_share=per_share, fee_bps=fee_bps, slippage_bps=slip_bps)
    ev = run_event(panel, CONSTRUCTORS[unit](tg),
                   decision=DecisionConfig(mode="target", whole_shares=whole,
                                           rebalance_band=band, min_order_value=min_value),
                   costs=costs, risk=RiskConfig(), execution=ExecutionConfig(), init_cash=1e5)
    eq, pos, metrics = run_targets(panel.open, panel.close, tg, unit=unit, init_cash=1e5,
                                   rebalance_band=band, min_order_value=min_value,
                                   whole_shares=whole, costs=costs)
    np.testing.assert_allclose(ev.positions.drop("ts").to_numpy(), pos, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ev.equity["equity"].to_numpy(), eq, rtol=1e-9)
    assert ev.fills.height == metrics["n_fills"]


def test_monthly_rebalance_to_fixed_weights_by_hand():
    """40/30/20/10 on the first session of each month, prices flat at 100, 50, 20, 10:
    each symbol holds weight x equity / price from the first rebalance on, and every
    month's drift (there is none at flat prices) trades nothing."""
    panel = daily_panel(130, ["A", "B", "C", "D"], 0)
    px = np.array([100.0, 50.0, 20.0, 10.0])
    flat = np.broadcast_to(px, panel.close.shape).copy()
    panel = panel.__class__(panel.symbols, "1d", panel.bar_ns, panel.ts, flat, flat, flat, flat,
                            np.full(flat.shape, 1e6), flat, panel.session, panel.session_open,
                            panel.session_close)
    months = np.array([np.datetime64(int(t), "ns").astype("datetime64[M]")
                       for t in panel.ts])
    w = np.full(flat.shape, np.nan)
    first = np.r_[True, months[1:] != months[:-1]]
    w[first] = [0.4, 0.3, 0.2, 0.1]
    res = run_event(panel, Signals.target_weights(w), decision=DecisionConfig(mode="target"),
                    costs=CostConfig(model="custom", slippage_bps=0.0), risk=RiskConfig(),
                    execution=ExecutionConfig(), init_cash=100_000.0)
    assert res.fills.height == 4  # one buy each; later months are already on target
    held = res.positions.drop("ts").to_numpy()[-1]
    np.testing.assert_allclose(held, [400.0, 600.0, 1000.0, 1000.0])
    assert res.ignored["target_in_band"] == 4 * (int(first.sum()) - 1)


def test_a_target_inside_the_band_trades_nothing():
    panel = path_panel([100, 100, 100, 100], [100] * 4, [100] * 4, [100] * 4)
    w = np.array([[0.5], [0.51], [0.7], [np.nan]])
    res = run_event(panel, Signals.target_weights(w),
                    decision=DecisionConfig(mode="target", rebalance_band=0.05),
                    costs=CostConfig(model="custom", slippage_bps=0.0), risk=RiskConfig(),
                    execution=ExecutionConfig(), init_cash=10_000.0)
    # 0.5 -> 50 shares; 0.51 is 100 USD away (< 5 % of 10,000): skipped; 0.7 -> +20 shares
    np.testing.assert_allclose(res.fills["qty"].to_numpy(), [50.0, 20.0])
    assert res.ignored == {"target_in_band": 1}


def test_a_target_waits_for_its_symbol_to_print():
    nan = np.nan
    panel = path_panel([100, nan, nan, 104], [100, nan, nan, 104], [100, nan, nan, 104],
                       [100, nan, nan, 104])
    w = np.array([[1.0], [nan], [nan], [nan]])
    res = run_event(panel, Signals.target_weights(w), decision=DecisionConfig(mode="target"),
                    costs=CostConfig(model="custom", slippage_bps=0.0), risk=RiskConfig(),
                    execution=ExecutionConfig(), init_cash=10_400.0)
    fill = res.fills.row(0, named=True)
    assert fill["price"] == 104.0 and fill["qty"] == pytest.approx(100.0)


def test_target_signals_need_target_mode():
    panel = path_panel([100, 101], [100, 101], [100, 101], [100, 101])
    kw = dict(costs=CostConfig(), risk=RiskConfig(), execution=ExecutionConfig())
    with pytest.raises(SignalError, match="mode"):
        run_event(panel, Signals.target_weights(np.ones((2, 1))), decision=DecisionConfig(),
                  **kw)
    with pytest.raises(SignalError, match="target"):
        run_event(panel, Signals.of(np.zeros((2, 1)), np.zeros((2, 1), bool)),
                  decision=DecisionConfig(mode="target"), **kw)

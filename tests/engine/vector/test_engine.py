"""Vectorized engine: hand-checked accounting, sizing, costs, target weights, errors."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from framework.engine.vector import VectorEngineError, run_signals, run_target_weights
from framework.execution.costs import CostConfig


def test_round_trip_accounting_by_hand():
    o = np.array([10.0, 11.0, 12.0, 13.0])
    c = np.array([10.5, 11.5, 12.5, 13.5])
    en = np.array([True, False, False, False])
    ex = np.array([False, True, False, False])
    costs = CostConfig(model="custom", per_share=0.01, min_fee=1.0, fee_bps=10.0,
                       slippage_bps=100.0)
    r = run_signals(o, c, en, ex, init_cash=10_000.0, size_mode="shares", size=200.0, costs=costs)
    buy_px = 11.0 * 1.01  # signal at bar 0's close, filled at bar 1's open plus 1% slippage
    buy_fee = max(200 * 0.01, 1.0) + 200 * buy_px * 1e-3
    sell_px = 12.0 * 0.99
    sell_fee = max(200 * 0.01, 1.0) + 200 * sell_px * 1e-3
    assert r.fills["bar"].to_list() == [1, 2]
    np.testing.assert_allclose(r.fills["price"].to_numpy(), [buy_px, sell_px], rtol=1e-15)
    np.testing.assert_allclose(r.fills["fee"].to_numpy(), [buy_fee, sell_fee], rtol=1e-15)
    cash1 = 10_000.0 - 200 * buy_px - buy_fee
    np.testing.assert_allclose(r.equity, [10_000.0, cash1 + 200 * 11.5, cash1 + 200 * sell_px - sell_fee,
                                          cash1 + 200 * sell_px - sell_fee], rtol=1e-14)  # fmt: skip
    assert r.metrics["n_fills"] == 2 and r.metrics["n_entries"] == 1
    assert r.metrics["exposure"] == pytest.approx(0.25)


def test_min_fee_binds_and_all_in_spends_all_cash():
    o = np.full(3, 50.0)
    c = np.full(3, 50.0)
    costs = CostConfig(model="custom", per_share=0.001, min_fee=5.0, slippage_bps=0.0)
    r = run_signals(
        o, c, np.array([True, False, False]), np.zeros(3, bool), init_cash=1000.0, costs=costs
    )
    assert r.fills["fee"][0] == pytest.approx(5.0)  # 19.9 shares * 0.001 < 5 USD minimum
    assert r.cash[1] == pytest.approx(0.0, abs=1e-9)
    assert r.fills["qty"][0] == pytest.approx(995.0 / 50.0)


def test_shared_cash_first_symbol_takes_it_all_and_nan_open_drops_order():
    o = np.array([[10.0, 20.0], [10.0, 20.0], [np.nan, 20.0], [10.0, 20.0]])
    c = np.where(np.isnan(o), 10.0, o)
    en = np.array([[True, True], [False, False], [False, False], [False, False]])
    ex = np.array([[False, False], [True, False], [False, False], [False, False]])
    r = run_signals(o, c, en, ex, init_cash=1000.0)
    # Symbol 0 buys all-in at bar 1; symbol 1 finds no cash; the exit of bar 1 meets a NaN open.
    assert r.fills.height == 1 and r.fills["symbol"][0] == 0
    np.testing.assert_allclose(r.equity[-1], 1000.0)


def test_conflicting_signals_cancel():
    o = c = np.linspace(10, 20, 5)
    r = run_signals(o, c, np.array([True, False, False, False, False]), np.array([True] * 5))
    assert r.fills.height == 0


def test_target_weights_buy_and_hold_and_rebalance():
    rng = np.random.default_rng(3)
    T = 300
    c = 30 * np.exp(np.cumsum(rng.normal(0, 0.01, (T, 2)), axis=0))
    o = c * np.exp(rng.normal(0, 0.002, (T, 2)))
    w = np.full((T, 2), np.nan)
    w[0] = [1.0, 0.0]
    eq, pos, m = run_target_weights(o, c, w, init_cash=1e5)
    np.testing.assert_allclose(eq[1:], 1e5 / o[1, 0] * c[1:, 0], rtol=1e-12)
    assert m["n_fills"] == 1
    w2 = np.full((T, 2), 0.5)
    costs = CostConfig(model="custom", fee_bps=5.0, slippage_bps=0.0)
    eq2, pos2, m2 = run_target_weights(o, c, w2, init_cash=1e5, costs=costs)
    # Each rebalance sets both legs to half of the equity at the decision close, in shares
    # at that close's prices (less fees on the buys): the legs are worth the same there.
    val = pos2[100] * c[99]
    assert val[0] == pytest.approx(val[1], rel=2e-3)
    assert m2["fees"] > 0 and m2["n_fills"] > 2


def test_negative_cost_is_refused_naming_the_key():
    # The vector engine takes the strategy TOML's [costs] model: its checks are CostConfig's.
    with pytest.raises(ValidationError, match="fee_bps"):
        CostConfig(model="custom", fee_bps=-1.0)


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"size_mode": "lots"}, "size_mode"),
        ({"size": float("inf")}, "size"),
        ({"init_cash": 0.0}, "init_cash"),
    ],
)
def test_bad_input_is_named(kwargs, msg):
    x = np.ones(5)
    with pytest.raises(VectorEngineError, match=msg):
        run_signals(x, x, x > 0, x < 0, **kwargs)
    with pytest.raises(VectorEngineError, match="shape"):
        run_signals(x, np.ones(6), x > 0, x < 0)

"""Order-table sizing: ``run_event`` sizes the tables from the signals so a busy run
never stops to grow them, and a run that grows from a tiny table gives the same result;
``result_of`` of a state that goes on advancing (the live driver's) is a snapshot."""

from __future__ import annotations

import numpy as np
from polars.testing import assert_frame_equal

from framework.engine.event.engine import (
    advance,
    new_state,
    order_capacity,
    result_of,
    run_event,
)
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig
from framework.risk import RiskConfig
from framework.strategy import DecisionConfig, Signals
from tests.engine.engine_testkit import daily_panel

KW = dict(decision=DecisionConfig(size_mode="shares", size=10, tif="gtc", stop_loss_pct=0.05,
                                  take_profit_pct=0.05),
          costs=CostConfig(model="custom", fee_bps=1.0), risk=RiskConfig(),
          execution=ExecutionConfig(), init_cash=1e7)


def _busy():
    panel = daily_panel(700, [f"S{i}" for i in range(24)], 11)
    rng = np.random.default_rng(2)
    entries = (rng.random(panel.close.shape) < 0.4).astype(np.int8)
    return panel, Signals.of(entries, rng.random(panel.close.shape) < 0.4)


def test_busy_run_fits_the_sized_tables():
    panel, sig = _busy()
    cap = order_capacity(panel, sig, KW["decision"])
    res = run_event(panel, sig, **KW)
    assert res.orders.height > 4096  # more than the default table: it would have grown
    assert res.state.orders.orders.shape[0] == cap  # never grown
    assert res.orders.height <= cap


def test_growing_from_a_tiny_table_changes_nothing():
    panel, sig = _busy()
    tiny = new_state(panel.symbols, panel.n_bars, capacity=8, **KW)
    advance(tiny, panel, sig, 0, panel.n_bars)
    grown, sized = result_of(tiny, panel), run_event(panel, sig, **KW)
    assert tiny.orders.orders.shape[0] > 8
    for name in ("orders", "fills", "equity", "positions", "risk_events"):
        assert_frame_equal(getattr(grown, name), getattr(sized, name))


def test_result_of_a_state_that_goes_on_is_a_snapshot():
    # run_event's frames are built when first read; result_of's at once, so the frames
    # of the first half stay the first half's after the state runs on (a live session's
    # ``result()`` mid-run): equal to those of a state that stopped there
    panel, sig = _busy()
    half = panel.n_bars // 2
    cap = order_capacity(panel, sig, KW["decision"])
    going, stopped = (new_state(panel.symbols, panel.n_bars, **KW, capacity=cap)
                      for _ in range(2))
    advance(going, panel, sig, 0, half)
    advance(stopped, panel, sig, 0, half)
    snap = result_of(going, panel, half)
    n_fills = int(going.tally["n_fills"])
    advance(going, panel, sig, half, panel.n_bars)
    assert int(going.tally["n_fills"]) > n_fills  # the state did move on
    still = result_of(stopped, panel, half)
    assert snap.orders["status"].is_in(["pending", "new"]).any()  # some were open then
    for name in ("orders", "fills", "equity", "positions", "risk_events"):
        assert_frame_equal(getattr(snap, name), getattr(still, name))

"""Quote fill model: spread crossing, displayed size, trade-through for resting limits,
stops on the touch, and latency measured against the quote stream."""

from __future__ import annotations

import numpy as np
import pytest

from framework.engine.event.engine import run_event
from framework.engine.event.quotes import QuoteTape
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig, cost_array
from framework.execution.fill_models.quote import quote_fill
from framework.risk import RiskConfig
from framework.strategy import DecisionConfig, Signals
from framework.types import OrderType
from tests.engine.engine_testkit import daily_panel

C = cost_array()
M, L, S, SL = (OrderType.MARKET.value, OrderType.LIMIT.value, OrderType.STOP.value,
               OrderType.STOP_LIMIT.value)


def q(otype, side, limit=np.nan, stop=np.nan, arrival=True, bid=99.9, bsz=300.0, ask=100.1,
      asz=200.0):
    return quote_fill(otype, side, limit, stop, arrival, bid, bsz, ask, asz, C)


def test_market_crosses_the_spread_up_to_displayed_size():
    assert q(M, 1)[:2] == (100.1, 200.0)
    assert q(M, -1)[:2] == (99.9, 300.0)


def test_limit_marketable_at_arrival_takes_the_quote():
    px, size, _, maker = q(L, 1, limit=100.5)
    assert (px, size, maker) == (100.1, 200.0, False)


def test_resting_limit_needs_the_quote_to_trade_through():
    assert np.isnan(q(L, 1, limit=100.1, arrival=False)[0])  # ask touches: no fill
    px, _, _, maker = q(L, 1, limit=100.2, arrival=False)  # ask 100.1 < 100.2
    assert px == 100.2 and maker
    assert np.isnan(q(L, -1, limit=99.9, arrival=False)[0])
    assert q(L, -1, limit=99.8, arrival=False)[0] == 99.8


def test_stop_and_stop_limit_trigger_on_the_touch():
    assert np.isnan(q(S, 1, stop=100.2)[0])
    px, _, trig, _ = q(S, 1, stop=100.1)
    assert px == 100.1 and trig
    px, _, trig, _ = q(SL, 1, limit=100.0, stop=100.1)  # triggered, limit below the ask
    assert np.isnan(px) and trig
    assert q(SL, -1, limit=99.5, stop=99.9)[0] == 99.9


def test_latency_decides_which_quote_fills():
    panel = daily_panel(3, ["A"], 5)
    # one quote every 10 ms from the open of the session after the decision
    t0 = int(panel.decision_ts()[0])
    start = int(panel.ts[1])
    qts = np.r_[start + np.arange(0, 1_000_000_000, 10_000_000)]
    n = qts.size
    asks = 100.0 + np.arange(n) * 0.01
    tape = QuoteTape(qts.astype(np.int64), np.zeros(n, np.int32), asks - 0.02,
                     np.full(n, 500.0), asks, np.full(n, 500.0))
    entry = np.zeros(panel.close.shape, np.int8)
    entry[0, 0] = 1
    sig = Signals.of(entry, np.zeros(panel.close.shape, bool))
    fills = {}
    overnight_ms = (start - t0) / 1e6  # the decision is at the close; quotes start next open
    for lat_ms in (0.0, overnight_ms + 55.0):
        arrive = t0 + int(lat_ms * 1e6)
        res = run_event(panel, sig, decision=DecisionConfig(size_mode="shares", size=100),
                        costs=CostConfig(model="custom", slippage_bps=0.0), risk=RiskConfig(),
                        execution=ExecutionConfig(fill_model="quote", latency_ms=lat_ms),
                        init_cash=1e6, quotes=tape)
        f = res.fills.row(0, named=True)
        k = int(np.searchsorted(qts, max(arrive, start)))
        assert f["ts"] == qts[k] and f["price"] == pytest.approx(asks[k])
        fills[lat_ms] = f["price"]
    assert fills[overnight_ms + 55.0] == pytest.approx(asks[6])  # 55 ms in: the 7th quote
    assert fills[0.0] == pytest.approx(asks[0])

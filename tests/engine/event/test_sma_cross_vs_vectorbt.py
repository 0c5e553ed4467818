"""``sma_cross`` in fw and in vectorbt with identical assumptions (next-open fills,
fixed share size, bps fees and slippage, shared cash) on real daily bars and on the
synthetic lake: the same trades and the same final equity; and a signal on the last bar,
worked out by hand, which neither engine may fill."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from framework.engine.backtest import run_backtest
from framework.engine.event.engine import run_event
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig
from framework.risk import RiskConfig
from framework.strategy import DecisionConfig, Signals
from tests.engine.engine_testkit import backtrader_daily_lake, hand_panel

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = {"decision.size_mode": "shares", "decision.size": 100, "decision.tif": "gtc",
            "costs.model": "custom", "costs.fee_bps": 2.0, "costs.slippage_bps": 3.0,
            "backtest.initial_cash": 1e7, "params.fast": 10, "params.slow": 40}


def _vectorbt_same(run):
    vbt = pytest.importorskip("vectorbt")
    p, sig = run.panel, run.signals
    entries, exits = sig.entry == 1, sig.exit.copy()
    entries[-1], exits[-1] = False, False  # fw has no next bar to fill these on
    next_open = np.vstack([p.open[1:], p.open[-1:]])
    pf = vbt.Portfolio.from_signals(p.close, entries, exits, price=next_open, size=100,
                                    fees=2e-4, slippage=3e-4, init_cash=1e7,
                                    cash_sharing=True, group_by=True, call_seq="default")
    return pf


def _compare(run):
    pf = _vectorbt_same(run)
    rec = pf.orders.records_readable
    fills = run.result.fills
    assert fills.height == len(rec) > 0
    np.testing.assert_allclose(fills["price"].to_numpy(), rec["Price"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(fills["qty"].to_numpy(), rec["Size"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(fills["fee"].to_numpy(), rec["Fees"].to_numpy(), rtol=1e-9)
    final_vbt = float(np.asarray(pf.value())[-1])
    assert run.result.equity["equity"][-1] == pytest.approx(final_vbt, rel=1e-9)


def test_real_daily_bars(shared_data, tmp_path):
    lake = backtrader_daily_lake(shared_data, tmp_path / "lake")
    run = run_backtest(ROOT / "strategies" / "sma_cross.toml",
                       {**SETTINGS, "symbols": ["NVDA", "ORCL"]}, lake_root=lake.root,
                       write=False)
    assert run.panel.n_bars > 3000
    _compare(run)


def test_synthetic_lake(small_lake):
    run = run_backtest(ROOT / "strategies" / "sma_cross.toml",
                       {**SETTINGS, "data.timeframe": "1m"}, lake_root=small_lake,
                       write=False)
    _compare(run)


def test_a_signal_on_the_last_bar_has_no_next_open_to_fill_at():
    # opens 100, 110, 120: the entry decided at bar 0's close buys 10 at bar 1's open
    # (110), the exit decided at bar 1's close sells at bar 2's open (120); the entry
    # decided at bar 2's close, the last bar, has no later open and must not fill. Fed
    # next opens padded with the last bar's own open (120, a price from before that
    # decision), vectorbt fills it there: the 3-6 extra fills it had in bench_engine's
    # 100-symbol runs were all such last-bar signals. With no price for the last row
    # (NaN) it ignores the order, as fw does.
    vbt = pytest.importorskip("vectorbt")
    panel = hand_panel([(100, 101, 99, 100, 1e6), (110, 111, 109, 110, 1e6),
                        (120, 121, 119, 120, 1e6)])
    entries = np.array([[1], [0], [1]], np.int8)
    exits = np.array([[False], [True], [False]])
    res = run_event(panel, Signals.of(entries, exits),
                    decision=DecisionConfig(size_mode="shares", size=10, tif="gtc"),
                    costs=CostConfig(model="custom", slippage_bps=0.0), risk=RiskConfig(),
                    execution=ExecutionConfig(), init_cash=1e5)
    assert res.fills.select("side", "qty", "price").rows() == [(1, 10.0, 110.0),
                                                               (-1, 10.0, 120.0)]
    assert res.fills["ts"].to_list() == [int(panel.ts[1]), int(panel.ts[2])]
    assert res.equity["equity"][-1] == pytest.approx(1e5 + 10 * (120 - 110), abs=1e-9)
    for engine in ("numba", "rust"):
        pf = vbt.Portfolio.from_signals(panel.close, entries == 1, exits,
                                        price=np.array([[110.0], [120.0], [np.nan]]),
                                        size=10, init_cash=1e5, engine=engine)
        rec = pf.orders.records_readable
        assert rec[["Size", "Price"]].values.tolist() == [[10.0, 110.0], [10.0, 120.0]]

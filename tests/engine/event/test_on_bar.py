"""The event-driven form (``on_bar`` / ``on_fill``, issue 16): the same fills as the
signals form of the same rule, under both drivers; fills delivered in order before the
next ``on_bar``; what the strategy can see ends at the current bar; a failure names the
strategy's file and line."""

from __future__ import annotations

import numpy as np
import pytest

from framework.engine.event.engine import run_event
from framework.engine.event.on_bar import OnBarRunner, blank_signals
from framework.engine.lookahead import guard_on_bar
from framework.engine.run_config import StrategyConfig
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig
from framework.risk import RiskConfig
from framework.strategy import DecisionConfig, Signals, Strategy
from framework.strategy.base import StrategyRunError
from framework.strategy.context import ContextError
from tests.engine.engine_testkit import daily_panel

KW = dict(costs=CostConfig(model="custom", fee_bps=1.0, slippage_bps=2.0), risk=RiskConfig(),
          execution=ExecutionConfig())


def _rule(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Up two closes in a row: enter; down two in a row: exit (exact comparisons)."""
    up = np.zeros(close.shape, bool)
    down = np.zeros(close.shape, bool)
    up[2:] = (close[2:] > close[1:-1]) & (close[1:-1] > close[:-2])
    down[2:] = (close[2:] < close[1:-1]) & (close[1:-1] < close[:-2])
    return up, down


class TwoUp(Strategy):
    """The rule above, bar by bar, buying 10 shares and closing the position."""

    def on_start(self, ctx):
        self.fills = []
        self.seen = []

    def on_fill(self, ctx, fill):
        self.fills.append((ctx.t, fill))

    def on_bar(self, ctx):
        self.seen.append(ctx.history("close").shape[0])
        c = ctx.history("close", 3)
        if c.shape[0] < 3:
            return
        for s in range(len(ctx.symbols)):
            up = c[2, s] > c[1, s] > c[0, s]
            down = c[2, s] < c[1, s] < c[0, s]
            pos = ctx.position(s)
            working = ctx.orders(s)
            if pos == 0.0 and not working and up and not down:
                ctx.buy(s, 10)
            elif pos > 0.0 and not working and down and not up:
                ctx.close_position(s)


def _strategy(cls=TwoUp):
    return cls(cls.Params(), None)


def test_on_bar_makes_the_trades_of_the_signals_form():
    panel = daily_panel(200, ["A", "B", "C"], 4)
    up, down = _rule(panel.close)
    dec = DecisionConfig(size_mode="shares", size=10, tif="day")
    sig = run_event(panel, Signals.of(up.astype(np.int8), down), decision=dec, **KW)
    strat = _strategy()
    ev = run_event(panel, blank_signals(panel), decision=dec, hook=OnBarRunner(strat), **KW)
    assert ev.fills.height == sig.fills.height > 20
    assert ev.fills.equals(sig.fills)
    np.testing.assert_array_equal(ev.equity["equity"], sig.equity["equity"])
    # every fill reached on_fill once, in order, at the close of the bar it filled in
    assert [f.order_id for _, f in strat.fills] == ev.fills["order_id"].to_list()
    bars = np.searchsorted(panel.ts, ev.fills["ts"].to_numpy())
    assert [t for t, _ in strat.fills] == bars.tolist()
    # the context saw bars 0..t at bar t, never more
    assert strat.seen == list(range(1, panel.n_bars + 1))


class Raises(Strategy):
    def on_bar(self, ctx):
        if ctx.t == 5:
            raise ZeroDivisionError("boom")


def test_a_failure_names_the_strategy_file_and_line():
    panel = daily_panel(20, ["A"], 1)
    with pytest.raises(StrategyRunError) as err:
        run_event(panel, blank_signals(panel), decision=DecisionConfig(),
                  hook=OnBarRunner(_strategy(Raises)), **KW)
    msg = str(err.value)
    assert "test_on_bar.py:" in msg and "bar 5" in msg and "ZeroDivisionError" in msg


class Everything(Strategy):
    """value / fraction sizes, a limit, a target, a cancel and bad input."""

    def on_start(self, ctx):
        self.errors = []

    def on_bar(self, ctx):
        if ctx.t == 1:
            ctx.buy("A", value=5_000.0)
            ctx.buy("B", fraction=0.1, limit=ctx.close[1] * 0.5, tif="gtc")  # never fills
        if ctx.t == 3:
            for o in ctx.orders("B"):
                ctx.cancel(o.order_id)
            ctx.target("C", weight=0.2)
        if ctx.t == 4:
            for bad in (lambda: ctx.buy("ZZZ", 1), lambda: ctx.buy("A"),
                        lambda: ctx.buy("A", 1, value=2.0), lambda: ctx.buy("A", 1, tif="x")):
                try:
                    bad()
                except ContextError as err:
                    self.errors.append(str(err))


def test_sizes_targets_cancels_and_bad_input():
    panel = daily_panel(10, ["A", "B", "C"], 2)
    strat = _strategy(Everything)
    res = run_event(panel, blank_signals(panel), decision=DecisionConfig(), hook=OnBarRunner(
        strat), costs=CostConfig(model="custom", slippage_bps=0.0), risk=RiskConfig(),
        execution=ExecutionConfig(), init_cash=100_000.0)
    f = res.fills
    a = f.filter(f["symbol"] == "A").row(0, named=True)
    assert a["qty"] == pytest.approx(5_000.0 / panel.open[2, 0])  # sized at the fill's open
    assert f.filter(f["symbol"] == "B").height == 0
    b = res.orders.filter(res.orders["symbol"] == "B").row(0, named=True)
    assert b["status"] == "canceled" and b["type"] == "limit"
    c = f.filter(f["symbol"] == "C").row(0, named=True)
    # a weight becomes shares at the decision: of the equity and the price at bar 3's close
    assert c["qty"] == pytest.approx(0.2 * res.equity["equity"][3] / panel.close[3, 2],
                                     rel=1e-12)
    assert len(strat.errors) == 4
    assert "unknown symbol 'ZZZ'" in strat.errors[0]


class PeeksAhead(TwoUp):
    """TwoUp with one leak: it reads tomorrow's close through the context's private arrays
    (what a precomputed whole-series indicator amounts to)."""

    def on_bar(self, ctx):
        nxt = ctx._bars["close"][min(ctx.t + 1, len(ctx._bars["close"]) - 1)]
        for s in range(len(ctx.symbols)):
            if ctx.position(s) == 0.0 and not ctx.orders(s) and nxt[s] > ctx.close[s]:
                ctx.buy(s, 10)
            elif ctx.position(s) > 0.0 and not ctx.orders(s) and nxt[s] < ctx.close[s]:
                ctx.close_position(s)


@pytest.mark.parametrize(("cls", "ok"), [(TwoUp, True), (PeeksAhead, False)])
def test_the_look_ahead_guard_compares_the_orders_of_an_event_driven_strategy(cls, ok):
    panel = daily_panel(120, ["A", "B"], 5)
    cfg = StrategyConfig(name="t", strategy="x.y:Z", symbols=["A", "B"],
                         decision=DecisionConfig(size_mode="shares", size=10), **KW)
    rep = guard_on_bar(_strategy(cls), panel, cfg, "t.toml")
    assert rep.ok == ok, rep.problems
    assert rep.change_bars > 0 and rep.cuts
    if not ok:
        assert "orders decided before the cut differ" in rep.problems[0]

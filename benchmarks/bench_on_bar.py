"""Event-driven strategies (``on_bar``): fw against backtesting.py on the same bars and the
same rule, whole call against whole call, one thread each, warm (compiled) and cold.

Two rules on one symbol of one-minute bars:

* ``read``: look at the bar and the position, never trade (the per-bar overhead);
* ``momentum``: buy 10 shares after a higher close when flat, close the position after a
  lower close (trades on about a quarter of the bars: order handling included).

fw runs them through ``run_event`` with an ``OnBarRunner`` (the loop calls ``on_bar`` back
at each bar's close); backtesting.py through ``Backtest.run`` with ``next``. Both fill at
the next bar's open, no costs. Target (issue 16): >= 2x backtesting.py's bars/s.

    python benchmarks/bench_on_bar.py [--bars N] [--runs K]
"""

from __future__ import annotations

import argparse
import datetime as dt
import warnings

import numpy as np
import pandas as pd
import polars as pl
from timing import rate, runs

from framework.data.calendar import sessions
from framework.engine.event.engine import run_event
from framework.engine.event.on_bar import OnBarRunner, blank_signals
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig
from framework.risk import RiskConfig
from framework.strategy import DecisionConfig, Strategy
from framework.strategy.panel import panel_from_frame


def minute_panel(n_bars: int, seed: int = 0):
    """``n_bars`` one-minute bars of one random-walk symbol on XNYS sessions (half days
    end at their early close)."""
    _, opens, closes = sessions(dt.date(2015, 1, 2), dt.date(2026, 12, 31))
    grid = opens[:, None] + np.arange(390) * 60_000_000_000
    ts = grid[grid < closes[:, None]][:n_bars]
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 5e-4, n_bars)))
    o = np.r_[c[0], c[:-1]] * np.exp(rng.normal(0, 1e-4, n_bars))
    frame = pl.DataFrame({"symbol": "X", "ts": ts, "open": o, "high": np.maximum(o, c) * 1.0005,
                          "low": np.minimum(o, c) * 0.9995, "close": c, "volume": 1e5,
                          "vwap": c})
    return panel_from_frame(frame, ["X"], "1m")


class ReadFw(Strategy):
    def on_bar(self, ctx):
        ctx.close[0] > 0.0 and ctx.position(0)  # noqa: B015 - read, never trade


class MomentumFw(Strategy):
    def on_bar(self, ctx):
        c = ctx.history("close", 2)
        if c.shape[0] < 2:
            return
        pos = ctx.position(0)
        if pos == 0.0 and c[1, 0] > c[0, 0]:
            ctx.buy(0, 10)
        elif pos > 0.0 and c[1, 0] < c[0, 0]:
            ctx.close_position(0)


def fw_run(panel, cls):
    strat = cls(cls.Params(), None)
    return run_event(panel, blank_signals(panel), decision=DecisionConfig(),
                     costs=CostConfig(model="custom", slippage_bps=0.0), risk=RiskConfig(),
                     execution=ExecutionConfig(), init_cash=1e7, hook=OnBarRunner(strat))


def bt_classes():
    from backtesting import Strategy as BtStrategy

    class ReadBt(BtStrategy):
        def init(self):
            pass

        def next(self):
            self.data.Close[-1] > 0.0 and self.position.size  # noqa: B015

    class MomentumBt(BtStrategy):
        def init(self):
            pass

        def next(self):
            c = self.data.Close
            if len(c) < 2:
                return
            if not self.position and c[-1] > c[-2]:
                self.buy(size=10)
            elif self.position and c[-1] < c[-2]:
                self.position.close()

    return ReadBt, MomentumBt


def bt_run(df, cls):
    from backtesting import Backtest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Backtest(df, cls, cash=1e7, commission=0.0, finalize_trades=True).run()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    panel = minute_panel(a.bars)
    df = pd.DataFrame({"Open": panel.open[:, 0], "High": panel.high[:, 0],
                       "Low": panel.low[:, 0], "Close": panel.close[:, 0],
                       "Volume": panel.volume[:, 0]},
                      index=pd.to_datetime(panel.ts, utc=True).tz_localize(None))
    read_bt, mom_bt = bt_classes()
    print(f"on_bar strategies, 1 symbol x {a.bars:,} one-minute bars (bars/s, whole call)")
    for name, fw_cls, bt_cls in (("read", ReadFw, read_bt), ("momentum", MomentumFw, mom_bt)):
        fw_bars = rate(f"fw on_bar [{name}]", a.bars, runs(lambda c=fw_cls: fw_run(panel, c),
                                                          a.runs), "M bars/s")
        bt_bars = rate(f"backtesting.py next [{name}]", a.bars,
                       runs(lambda c=bt_cls: bt_run(df, c), max(2, a.runs // 2)), "M bars/s")
        fills = fw_run(panel, fw_cls).fills.height
        trades = int(bt_run(df, bt_cls)["# Trades"])
        print(f"    -> fw / backtesting.py = {fw_bars / bt_bars:.2f}x "
              f"(fw {fills} fills, backtesting.py {trades} trades)")


if __name__ == "__main__":
    main()

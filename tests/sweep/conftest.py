"""Fixtures of the sweep tests: two years of daily bars written straight to a lake, and
strategy TOMLs that sweep over it (one of them a user's strategy outside the package)."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from framework.data import Lake
from framework.data.calendar import sessions

DAILY_SYMBOLS = ("SPY", "QQQ", "AAPL")


@pytest.fixture(scope="session")
def daily_lake(tmp_path_factory) -> Path:
    """``bars_1d`` of three symbols over 2022-2023 (501 sessions): seeded log returns
    with mild negative autocorrelation, so short-horizon strategies trade."""
    root = tmp_path_factory.mktemp("daily_lake")
    _, opens, _ = sessions(dt.date(2022, 1, 3), dt.date(2023, 12, 29))
    rng = np.random.default_rng(11)
    lake = Lake(root)
    for k, sym in enumerate(DAILY_SYMBOLS):
        eps = rng.normal(0.0003, 0.012 + 0.004 * k, opens.shape[0])
        r = eps.copy()
        r[1:] -= 0.15 * eps[:-1]
        close = 100.0 * (1 + k) * np.exp(np.cumsum(r))
        open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.003, opens.shape[0]))
        frame = pl.DataFrame({
            "ts": opens, "open": open_, "high": np.maximum(open_, close) * 1.004,
            "low": np.minimum(open_, close) * 0.996, "close": close,
            "volume": np.full(opens.shape[0], 2e6), "vwap": (open_ + close) / 2,
            "n": np.full(opens.shape[0], 5000, np.int64), "split_factor": 1.0,
            "dividend": 0.0, "adj_factor": 1.0})
        lake.write("bars_1d", sym, frame, "test")
    return root


SMA_SWEEP = """
name = "sma_sweep"
strategy = "strategies.sma_cross:SmaCross"
symbols = ["SPY", "QQQ", "AAPL"]
[data]
timeframe = "1d"
[params]
fast = 5
slow = 20
[decision]
size_mode = "equity_fraction"
size = 0.3
[costs]
model = "alpaca"
slippage_bps = 2.0
[sweep]
objective = "sharpe"
sampler = "tpe"
trials = 16
batch = 8
seed = 3
constraints = ["fast < slow"]
[sweep.params]
fast = { low = 2, high = 30 }
slow = { low = 5, high = 60, step = 5 }
[sweep.walk_forward]
folds = 3
in_sample = 0.4
"""


@pytest.fixture
def sma_toml(tmp_path: Path) -> Path:
    """A daily SMA-cross TOML with a [sweep] table (16 TPE trials, fast < slow)."""
    path = tmp_path / "sma_sweep.toml"
    path.write_text(SMA_SWEEP)
    return path


def write_user_strategy(tmp_path: Path) -> Path:
    """A user's RSI(2) strategy in ``<tmp_path>/mystrats`` (not in the package), its TOML
    with a [sweep] table: what a new user writes. Returns the TOML."""
    folder = tmp_path / "mystrats"
    folder.mkdir()
    (folder / "rsi2.py").write_text(textwrap.dedent('''
        import numpy as np
        from pydantic import Field
        from framework.config import FrozenModel
        from framework.features import rsi
        from framework.strategy import BarPanel, Signals, Strategy

        class Rsi2Params(FrozenModel):
            n: int = Field(default=2, ge=2)
            buy_below: float = 10.0
            sell_above: float = 70.0

        class Rsi2(Strategy):
            """Buy short-term oversold, sell once it recovers."""
            Params = Rsi2Params

            def lookback_bars(self) -> int:
                return self.params.n + 1

            def signals(self, panel: BarPanel) -> Signals:
                r = np.column_stack([rsi(np.ascontiguousarray(panel.close[:, j]),
                                         self.params.n) for j in range(panel.close.shape[1])])
                return Signals.of((r < self.params.buy_below).astype(np.int8),
                                  r > self.params.sell_above)
    '''))
    toml = folder / "rsi2.toml"
    toml.write_text(textwrap.dedent('''
        name = "rsi2"
        strategy = "rsi2:Rsi2"
        symbols = ["SPY", "QQQ", "AAPL"]
        [data]
        timeframe = "1d"
        [decision]
        size = 0.3
        [sweep]
        sampler = "random"
        trials = 10
        seed = 1
        tearsheets = 2
        [sweep.params]
        n = { low = 2, high = 6 }
        buy_below = { low = 5.0, high = 30.0, step = 5.0 }
        sell_above = { choices = [55.0, 65.0, 75.0] }
    '''))
    return toml

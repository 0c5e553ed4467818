"""Minute panels worked by hand and the real SPY month, for the algo tests."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import polars as pl

from framework.data.calendar import sessions
from framework.data.settings import load_data_config
from framework.data.sources.csv_source import read_csv
from framework.engine.event.engine import run_event
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig
from framework.risk import RiskConfig
from framework.strategy.decision import DecisionConfig
from framework.strategy.panel import panel_from_frame
from framework.strategy.signals import Signals

MIN = 60_000_000_000


def minute_panel(px: np.ndarray, volume: np.ndarray, symbol: str = "A",
                 day: dt.date = dt.date(2024, 1, 2)):
    """One session of one-minute bars of ``symbol`` from ``day``'s open: open = high =
    low = close = ``px[i]``, ``volume[i]`` shares."""
    _, opens, _ = sessions(day, day + dt.timedelta(days=7))
    ts = opens[0] + np.arange(px.shape[0], dtype=np.int64) * MIN
    frame = pl.DataFrame({"symbol": symbol, "ts": ts, "open": px, "high": px, "low": px,
                          "close": px, "volume": volume.astype(float), "vwap": px})
    return panel_from_frame(frame, [symbol], "1m")


def spy_month(shared_data):
    """The shared SPY July 2025 minutes (regular session) as a panel."""
    cfg = load_data_config("config/data.toml")
    path = shared_data / "intraday" / "spy_1min_2025-07" / "SPY_1min.csv"
    return panel_from_frame(read_csv(path, cfg.csv["spy_1min"]).with_columns(
        pl.lit("SPY").alias("symbol")), ["SPY"], "1m")


def run_algo(panel, entry_rows: list[int], shares: float, algo_inputs=None, *,
             risk: RiskConfig | None = None, costs: CostConfig | None = None,
             cash: float = 1e9, **execution):
    """Buy ``shares`` by the decision rule at each of ``entry_rows`` under ``[execution]``
    keys ``execution``; no costs unless ``costs``."""
    entry = np.zeros(panel.close.shape)
    entry[entry_rows, 0] = 1
    sig = Signals.of(entry, np.zeros(panel.close.shape, bool))
    return run_event(panel, sig, decision=DecisionConfig(size_mode="shares", size=shares),
                     costs=costs or CostConfig(slippage_bps=0.0), risk=risk or RiskConfig(),
                     execution=ExecutionConfig(**execution), init_cash=cash,
                     algo_inputs=algo_inputs)


def sessions_of(panel, keys):
    """The rows of ``panel`` in the sessions ``keys`` (a panel of its own)."""
    rows = np.flatnonzero(np.isin(panel.session, keys))
    lo, hi = rows[0], rows[-1] + 1
    cut = {k: getattr(panel, k)[lo:hi] for k in (
        "ts", "open", "high", "low", "close", "volume", "vwap", "session", "session_open",
        "session_close")}
    return dataclasses.replace(panel, **cut)


def window_vwap(panel, fills):
    """Market VWAP (USD, bar vwap x volume) over the bars from the first fill to the last,
    and the market volume there (shares)."""
    first = np.searchsorted(panel.ts, fills["ts"][0])
    last = np.searchsorted(panel.ts, fills["ts"][-1])
    w = slice(first, last + 1)
    v = panel.volume[w, 0]
    return float((panel.vwap[w, 0] * v).sum() / v.sum()), float(v.sum())

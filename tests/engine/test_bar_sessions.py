"""Bars read from CSV files run the same in both drivers: daily bars (stamped at their
session's open at ingest) through the live bar driver, and 1-minute bars with pre/post-
market hours under ``[data] session``; errors name the bar in New York time."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from framework.data import Lake
from framework.data.calendar import sessions
from framework.data.settings import CsvMapping
from framework.data.sources.csv_source import read_csv
from framework.engine.backtest import run_backtest
from framework.engine.run_config import load_strategy
from framework.marketdata.replay import ReplayFeed
from framework.strategy.panel import PanelError
from live.driver.bar_session import BarSession

ROOT = Path(__file__).resolve().parents[2]
SMA = ROOT / "strategies" / "sma_cross.toml"
COLS = {"open": "o", "high": "h", "low": "l", "close": "c", "volume": "v"}


def _csv(path: Path, stamps: list[str], seed: int) -> Path:
    rng = np.random.default_rng(seed)
    c = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, len(stamps))))
    o = c * np.exp(rng.normal(0, 0.01, len(stamps)))
    rows = [f"{s},{a:.4f},{max(a, b) * 1.01:.4f},{min(a, b) * 0.99:.4f},{b:.4f},100000"
            for s, a, b in zip(stamps, o, c, strict=True)]
    path.write_text("t,o,h,l,c,v\n" + "\n".join(rows) + "\n")
    return path


async def _batches(feed):
    return [b async for b in feed.stream()]


def _live(path, ov, lake):
    cfg, strat = load_strategy(path, ov, lake)
    feed = ReplayFeed.from_lake(Lake(lake), cfg.symbols, cfg.data.start, cfg.data.end,
                                datasets=["bars_" + cfg.data.timeframe], batch_size=50)
    return BarSession(cfg, strat, capacity=16).run(asyncio.run(_batches(feed)))


def test_live_driver_runs_on_daily_csv_bars(tmp_path):
    """CSV daily files are dated (midnight); the live driver used to stop on the first
    bar with 'outside every XNYS session' while the backtest relabelled the same bars."""
    dates, opens, _ = sessions(dt.date(2023, 1, 3), dt.date(2023, 6, 30))
    lake = Lake(tmp_path / "lake")
    m = CsvMapping(dataset="bars_1d", timestamp="t", timestamp_format="%Y-%m-%d", columns=COLS)
    for k, sym in enumerate(("AAA", "BBB")):
        f = _csv(tmp_path / f"{sym}.csv", [d.isoformat() for d in dates], seed=k)
        lake.write("bars_1d", sym, read_csv(f, m), "csv", origin=str(f))
    assert lake.read("bars_1d", "AAA")["ts"].to_list() == opens.tolist()
    ov = {"symbols": ["AAA", "BBB"], "params.fast": 3, "params.slow": 8}
    bt = run_backtest(SMA, ov, lake_root=lake.root, write=False)
    assert bt.result.fills.height > 0
    live = _live(SMA, ov, lake.root)
    assert live.orders.equals(bt.result.orders) and live.fills.equals(bt.result.fills)
    np.testing.assert_array_equal(live.equity["equity"], bt.result.equity["equity"])


def test_extended_hours_bars_need_the_session_key(tmp_path):
    dates, _, _ = sessions(dt.date(2024, 1, 2), dt.date(2024, 1, 3))
    stamps = [f"{d} {h:02d}:{mi:02d}" for d in dates for h in range(4, 20) for mi in range(60)]
    lake = Lake(tmp_path / "lake")
    m = CsvMapping(timestamp="t", timestamp_format="%Y-%m-%d %H:%M", columns=COLS)
    f = _csv(tmp_path / "x.csv", stamps, seed=3)
    lake.write("bars_1m", "AAA", read_csv(f, m, session="extended"), "csv")
    ov = {"symbols": ["AAA"], "params.fast": 5, "params.slow": 20, "data.timeframe": "1m"}
    with pytest.raises(PanelError, match=r"bar at 2024-01-02T04:00:00-05:00 is outside every "
                                         r"XNYS regular session \(1140 such bar\(s\)\): the "
                                         r'lake holds pre/post-market bars: set \[data\] '
                                         r'session = "extended"'):
        run_backtest(SMA, ov, lake_root=lake.root, write=False)
    ext = {**ov, "data.session": "extended"}
    bt = run_backtest(SMA, ext, lake_root=lake.root, write=False)
    assert bt.panel.n_bars == 2 * 960 and bt.result.fills.height > 0
    # decisions in the pre-market; day orders expire at 20:00, not 16:00
    assert int(bt.panel.session_close[0] - bt.panel.session_open[0]) == 960 * 60_000_000_000
    live = _live(SMA, ext, lake.root)
    assert live.fills.equals(bt.result.fills)
    regular = Lake(tmp_path / "regular")  # the same file ingested for regular hours only
    regular.write("bars_1m", "AAA", read_csv(f, m), "csv")
    assert run_backtest(SMA, ov, lake_root=regular.root, write=False).panel.n_bars == 2 * 390

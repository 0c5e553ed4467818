"""Time of the look-ahead guard (``fw check lookahead``) on a year of 1-minute bars.

    python benchmarks/bench_lookahead.py [--no-flagship] [--whole-flagship]

A seeded random walk of 5 symbols over 252 XNYS sessions (98,280 one-minute bars each) is
written to a temporary lake. Each shipped 1-minute strategy is checked at the guard's
defaults (cuts at and just before up to 100 bars where a signal changes, 5 at random,
each cut truncated and perturbed, change-driven cuts on a window of history) and once
with every cut on the whole data (``--window 0``) for comparison, after a warm-up
(numba compile). The flagship ``ml_mr`` is first trained walk-forward on the same lake
(20 in-sample sessions, 4 refits: ~15 min on a loaded 2-core machine); its whole-data
run (another ~15 min) only with ``--whole-flagship``. Printed: seconds of the guard
itself (the lake read and the strategy's full run not included), the cuts, and the time
of one warm ``signals`` call over the whole year. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from bench_engine import panel_and_signals

from framework.config import load_toml
from framework.data import Lake
from framework.engine.backtest import market_data, strategy_signals
from framework.engine.lookahead import guard
from framework.engine.run_config import StrategyConfig, build_strategy
from framework.engine.training import train_strategy

ROOT = Path(__file__).resolve().parents[1]
SYMBOLS = ["SPY", "QQQ", "AAPL", "MSFT", "NVDA"]
YEAR = {"data.start": None, "data.end": None, "data.timeframe": "1m"}


def write_year(root: Path) -> int:
    """A year of 1-minute bars of SYMBOLS into a lake at ``root``; returns the bar count."""
    panel, _, _ = panel_and_signals(0, SYMBOLS, 252)
    lake = Lake(root)
    for j, sym in enumerate(SYMBOLS):
        lake.write("bars_1m", sym, pl.DataFrame({
            "ts": panel.ts, "open": panel.open[:, j], "high": panel.high[:, j],
            "low": panel.low[:, j], "close": panel.close[:, j], "volume": panel.volume[:, j],
            "vwap": panel.vwap[:, j], "n": np.full(panel.n_bars, 50)}), "bench")
    return panel.n_bars


def bench(name: str, root: Path, overrides: dict, whole: bool = True) -> None:
    path = ROOT / "strategies" / f"{name}.toml"
    cfg = load_toml(path, StrategyConfig, {**YEAR, **overrides})
    strategy = build_strategy(cfg, path, root)
    panel, _, _ = market_data(Lake(root), cfg)
    full = strategy_signals(strategy, panel, str(path))  # warm-up (numba compile)
    t = time.perf_counter()
    full = strategy_signals(strategy, panel, str(path))
    one = time.perf_counter() - t
    guard(strategy, panel, full, name, max_cuts=8, n_random=1)  # warm-up
    for label, window in (("defaults", None), ("whole data", 0))[:2 if whole else 1]:
        kw = {} if window is None else {"window": window}
        rep = guard(strategy, panel, full, name, **kw)
        print(f"  {name:<13} {label:<11} {rep.seconds:7.2f} s  {len(rep.cuts):4d} cuts "
              f"({rep.change_bars} change bars)  ok={rep.ok}  one signals() call "
              f"{one * 1e3:6.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-flagship", action="store_true", help="skip ml_mr (its training)")
    ap.add_argument("--whole-flagship", action="store_true",
                    help="also time ml_mr with every cut on the whole data (~15 min)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "lake"
        n = write_year(root)
        print(f"a year of 1-minute bars: {n:,} bars x {len(SYMBOLS)} symbols")
        bench("sma_cross", root, {"params.fast": 10, "params.slow": 50})
        bench("bollinger_mr", root, {})
        if not args.no_flagship:
            t = time.perf_counter()
            train_strategy(ROOT / "strategies" / "ml_mr.toml", YEAR, lake_root=root)
            print(f"  (ml_mr trained walk-forward in {time.perf_counter() - t:.0f} s)")
            bench("ml_mr", root, {}, whole=args.whole_flagship)


if __name__ == "__main__":
    main()

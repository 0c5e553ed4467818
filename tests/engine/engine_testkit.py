"""Panels, shipped-strategy settings and lakes for engine tests (imported by the test
modules of this folder)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from framework.data import Lake
from framework.data.calendar import sessions
from framework.data.settings import load_data_config
from framework.data.sources.csv_source import read_csv
from framework.strategy.panel import panel_from_frame
from tests.conftest import ML_MR_SMALL

SHIPPED = ["sma_cross", "bollinger_mr", "ml_mr", "obi_book", "rebalance", "pairs"]
# the small lake has 4 sessions: shorten windows so every strategy trades
SMALL = {"sma_cross": {"params.fast": 1, "params.slow": 2, "data.timeframe": "1m"},
         "bollinger_mr": {"data.start": None, "data.end": None},
         "ml_mr": {"data.start": None, "data.end": None, **ML_MR_SMALL},
         "obi_book": {},
         "rebalance": {"data.timeframe": "1m", "params.every": "session"},
         "pairs": {"data.start": None, "data.end": None}}


def shipped_lake(name, request):
    """The lake a shipped strategy runs on in the tests: the small lake (the book lake for
    the book strategy), with the flagship's model trained when ``name`` needs one."""
    return request.getfixturevalue({"ml_mr": "ml_mr_lake",
                                    "obi_book": "book_lake"}.get(name, "small_lake"))


def small_overrides(name):
    """Config overrides that make shipped strategy ``name`` trade on the small lake."""
    return {k: v for k, v in SMALL[name].items() if v is not None}


def daily_panel(n_sessions: int, symbols: list[str], seed: int, volume: float = 1e6):
    """Random-walk daily bars on real XNYS sessions (opens and closes differ)."""
    _, opens, _ = sessions(dt.date(2021, 1, 4), dt.date(2023, 12, 29))
    ts = opens[:n_sessions]
    rng = np.random.default_rng(seed)
    frames = []
    for s in symbols:
        c = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, ts.size)))
        o = c * np.exp(rng.normal(0, 0.01, ts.size))
        frames.append(pl.DataFrame({"symbol": s, "ts": ts, "open": o,
                                    "high": np.maximum(o, c) * 1.01,
                                    "low": np.minimum(o, c) * 0.99, "close": c,
                                    "volume": volume, "vwap": (o + c) / 2}))
    return panel_from_frame(pl.concat(frames), symbols, "1d")


def hand_panel(rows: list[tuple[float, float, float, float, float]], symbol: str = "A"):
    """Daily bars of one symbol from explicit ``(open, high, low, close, volume)`` rows, on
    consecutive XNYS sessions from 2024-01-02: for examples worked out by hand."""
    return hand_panels({symbol: rows})


def hand_panels(rows: dict[str, list[tuple[float, float, float, float, float]]]):
    """:func:`hand_panel` of several symbols (columns in the dict's order)."""
    _, opens, _ = sessions(dt.date(2024, 1, 2), dt.date(2024, 12, 31))
    frames = []
    for symbol, sym_rows in rows.items():
        o, h, lo, c, v = (np.array(col, dtype=float) for col in zip(*sym_rows, strict=True))
        frames.append(pl.DataFrame({"symbol": symbol, "ts": opens[:len(sym_rows)], "open": o,
                                    "high": h, "low": lo, "close": c, "volume": v,
                                    "vwap": c}))
    return panel_from_frame(pl.concat(frames), list(rows), "1d")


def path_panel(opens, highs, lows, closes, volume: float = 1e6):
    """One symbol's daily bars with exactly these prices (crafted paths, USD; NaN = no bar)."""
    return hand_panel([(*row, volume) for row in zip(opens, highs, lows, closes, strict=True)])


def backtrader_daily_lake(shared_data, root):
    """A lake at ``root`` with NVDA and ORCL daily bars from backtrader's own sample files
    (``shared_data/daily/backtrader``: real third-party data); returns the ``Lake``."""
    cfg = load_data_config(None)
    lake = Lake(root)
    for sym, name in (("NVDA", "nvda-1999-2014.txt"), ("ORCL", "orcl-1995-2014.txt")):
        path = shared_data / "daily" / "backtrader" / name
        lake.write("bars_1d", sym, read_csv(path, cfg.csv["backtrader_daily"], str(path)),
                   "csv", origin=str(path))
    return lake

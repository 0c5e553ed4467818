"""Panels for engine tests (imported by the test modules of this folder)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from framework.data.calendar import sessions
from framework.strategy.panel import panel_from_frame


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


def path_panel(opens, highs, lows, closes, volume: float = 1e6):
    """One symbol's daily bars with exactly these prices (crafted paths, USD)."""
    n = len(opens)
    base = daily_panel(n, ["A"], 0)
    col = [np.asarray(x, float)[:, None] for x in (opens, highs, lows, closes)]
    return base.__class__(base.symbols, base.timeframe, base.bar_ns, base.ts, *col,
                          np.full((n, 1), volume), col[3], base.session, base.session_open,
                          base.session_close)

"""Synthetic L3 order flow for book strategies and tests (no network, seeded): a
zero-intelligence limit order book per symbol and session (see
``synthetic_book_kernels``), as LOBSTER-style ``book_events`` rows.

It is a model, not a market: order arrivals are memoryless and independent of anything
but the current best quotes, so queue imbalance predicts the next price move only as
much as the mechanics of such a book imply. Same config and seed -> same bytes.
"""

from __future__ import annotations

import datetime as dt
import zlib

import numpy as np
import polars as pl

from framework.data.calendar import sessions
from framework.data.schemas import DataError
from framework.data.settings import SyntheticBookConfig
from framework.data.sources import synthetic_book_kernels as K
from framework.data.sources.synthetic import symbol_profile

TICK_USD = 0.01


# order ids of the j-th configured symbol on ``day``: ((j + 1) << 45) | (ordinal << 24)
# onwards (16.7 M orders per symbol and day before two ranges could meet)
SYM_SHIFT, DAY_SHIFT = 45, 24


def generate_book_day(cfg: SyntheticBookConfig, symbol: str, session_open: int,
                      day: dt.date) -> pl.DataFrame:
    """``book_events`` of ``symbol`` (one of ``cfg.symbols``) over the first
    ``cfg.minutes`` of the session that opens at ``session_open`` (ns UTC) on ``day``.
    Order ids are unique across the configured symbols and days."""
    syms = [s.upper() for s in cfg.symbols]
    if symbol not in syms:
        raise DataError(f"synthetic-book: {symbol} is not in the configured symbols {syms}")
    id0 = ((syms.index(symbol) + 1) << SYM_SHIFT) | (day.toordinal() << DAY_SHIFT)
    par = np.zeros(6)
    par[K.P_LAM], par[K.P_ALPHA], par[K.P_MU] = cfg.limit_rate, cfg.alpha, cfg.market_rate
    par[K.P_THETA], par[K.P_PARTIAL], par[K.P_LOTS] = (cfg.cancel_rate, cfg.partial_cancel,
                                                         cfg.mean_lots)
    seed = zlib.crc32(f"{cfg.seed}:{symbol}:{day.isoformat()}".encode())
    p0 = int(round(symbol_profile(symbol)[0] / TICK_USD))
    t_end = session_open + cfg.minutes * 60_000_000_000
    cap = int(cfg.minutes * 60 * (2 * cfg.limit_rate * cfg.depth_ticks + 8 * cfg.market_rate
                                  + 10)) + 1024
    store = 4096
    while True:
        out = (np.empty(cap, np.int64), np.empty(cap, np.int8), np.empty(cap, np.int8),
               np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap))
        rest = (np.empty(store, np.int64), np.empty(store, np.int8), np.empty(store, np.int64),
                np.empty(store), np.empty(store, np.int64))
        n = K.zi_flow(seed, session_open, t_end, p0, cfg.depth_ticks, par, id0, *out, *rest)
        if n >= 0:
            break
        cap, store = 2 * cap, 2 * store
    ts, kind, side, oid, px, size = (a[:n] for a in out)
    return pl.DataFrame({"ts": ts, "local_ts": ts, "kind": kind, "side": side,
                         "order_id": oid, "price": px * TICK_USD, "size": size,
                         "new_order_id": np.zeros(n, np.int64)})


def generate_book(cfg: SyntheticBookConfig, symbol: str) -> pl.DataFrame:
    """``book_events`` of ``symbol`` for every XNYS session in [cfg.start, cfg.end]."""
    days, opens, _ = sessions(cfg.start, cfg.end)
    if len(days) == 0:
        raise DataError(f"synthetic-book: no XNYS session between {cfg.start} and {cfg.end}")
    parts = [generate_book_day(cfg, symbol.upper(), int(o), d)
             for d, o in zip(days, opens.tolist(), strict=True)]
    return pl.concat(parts)

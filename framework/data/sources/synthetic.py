"""The embedded default source: a seeded synthetic US-equity market (no network).

``generate_symbol`` returns trades and NBBO quotes for one symbol over XNYS sessions;
``ingest_synthetic`` writes trades, quotes, 1-minute bars (through an injected
``bars_from_trades`` so this stage does not import marketdata) and daily bars.
Same config and seed -> same bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from framework.data.calendar import session_date_expr, sessions
from framework.data.lake import Lake
from framework.data.schemas import DataError
from framework.data.settings import SyntheticConfig
from framework.data.sources import synthetic_kernels as K
from framework.types import BAR_DTYPE, TRADE_DTYPE

# (start price USD, beta to the market factor, idiosyncratic vol multiplier)
_PROFILES = {
    "SPY": (470.0, 1.0, 0.25), "QQQ": (400.0, 1.15, 0.5), "AAPL": (185.0, 1.05, 1.0),
    "MSFT": (370.0, 1.0, 0.9), "NVDA": (480.0, 1.6, 1.8),
}
EXCHANGES = ("V", "Q", "N", "P", "Z", "K")  # IEX, Nasdaq, NYSE, Arca, BATS, EDGX

BarsFromTrades = Callable[[np.ndarray, int], np.ndarray]
"""Contract: (TRADE_DTYPE array sorted by ts, bar interval ns) -> BAR_DTYPE array of time bars."""


def symbol_profile(symbol: str) -> tuple[float, float, float]:
    """(start price USD, beta to the market factor, idiosyncratic vol multiplier) of a
    symbol: a fixed profile for the default universe, else derived from its name."""
    if symbol in _PROFILES:
        return _PROFILES[symbol]
    h = zlib.crc32(symbol.encode())
    return 20.0 + h % 480, 0.8 + (h >> 10) % 60 / 100.0, 1.0


def _sym_seed(seed: int, symbol: str, salt: int) -> int:
    return (seed * 1_000_003 + zlib.crc32(symbol.encode()) * 7 + salt) % (2**31 - 1)


@dataclass
class SyntheticMarket:
    """Sessions and the common factor shared by every symbol of one generation."""

    config: SyntheticConfig
    dates: list
    opens: np.ndarray
    n_min: np.ndarray
    f_ret: np.ndarray
    f_var: np.ndarray
    f_gap: np.ndarray


def market(config: SyntheticConfig) -> SyntheticMarket:
    """XNYS sessions in [start, end] and the market factor path (seeded by ``config.seed``)."""
    dates, opens, closes = sessions(config.start, config.end)
    if not dates:
        raise DataError(f"synthetic: no XNYS session between {config.start} and {config.end}")
    n_min = ((closes - opens) // K.NS_MIN).astype(np.int64)
    f_ret, f_var, f_gap = K.factor_paths(config.seed % (2**31 - 1), n_min,
                                         config.factor_sigma_min, config.gap_sigma * 0.8,
                                         config.jump_prob * 0.5, config.jump_sigma)
    return SyntheticMarket(config, dates, opens, n_min, f_ret, f_var, f_gap)


def generate_symbol(mkt: SyntheticMarket, symbol: str) -> tuple[np.ndarray, ...]:
    """Raw arrays for one symbol: (t_ts, t_px, t_sz, t_ex, q_ts, q_bid, q_bsz, q_ask, q_asz)."""
    c = mkt.config
    fx = c.effects
    p0, beta, idio = symbol_profile(symbol)
    shocks = fx.universe != "off"
    revert = fx.revert if fx.universe == "planted" and symbol in fx.symbols else 0.0
    logc, volr, count, open_lp = K.minute_plan(
        _sym_seed(c.seed, symbol, 1), mkt.opens, mkt.n_min, mkt.f_ret, mkt.f_var, mkt.f_gap,
        beta, p0, c.idio_sigma_min * idio, c.gap_sigma * 0.6, c.jump_prob, c.jump_sigma,
        c.trades_per_day, fx.shock_prob if shocks else 0.0, fx.shock_sigma, fx.shock_volume,
        revert, fx.revert_minutes, fx.regime == "high_vol")
    return K.fill_ticks(_sym_seed(c.seed, symbol, 2), mkt.opens, mkt.n_min, logc, volr, count,
                        open_lp, c.spread_bps, c.quotes_per_trade)


def to_frames(arrays: tuple[np.ndarray, ...]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(trades, quotes) Polars frames in the lake schema."""
    t_ts, t_px, t_sz, t_ex, q_ts, q_bid, q_bsz, q_ask, q_asz = arrays
    trades = pl.DataFrame({
        "ts": t_ts, "price": t_px, "size": t_sz,
        "exchange": pl.Series(t_ex).cast(pl.Int64).replace_strict(
            list(range(len(EXCHANGES))), list(EXCHANGES), return_dtype=pl.String),
        "conditions": pl.repeat("@", len(t_ts), eager=True, dtype=pl.String),
    })
    quotes = pl.DataFrame({"ts": q_ts, "bid": q_bid, "bid_size": q_bsz, "ask": q_ask,
                           "ask_size": q_asz})
    return trades, quotes


def trades_array(trades: pl.DataFrame, sym_id: int = 0) -> np.ndarray:
    """A lake trades frame as a TRADE_DTYPE array."""
    arr = np.empty(trades.height, TRADE_DTYPE)
    arr["ts"] = trades["ts"].to_numpy()
    arr["sym"] = sym_id
    arr["price"] = trades["price"].to_numpy()
    arr["size"] = trades["size"].to_numpy()
    return arr


def bars_frame(bars: np.ndarray) -> pl.DataFrame:
    """A BAR_DTYPE array as a bars_1m frame."""
    if bars.dtype != BAR_DTYPE:
        raise DataError(f"bars_from_trades returned dtype {bars.dtype}, expected BAR_DTYPE")
    return pl.DataFrame({c: bars[c] for c in ("ts", "open", "high", "low", "close", "volume",
                                               "vwap", "n")})


def daily_from_minute(bars_1m: pl.DataFrame) -> pl.DataFrame:
    """Session bars from 1-minute bars (ts = first minute's start); no corporate actions."""
    return (
        bars_1m.with_columns(session_date_expr().alias("_d"))
        .group_by("_d", maintain_order=True)
        .agg(
            pl.col("ts").first(), pl.col("open").first(), pl.col("high").max(),
            pl.col("low").min(), pl.col("close").last(), pl.col("volume").sum(),
            ((pl.col("vwap") * pl.col("volume")).sum() / pl.col("volume").sum()).alias("vwap"),
            pl.col("n").sum(),
        )
        .drop("_d")
        .with_columns(split_factor=pl.lit(1.0), dividend=pl.lit(0.0), adj_factor=pl.lit(1.0))
    )


def source_name(config: SyntheticConfig) -> str:
    """The lake's source tag of what ``config`` generates: ``synthetic``, or
    ``synthetic-planted`` / ``synthetic-null`` with planted effects (the demo checks it)."""
    u = config.effects.universe
    return "synthetic" if u == "off" else f"synthetic-{u}"


def ingest_synthetic(lake: Lake, config: SyntheticConfig, bars_from_trades: BarsFromTrades,
                     progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Generate and write trades, quotes, bars_1m and bars_1d for every configured symbol.

    Returns rows written per dataset. ``progress(symbol)`` is called after each symbol.
    """
    mkt = market(config)
    rows = {"trades": 0, "quotes": 0, "bars_1m": 0, "bars_1d": 0}
    for sym in config.symbols:
        trades, quotes = to_frames(generate_symbol(mkt, sym.upper()))
        bars = bars_frame(bars_from_trades(trades_array(trades), K.NS_MIN))
        daily = daily_from_minute(bars)
        for ds, frame in (("trades", trades), ("quotes", quotes), ("bars_1m", bars),
                          ("bars_1d", daily)):
            lake.write(ds, sym, frame, source_name(config), whole_days=True)  # whole sessions
            rows[ds] += frame.height
        if progress:
            progress(sym)
    return rows

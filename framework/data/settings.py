"""Typed configuration of the data sources (``config/data.toml``)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from framework.config import FrozenModel, load_toml

DEFAULT_UNIVERSE = ("SPY", "QQQ", "AAPL", "MSFT", "NVDA")


class PlantedEffects(FrozenModel):
    """``[synthetic.effects]``: an effect planted in the synthetic market, with a known
    strength, so a study has a truth to find (``universe = "planted"``), and its control
    (``"null"``: the same shocks, drawn from the same seeds, that never revert). ``"off"``
    (the default for ``fw data ingest``): the plain generator, nothing planted.

    In every minute, with probability ``shock_prob``, a liquidity shock pushes the price
    by ``shock_sigma`` (log-return standard deviation) and multiplies that minute's
    expected trade count by ``shock_volume``. In the planted universe, in the ``symbols``
    listed and (``regime = "high_vol"``) only while the symbol's GARCH variance is above
    its long-run level, a fraction ``revert`` of the push reverts linearly over the next
    ``revert_minutes`` minutes (not past the close): short-horizon mean reversion after
    volume shocks. Kernel: ``framework.data.sources.synthetic_kernels.minute_plan``."""

    universe: Literal["off", "planted", "null"] = "off"
    symbols: list[str] = Field(default_factory=lambda: list(DEFAULT_UNIVERSE))
    shock_prob: float = Field(0.02, ge=0, le=1)  # per minute
    shock_sigma: float = Field(0.008, ge=0)  # log return of the push
    shock_volume: float = Field(5.0, ge=1)  # trade-count multiplier of a shock minute
    revert: float = Field(0.55, ge=0, le=1)  # fraction of the push that reverts
    revert_minutes: int = Field(10, ge=1)
    regime: Literal["all", "high_vol"] = "all"


class SyntheticConfig(FrozenModel):
    """Seeded synthetic market. Volatilities are per-minute log-return standard deviations."""

    symbols: list[str] = Field(default_factory=lambda: list(DEFAULT_UNIVERSE))
    seed: int = 42
    start: dt.date = dt.date(2024, 1, 2)
    end: dt.date = dt.date(2024, 3, 28)
    trades_per_day: float = Field(20_000.0, gt=0)  # expected trades per symbol-session
    quotes_per_trade: int = Field(2, ge=1, le=10)
    spread_bps: float = Field(1.0, gt=0)  # typical quoted spread, basis points of mid
    factor_sigma_min: float = Field(0.0005, gt=0)  # market factor vol per minute
    idio_sigma_min: float = Field(0.0004, ge=0)
    gap_sigma: float = Field(0.006, ge=0)  # overnight gap stdev (log)
    jump_prob: float = Field(0.0005, ge=0, le=1)  # per minute
    jump_sigma: float = Field(0.004, ge=0)
    effects: PlantedEffects = PlantedEffects()


class SyntheticBookConfig(FrozenModel):
    """Seeded zero-intelligence L3 order flow (``fw data ingest --source synthetic-book``).
    Rates are per second; limit orders arrive ``k`` = 1..``depth_ticks`` ticks from the
    opposite best quote with rate ``limit_rate / k**alpha`` per side."""

    symbols: list[str] = Field(default_factory=lambda: ["SPY", "QQQ"])
    seed: int = 7
    start: dt.date = dt.date(2024, 4, 1)
    end: dt.date = dt.date(2024, 4, 2)
    minutes: int = Field(390, ge=1, le=390)  # of each session, from the open
    limit_rate: float = Field(1.0, gt=0)  # per s per side at 1 tick from the opposite best
    alpha: float = Field(0.8, ge=0)
    depth_ticks: int = Field(30, ge=1, le=1000)
    market_rate: float = Field(0.6, ge=0)  # market orders per s per side
    cancel_rate: float = Field(0.25, gt=0)  # per resting order per s
    partial_cancel: float = Field(0.2, ge=0, le=1)  # share of cancels that halve an order
    mean_lots: float = Field(2.0, ge=1)  # mean order size in 100-share lots


class CsvMapping(FrozenModel):
    """How to read one CSV layout into a lake dataset."""

    dataset: str = "bars_1m"
    timestamp: str  # CSV column holding the timestamp
    timestamp_format: str | None = None  # strptime format; None = ISO-8601
    timezone: str = "America/New_York"  # of naive timestamps in the file
    label: str = Field("start", pattern="^(start|end)$")  # bar timestamps label start or end
    columns: dict[str, str]  # lake column -> CSV column
    # intraday bars kept: inside XNYS regular hours, or extended hours (04:00-20:00 ET);
    # daily bars are always labelled at their session's open
    session: Literal["regular", "extended"] = "regular"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone (an IANA name such as "
                             f"'America/New_York' or 'UTC'): {v!r}") from None
        return v


class HttpConfig(FrozenModel):
    """Timeouts, retries and rate of one network source (``sources.ratelimit``); seconds."""

    requests_per_minute: float = Field(200.0, gt=0)
    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(30.0, gt=0)  # per attempt, between bytes of the answer
    max_retries: int = Field(5, ge=0)
    backoff_s: float = Field(0.5, ge=0)  # first retry delay, doubled each retry
    retry_budget_s: float = Field(120.0, gt=0)  # no retry starts after this, in all


class AlpacaConfig(HttpConfig):
    base_url: str = "https://data.alpaca.markets"
    feed: str = "iex"
    page_limit: int = Field(10_000, ge=1, le=10_000)


class YFinanceConfig(HttpConfig):
    base_url: str | None = None  # None = Yahoo; a loopback URL in tests
    interval: str = "1d"  # "1d" or "1m"
    requests_per_minute: float = Field(60.0, gt=0)


class PolygonConfig(FrozenModel):
    """Polygon.io (now Massive) REST through the official ``massive`` client. The key comes
    from ``POLYGON_API_KEY`` / ``MASSIVE_API_KEY`` (environment or .env), never from here."""

    base_url: str = "https://api.massive.com"
    requests_per_minute: float = Field(5.0, gt=0)  # free tier: 5; paid plans: raise it
    max_retries: int = Field(5, ge=0)  # per request, on 429/5xx, timeouts, dropped connections
    backoff_s: float = Field(1.0, ge=0)  # urllib3: retry k>1 waits backoff_s * 2**(k-1)
    max_backoff_s: float = Field(60.0, ge=0)  # cap on one retry delay, Retry-After included
    connect_timeout_s: float = Field(10.0, gt=0)
    read_timeout_s: float = Field(30.0, gt=0)  # per socket read: a silent server fails here
    adjusted: bool = False  # false: raw prices + factors (the lake's rule); true: split-adjusted
    minute_chunk_sessions: int = Field(20, ge=1)  # sessions per 1m request (~1 month; resume unit)
    page_limit: int = Field(50_000, ge=1, le=50_000)


class DataConfig(FrozenModel):
    synthetic: SyntheticConfig = SyntheticConfig()
    synthetic_book: SyntheticBookConfig = SyntheticBookConfig()
    csv: dict[str, CsvMapping] = Field(default_factory=dict)
    alpaca: AlpacaConfig = AlpacaConfig()
    yfinance: YFinanceConfig = YFinanceConfig()
    polygon: PolygonConfig = PolygonConfig()


def load_data_config(path: str | Path | None) -> DataConfig:
    """Load ``path`` (default ``config/data.toml`` when it exists, else built-in defaults)."""
    if path is None:
        default = Path("config/data.toml")
        return load_toml(default, DataConfig) if default.is_file() else DataConfig()
    return load_toml(path, DataConfig)

"""``VenueConfig``: everything one local venue needs to know, frozen and validated."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field

from framework.config import FrozenModel
from framework.execution.costs import CostConfig
from framework.types.errors import FwError

FillModelName = Literal["bar", "quote", "book", "alpaca-paper"]


class VenueConfigError(FwError, ValueError):
    """Bad venue settings or a lake session the venue cannot replay (names the key)."""


class VenueConfig(FrozenModel):
    """Settings of one local Alpaca-wire venue.

    Units: ``speed`` x real time (0 = as fast as the client keeps up); ``cash`` USD;
    ``rate_limit`` requests per ``rate_window_s`` seconds of wall time; ``partial_rate`` a
    fraction of eligible fills (alpaca-paper mode); ``participation`` a fraction of bar
    volume (bar model, 0 = no cap); ``latency_ms`` order-entry latency in ms (an order
    accepted at t works from t + latency, as the event engine's constant ``latency_ms``).
    ``metrics_port``: serve Prometheus metrics (``framework.monitoring``) on ``host`` at
    that port (0: a free one); ``log_dir`` / ``log_stderr``: where the JSON-lines event
    log goes (order state changes, connections, faults, 429s).
    """

    lake: Path | None = None  # None: $FW_LAKE or ./data_lake
    session: dt.date | None = None  # None: the last session in the lake
    symbols: tuple[str, ...] = ()  # empty: every symbol with data that session
    speed: float = Field(default=0.0, ge=0.0)
    step: bool = False  # lockstep: the clock moves only on advance()
    autostart: bool = False  # start the clock now, not at the first market-data subscription
    fills: FillModelName = "bar"
    costs: CostConfig = CostConfig()
    participation: float = Field(default=0.0, ge=0.0, le=1.0)
    latency_ms: float = Field(default=0.0, ge=0.0)  # order entry: works from now + latency
    partial_rate: float = Field(default=0.1, ge=0.0, le=1.0)
    seed: int = 0
    key_id: str = "fw-venue-key"
    secret_key: str = "fw-venue-secret"
    cash: float = Field(default=100_000.0, gt=0.0)
    rate_limit: int = Field(default=200, ge=1)
    rate_window_s: float = Field(default=60.0, gt=0.0)
    # ping each stream socket this often (s) and drop one whose pong is not back within
    # half of it, as a server that pings does (None: no pings from the venue)
    ws_heartbeat_s: float | None = Field(default=None, gt=0.0)
    state_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    metrics_port: int | None = Field(default=None, ge=0, le=65535)  # None: no exporter; 0: free
    log_dir: Path | None = None  # JSON-lines events to log_dir/events.jsonl
    log_stderr: bool = False  # JSON-lines events to stderr too

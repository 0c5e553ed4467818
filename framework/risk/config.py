"""``RiskConfig``: every risk threshold, as written in TOML (``[risk]`` or config/risk.toml).

Human units in the file (seconds, milliseconds, fractions, USD, shares); ``to_arrays``
converts them to the kernel units (ns) once. 0 disables a threshold everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from framework.config import ConfigError, FrozenModel
from framework.risk.dtypes import (
    RATE_RING,
    RISK_LIMITS_DTYPE,
    SYMBOL_LIMITS_DTYPE,
    Breaker,
    LotMethod,
    MarkSource,
)

NonNeg = Field(default=0.0, ge=0.0)

BreakerName = Literal[
    "daily_loss",
    "drawdown",
    "loss_rate",
    "consecutive_rejects",
    "stale_data",
    "latency",
    "price_discrepancy",
]


class SymbolRiskConfig(FrozenModel):
    """Per-symbol overrides of the position limits (``[risk.symbols.AAPL]``)."""

    max_position_shares: float | None = Field(default=None, ge=0.0)  # shares; None = default
    max_position_notional: float | None = Field(default=None, ge=0.0)  # USD; None = default
    shortable: bool | None = None  # None = default (``shortable``)


class RiskConfig(FrozenModel):
    """All risk limits. Units in each field name's comment; 0 = disabled."""

    # order level
    max_order_qty: float = NonNeg  # shares per order
    max_order_notional: float = NonNeg  # USD per order
    price_collar: float = NonNeg  # fraction off the mid (else last), e.g. 0.05
    max_orders_per_sec: int = Field(default=0, ge=0, le=RATE_RING)
    max_orders_per_min: int = Field(default=0, ge=0, le=RATE_RING)
    # position and portfolio (worst case over open orders)
    max_position_shares: float = NonNeg  # default per symbol, shares
    max_position_notional: float = NonNeg  # default per symbol, USD
    shortable: bool = True  # default per symbol
    allow_short: bool = True  # account-wide switch
    max_gross_exposure: float = NonNeg  # USD
    max_net_exposure: float = NonNeg  # USD
    max_open_positions: int = Field(default=0, ge=0)
    max_concentration: float = NonNeg  # fraction of equity in one symbol
    buying_power_multiple: float = NonNeg  # gross exposure <= multiple * equity
    stale_data_s: float = NonNeg  # seconds without market data
    mark: Literal["mid", "last"] = "mid"
    lot_method: Literal["fifo", "lifo", "average"] = "fifo"
    # default stops, armed when a position opens
    stop_loss_pct: float = NonNeg  # fraction of entry price
    take_profit_pct: float = NonNeg  # fraction of entry price
    trailing_pct: float = NonNeg  # fraction of the best price since entry
    trailing_atr_mult: float = NonNeg  # multiples of ATR (USD, via set_atr)
    time_stop_s: float = NonNeg  # seconds held
    # circuit breakers
    max_daily_loss: float = NonNeg  # USD below the session-start equity
    max_drawdown: float = NonNeg  # fraction below the intraday high-water mark
    loss_window_s: float = NonNeg  # seconds
    max_loss_in_window: float = NonNeg  # USD
    max_consecutive_rejects: int = Field(default=0, ge=0)
    max_latency_ms: float = NonNeg  # milliseconds
    max_price_discrepancy: float = NonNeg  # fraction between two price sources
    flatten_on: list[BreakerName] = Field(default_factory=list)  # breakers that also flatten
    symbols: dict[str, SymbolRiskConfig] = Field(default_factory=dict)  # per-ticker overrides

    @model_validator(mode="after")
    def _windows_pair(self) -> RiskConfig:
        if (self.loss_window_s > 0) != (self.max_loss_in_window > 0):
            raise ValueError("loss_window_s and max_loss_in_window must be set together")
        return self

    def to_arrays(self, n_symbols: int, symbols: Sequence[str] | None = None):
        """Return ``(limits, sym_limits)`` arrays in kernel units (ns, fractions, USD, shares)."""
        lim = np.zeros(1, RISK_LIMITS_DTYPE)
        r = lim[0]
        for name in (
            "max_order_qty",
            "max_order_notional",
            "price_collar",
            "max_orders_per_sec",
            "max_orders_per_min",
            "max_gross_exposure",
            "max_net_exposure",
            "max_open_positions",
            "max_concentration",
            "buying_power_multiple",
            "allow_short",
            "stop_loss_pct",
            "take_profit_pct",
            "trailing_pct",
            "trailing_atr_mult",
            "max_daily_loss",
            "max_drawdown",
            "max_loss_in_window",
            "max_consecutive_rejects",
            "max_price_discrepancy",
        ):
            r[name] = getattr(self, name)
        r["stale_data_ns"] = round(self.stale_data_s * 1e9)
        r["time_stop_ns"] = round(self.time_stop_s * 1e9)
        r["loss_window_ns"] = round(self.loss_window_s * 1e9)
        r["max_latency_ns"] = round(self.max_latency_ms * 1e6)
        r["mark_source"] = MarkSource.MID if self.mark == "mid" else MarkSource.LAST
        r["lot_method"] = LotMethod[self.lot_method.upper()]
        mask = 0
        for name in self.flatten_on:
            mask |= 1 << Breaker[name.upper()]
        r["flatten_mask"] = mask

        sl = np.zeros(n_symbols, SYMBOL_LIMITS_DTYPE)
        sl["max_position_shares"] = self.max_position_shares
        sl["max_position_notional"] = self.max_position_notional
        sl["shortable"] = self.shortable
        if self.symbols:
            if symbols is None:
                raise ConfigError(
                    "risk.symbols", ["per-symbol overrides need the run's symbol list"]
                )
            index = {t: i for i, t in enumerate(symbols)}
            for ticker, o in self.symbols.items():
                if ticker not in index:
                    raise ConfigError(
                        "risk.symbols", [f"key 'risk.symbols.{ticker}': symbol not in the universe"]
                    )
                i = index[ticker]
                if o.max_position_shares is not None:
                    sl[i]["max_position_shares"] = o.max_position_shares
                if o.max_position_notional is not None:
                    sl[i]["max_position_notional"] = o.max_position_notional
                if o.shortable is not None:
                    sl[i]["shortable"] = o.shortable
        return lim, sl

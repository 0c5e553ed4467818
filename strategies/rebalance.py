"""A fixed-weight portfolio rebalanced on the first bar of each month (or week, or
session): the target form of the Strategy contract. The strategy says what to hold; the
engine trades the difference at the next open, sells before buys, inside the
``[decision]`` no-trade band."""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl
from pydantic import Field, model_validator

from framework.config import FrozenModel
from framework.data.calendar import NY
from framework.strategy import BarPanel, Signals, Strategy


class RebalanceParams(FrozenModel):
    """``weights``: symbol -> fraction of equity (>= 0, summing to <= 1; the rest is cash);
    ``every``: the period whose first bar rebalances."""

    weights: dict[str, float] = Field(min_length=1)
    every: Literal["month", "week", "session"] = "month"

    @model_validator(mode="after")
    def _weights(self) -> RebalanceParams:
        if any(not (0.0 <= w <= 1.0) for w in self.weights.values()):
            raise ValueError("each weight must be between 0 and 1")
        if sum(self.weights.values()) > 1.0 + 1e-12:
            raise ValueError(f"weights sum to {sum(self.weights.values()):g} > 1")
        return self


_PERIOD = {"month": "1mo", "week": "1w", "session": "1d"}


class Rebalance(Strategy):
    """Hold ``weights``; reset them at the start of every period."""

    Params = RebalanceParams

    def signals(self, panel: BarPanel) -> Signals:
        missing = sorted(set(self.params.weights) - set(panel.symbols))
        if missing:
            raise ValueError(f"weights name symbols outside the run: {', '.join(missing)}")
        # the period of each bar's session date in New York; a bar whose period differs
        # from the bar before it starts a period (causal: rows t and t-1 only)
        period = (pl.Series(panel.session_open).cast(pl.Datetime("ns", "UTC"))
                  .dt.convert_time_zone(NY).dt.truncate(_PERIOD[self.params.every])
                  .to_numpy())
        first = np.r_[True, period[1:] != period[:-1]]
        row = np.array([self.params.weights.get(s, 0.0) for s in panel.symbols])
        w = np.full(panel.close.shape, np.nan)
        w[first] = row
        return Signals.target_weights(w)

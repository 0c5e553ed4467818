"""Pairs trading with a rolling hedge ratio, in the event-driven form (``on_bar``).

At each bar's close: regress the log price of the first symbol (Y) on the second (X)
over the last ``window`` bars (OLS: hedge ratio beta), take the spread
``log Y - beta log X`` and its z-score over the same bars. Flat, with z beyond
``entry_z``: short the spread (sell Y, buy beta of it in X) when z is high, long it when
z is low, each leg a target in USD (``leg`` of equity for Y, beta times that for X).
In a trade, when |z| falls below ``exit_z``: both legs to zero. After a trade, wait
``cooldown`` bars. Everything it reads comes from ``ctx`` (bars up to now), so it is
causal by construction.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from framework.config import FrozenModel
from framework.strategy import Strategy
from framework.strategy.context import BarContext, Fill


class PairsParams(FrozenModel):
    """``window`` bars of the regression and z-score; thresholds in standard deviations;
    ``leg`` fraction of equity in Y; ``cooldown`` bars after a trade closes."""

    window: int = Field(default=60, ge=10)
    entry_z: float = Field(default=2.0, gt=0.0)
    exit_z: float = Field(default=0.5, ge=0.0)
    leg: float = Field(default=0.4, gt=0.0, le=1.0)
    cooldown: int = Field(default=5, ge=0)


class PairsTrade(Strategy):
    """Mean reversion of the spread between ``symbols[0]`` and ``symbols[1]``."""

    Params = PairsParams

    def on_start(self, ctx: BarContext) -> None:
        self.closed_at = -(1 << 30)  # bar the last trade closed

    def lookback_bars(self) -> int:
        return self.params.window

    def on_fill(self, ctx: BarContext, fill: Fill) -> None:
        if ctx.position(0) == 0.0 and ctx.position(1) == 0.0:
            self.closed_at = ctx.t

    def on_bar(self, ctx: BarContext) -> None:
        p = self.params
        hist = ctx.history("close", p.window)
        if hist.shape[0] < p.window or not np.all(np.isfinite(hist)):
            return
        ly, lx = np.log(hist[:, 0]), np.log(hist[:, 1])
        dx = lx - lx.mean()
        beta = float(np.dot(dx, ly - ly.mean()) / np.dot(dx, dx))
        spread = ly - beta * lx
        sd = spread.std(ddof=1)
        if not sd > 0.0:
            return
        z = (spread[-1] - spread.mean()) / sd
        held = ctx.position(0) != 0.0
        if not held and ctx.t - self.closed_at > p.cooldown and abs(z) > p.entry_z:
            usd = p.leg * ctx.equity * (-1.0 if z > 0 else 1.0)
            ctx.target(0, value=usd)
            ctx.target(1, value=-beta * usd)
        elif held and abs(z) < p.exit_z:
            ctx.target(0, value=0.0)
            ctx.target(1, value=0.0)

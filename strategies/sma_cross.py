"""Moving-average crossover on daily bars: long while the fast SMA is above the slow one."""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from framework.config import FrozenModel
from framework.features import sma
from framework.strategy import BarPanel, Signals, Strategy, crossover, crossunder


class SmaCrossParams(FrozenModel):
    """Window lengths in bars; ``fast < slow``."""

    fast: int = Field(default=10, ge=1)
    slow: int = Field(default=50, ge=2)

    @model_validator(mode="after")
    def _order(self) -> SmaCrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be < slow ({self.slow})")
        return self


class SmaCross(Strategy):
    """Enter long when SMA(fast) crosses above SMA(slow); exit when it crosses below."""

    Params = SmaCrossParams

    def lookback_bars(self) -> int:
        return self.params.slow + 1

    def signals(self, panel: BarPanel) -> Signals:
        fast = sma(panel.close, self.params.fast)
        slow = sma(panel.close, self.params.slow)
        # enter when fast moves above slow, exit when it is no longer above; both False
        # while either average is still warming up (NaN)
        return Signals.of(crossover(fast, slow).astype(np.int8), crossunder(fast, slow))

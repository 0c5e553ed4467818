"""``[execution]`` of a strategy TOML: the fill model, participation cap and order-entry
latency of the simulated venue."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from framework.config import FrozenModel
from framework.execution.fill_models import FillModel
from framework.execution.state import N_EXEC, X_PARTICIPATION, X_TICK


class ExecutionConfig(FrozenModel):
    """``[execution]``: fill model, participation cap, latency, prices on the tick
    (``framework.execution.ticks``)."""

    fill_model: Literal["bar", "quote", "book"] = "bar"  # OHLC bars, NBBO quotes, L3 book
    participation: float = Field(default=0.0, ge=0.0, le=1.0)  # of bar volume; 0 = no cap
    latency_ms: float = Field(default=0.0, ge=0.0)  # order entry, constant part
    latency_jitter_ms: float = Field(default=0.0, ge=0.0)  # mean of an exponential draw
    seed: int = 7
    tick_prices: bool = False  # limit / stop prices on the $0.01 ($0.0001 < $1) tick

    @property
    def model(self) -> FillModel:
        """The fill model's code."""
        return FillModel[self.fill_model.upper()]

    def latencies(self, n: int) -> np.ndarray:
        """Per-order entry latencies in ns, seeded (order k uses draw k mod n)."""
        base = np.full(max(n, 1), self.latency_ms * 1e6)
        if self.latency_jitter_ms > 0:
            rng = np.random.default_rng(self.seed)
            base += rng.exponential(self.latency_jitter_ms * 1e6, base.shape[0])
        return base.astype(np.int64)

    def as_array(self) -> np.ndarray:
        """The kernels' execution vector (``framework.execution.state.X_*``)."""
        x = np.zeros(N_EXEC)
        x[X_PARTICIPATION] = self.participation
        x[X_TICK] = float(self.tick_prices)
        return x

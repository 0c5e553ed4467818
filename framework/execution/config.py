"""``[execution]`` of a strategy TOML: the fill model, participation cap and order-entry
latency of the simulated venue, and the parent-order algorithm (``algo`` and its keys,
``framework.execution.algos``; ``docs/execution.md``)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from framework.config import FrozenModel
from framework.execution.algos import params as A
from framework.execution.fill_models import FillModel
from framework.execution.state import N_EXEC, X_PARTICIPATION, X_TICK

MIN_NS = 60_000_000_000


class ExecutionConfig(FrozenModel):
    """``[execution]``: fill model, participation cap, latency, prices on the tick
    (``framework.execution.ticks``)."""

    fill_model: Literal["bar", "quote", "book"] = "bar"  # OHLC bars, NBBO quotes, L3 book
    participation: float = Field(default=0.0, ge=0.0, le=1.0)  # of bar volume; 0 = no cap
    latency_ms: float = Field(default=0.0, ge=0.0)  # order entry, constant part
    latency_jitter_ms: float = Field(default=0.0, ge=0.0)  # mean of an exponential draw
    seed: int = 7
    tick_prices: bool = False  # limit / stop prices on the $0.01 ($0.0001 < $1) tick
    # parent-order algorithm of entries (``docs/execution.md``); "now" sends at once
    algo: Literal["now", "twap", "vwap", "pov", "iceberg", "is"] = "now"
    horizon_min: float = Field(default=30.0, gt=0.0)  # schedule length, minutes
    interval_min: float = Field(default=5.0, gt=0.0)  # TWAP / IS slice, minutes
    randomize_time: float = Field(default=0.0, ge=0.0, lt=0.5)  # TWAP: +- slices
    randomize_size: float = Field(default=0.0, ge=0.0, lt=1.0)  # TWAP: +- fraction
    pov_rate: float = Field(default=0.1, gt=0.0, lt=1.0)  # POV: share of market volume
    min_child: float = Field(default=0.0, ge=0.0)  # POV: shares, smaller is not sent
    max_child: float = Field(default=0.0, ge=0.0)  # shares per child, 0 = no cap
    display: float = Field(default=0.0, ge=0.0)  # iceberg: shown shares per refresh
    display_jitter: float = Field(default=0.0, ge=0.0, lt=1.0)  # iceberg: +- fraction
    risk_aversion: float = Field(default=1e-6, ge=0.0)  # IS: lambda, 1/USD
    child_orders: Literal["market", "limit"] = "market"  # children's type
    limit_offset_bps: float = Field(default=0.0, ge=0.0)  # limit children off the close
    residual: Literal["cancel", "sweep", "carry"] = "cancel"  # at the horizon
    vwap_bucket_min: int = Field(default=5, ge=1)  # VWAP profile bucket, minutes
    vwap_sessions: int = Field(default=20, ge=1)  # VWAP profile / IS estimates: sessions
    lot: float = Field(default=1.0, ge=0.0)  # child sizes in multiples of this
    max_parents: int = Field(default=1024, ge=1)  # parent table rows

    @model_validator(mode="after")
    def _algo_keys(self) -> ExecutionConfig:
        if self.algo == "iceberg" and not self.display > 0.0:
            raise ValueError("[execution] display must be > 0 shares for algo = "
                             "\"iceberg\"")
        if self.algo in ("twap", "is") and self.interval_min > self.horizon_min:
            raise ValueError(f"[execution] interval_min ({self.interval_min}) exceeds "
                             f"horizon_min ({self.horizon_min})")
        if self.algo == "pov" and self.max_child and self.min_child > self.max_child:
            raise ValueError("[execution] min_child exceeds max_child")
        return self

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

    def algo_array(self) -> np.ndarray:
        """The algo kernels' parameter vector (``framework.execution.algos.params.A_*``)."""
        a = np.zeros(A.N_ALGO)
        a[A.A_KIND] = A.Algo[self.algo.upper()]
        a[A.A_HORIZON_NS] = self.horizon_min * MIN_NS
        a[A.A_INTERVAL_NS] = self.interval_min * MIN_NS
        a[A.A_RAND_TIME] = self.randomize_time
        a[A.A_RAND_SIZE] = self.randomize_size
        a[A.A_RATE] = self.pov_rate
        a[A.A_MIN_CHILD] = self.min_child
        a[A.A_MAX_CHILD] = self.max_child
        a[A.A_DISPLAY] = self.display
        a[A.A_DISPLAY_RAND] = self.display_jitter
        a[A.A_LAMBDA] = self.risk_aversion
        a[A.A_CHILD_LIMIT] = float(self.child_orders == "limit")
        a[A.A_LIMIT_OFFSET_BPS] = self.limit_offset_bps
        a[A.A_RESIDUAL] = A.Residual[self.residual.upper()]
        a[A.A_BUCKET_NS] = self.vwap_bucket_min * MIN_NS
        a[A.A_LOT] = self.lot
        a[A.A_SEED] = self.seed
        return a

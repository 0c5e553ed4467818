"""Performance figures a live session computes as it goes (not in PromQL): rolling
Sharpe of sampled equity returns, drawdown from the high-water mark, fill ratio over the
last orders. Each update is O(1) except at a sampling boundary (O(window), once per
period)."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from framework.types.annual import SESSIONS_PER_YEAR, annualised_sharpe

TRADING_SECONDS_PER_YEAR = SESSIONS_PER_YEAR * 6.5 * 3600  # XNYS regular hours


class RollingSharpe:
    """Annualised Sharpe of simple equity returns sampled every ``period_s`` seconds of
    the session's clock, over the last ``window`` returns.

    The equity at the end of each period (the last mark before its boundary) is one
    sample; return k = sample_k / sample_{k-1} - 1. Sharpe = mean / sample std (ddof=1)
    x sqrt(periods per year), periods per year = SESSIONS_PER_YEAR x 6.5 h / ``period_s`` -- the
    streaming form of ``framework.analytics.metrics.rolling_sharpe_vol`` on these
    returns, annualised on intraday periods (which overstates it when returns are
    autocorrelated; ``docs/analytics.md`` explains why reports use daily returns).
    """

    def __init__(self, period_s: float = 60.0, window: int = 390):
        if period_s <= 0 or window < 2:
            raise ValueError("RollingSharpe: period_s must be > 0 and window >= 2")
        self.period_ns = int(period_s * 1e9)
        self.periods_per_year = TRADING_SECONDS_PER_YEAR / period_s
        self.returns: deque[float] = deque(maxlen=window)
        self._bucket: int | None = None  # period index of the current (open) period
        self._last_eq = math.nan  # last equity marked in the open period
        self._prev_sample = math.nan  # equity at the end of the previous period
        self.value = math.nan

    def update(self, ts_ns: int, equity: float) -> float:
        """Mark ``equity`` (USD) at ``ts_ns`` (ns, the session's clock); returns the
        Sharpe (NaN until ``window`` >= 2 returns and a non-zero spread)."""
        bucket = ts_ns // self.period_ns
        if self._bucket is not None and bucket > self._bucket:
            self._close_period()
        self._bucket = bucket
        self._last_eq = equity
        return self.value

    def _close_period(self) -> None:
        if not math.isnan(self._prev_sample) and self._prev_sample > 0:
            self.returns.append(self._last_eq / self._prev_sample - 1.0)
            if len(self.returns) >= 2:
                r = np.fromiter(self.returns, float, len(self.returns))
                sd = float(r.std(ddof=1))
                self.value = float(annualised_sharpe(float(r.mean()), sd, self.periods_per_year))
        self._prev_sample = self._last_eq


class HighWater:
    """Drawdown (fraction below the highest equity marked so far, >= 0); ``peak`` is NaN
    until the first mark."""

    def __init__(self):
        self.peak = math.nan
        self.drawdown = 0.0

    def update(self, equity: float) -> float:
        """Mark ``equity`` (USD); returns the drawdown (fraction)."""
        if not equity <= self.peak:  # also the first mark (NaN peak)
            self.peak = equity
        self.drawdown = 1.0 - equity / self.peak if self.peak > 0 else 0.0
        return self.drawdown


class FillRatio:
    """Shares filled / shares ordered over the last ``window`` orders that ended."""

    def __init__(self, window: int = 50):
        self.done: deque[tuple[float, float]] = deque(maxlen=window)  # (filled, ordered)

    def add(self, filled: float, ordered: float) -> None:
        """One order ended with ``filled`` of ``ordered`` shares (O(1); the ratio is
        summed when read, at a scrape)."""
        self.done.append((filled, ordered))

    @property
    def ratio(self) -> float:
        """Shares filled / shares ordered over the window (NaN before any order)."""
        done = tuple(self.done)  # a snapshot: the trading thread appends while a scrape reads
        ordered = sum(o for _, o in done)
        return sum(f for f, _ in done) / ordered if ordered > 0 else math.nan

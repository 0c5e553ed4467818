"""Strategies for the look-ahead guard's tests: six that peek, each the way research code
really does, and an honest twin of the first.

Every leaky one must fail ``fw check lookahead`` at its defaults; the honest ones must pass.
They are written the way a user would write them (pandas, scikit-learn), not against the
guard: the leak sits where it sits in real notebooks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field
from sklearn.linear_model import LogisticRegression

from framework.config import FrozenModel
from framework.strategy import BarPanel, Signals, Strategy


class CrossParams(FrozenModel):
    """Moving-average windows in bars."""

    fast: int = Field(default=5, ge=1)
    slow: int = Field(default=20, ge=2)


def crossings(fast: pd.DataFrame, slow: pd.DataFrame) -> Signals:
    """Long when ``fast`` crosses above ``slow``, out when it crosses below (``sma_cross``'s
    rule, from pandas frames)."""
    above = (fast > slow).to_numpy()
    valid = slow.notna().to_numpy()
    prev = np.vstack([np.zeros((1, above.shape[1]), bool), above[:-1]])
    valid_prev = np.vstack([np.zeros((1, above.shape[1]), bool), valid[:-1]])
    return Signals.of((above & ~prev & valid_prev).astype(np.int8), ~above & prev & valid)


class PandasCross(Strategy):
    """Honest: SMA cross of the close with pandas' trailing ``rolling``."""

    Params = CrossParams

    def lookback_bars(self) -> int:
        return self.params.slow + 1

    def price(self, close: pd.DataFrame) -> pd.DataFrame:
        """The series the averages are taken of."""
        return close

    def signals(self, panel: BarPanel) -> Signals:
        px = self.price(pd.DataFrame(panel.close))
        return crossings(px.rolling(self.params.fast).mean(),
                         px.rolling(self.params.slow).mean())


class NextBarClose(PandasCross):
    """Leak: the averages are of the *next* bar's close (``shift(-1)``)."""

    def price(self, close: pd.DataFrame) -> pd.DataFrame:
        return close.shift(-1)


class NextCloseFilled(PandasCross):
    """Leak: next bar's close with the last row forward-filled (``shift(-1).ffill()``), so
    the last row looks as complete as any other: the issue's 1,552 % against 659 %."""

    def price(self, close: pd.DataFrame) -> pd.DataFrame:
        return close.shift(-1).ffill()


class FarAheadClose(PandasCross):
    """Leak beyond the guard's windows: the close 300 bars ahead, forward-filled."""

    def price(self, close: pd.DataFrame) -> pd.DataFrame:
        return close.shift(-300).ffill()


class FullSampleMean(Strategy):
    """Leak: long when the close is below the mean of the *whole* sample."""

    def signals(self, panel: BarPanel) -> Signals:
        below = panel.close < np.nanmean(panel.close, axis=0)
        prev = np.vstack([np.zeros((1, below.shape[1]), bool), below[:-1]])
        return Signals.of((below & ~prev).astype(np.int8), ~below & prev)


class BandParams(FrozenModel):
    """Window of the band in bars; entry and exit in standard deviations."""

    window: int = Field(default=21, ge=3)
    entry_z: float = 1.5
    exit_z: float = 0.25


class CentredBand(Strategy):
    """Leak: a Bollinger-style fade against a *centred* rolling mean and std (pandas
    ``rolling(center=True)``: half the window lies in the future)."""

    Params = BandParams

    def lookback_bars(self) -> int:
        return self.params.window

    def signals(self, panel: BarPanel) -> Signals:
        p = self.params
        close = pd.DataFrame(panel.close)
        roll = close.rolling(p.window, center=True)
        z = ((close - roll.mean()) / roll.std()).to_numpy()
        entry = np.where(z <= -p.entry_z, 1, 0).astype(np.int8)
        return Signals.of(entry, np.abs(z) <= p.exit_z)


class WholeSeriesModel(Strategy):
    """Leak: a logistic regression of the next bar's direction on the last three returns,
    fitted once on the whole series, then trading its in-sample probabilities (entry when
    P(up) > 0.5, size by the probability)."""

    def lookback_bars(self) -> int:
        return 100  # enough samples of both classes to fit

    def signals(self, panel: BarPanel) -> Signals:
        ret = pd.DataFrame(np.log(panel.close)).diff() * 1e4  # bps: a well-scaled fit
        lags = np.stack([ret.shift(k).to_numpy() for k in range(3)], axis=-1)  # [T, S, 3]
        up = (ret.shift(-1) > 0).to_numpy()
        known = np.isfinite(lags).all(axis=-1) & ret.shift(-1).notna().to_numpy()
        model = LogisticRegression().fit(lags[known], up[known])
        ok = np.isfinite(lags).all(axis=-1)
        proba = np.full(ok.shape, np.nan)
        proba[ok] = model.predict_proba(lags[ok])[:, 1]
        entry = (proba > 0.5).astype(np.int8)
        return Signals.of(entry, proba < 0.5, size=np.where(entry > 0, 2 * proba - 1, np.nan))


LEAKY = ("NextBarClose", "NextCloseFilled", "FarAheadClose", "FullSampleMean", "CentredBand",
         "WholeSeriesModel")
HONEST = ("PandasCross",)

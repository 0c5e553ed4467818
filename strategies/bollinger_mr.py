"""Intraday mean reversion on 1-minute bars: fade z-score extremes of the close against
its rolling mean, exit on reversion, flat before each close."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from framework.config import FrozenModel
from framework.features import zscore
from framework.strategy import BarPanel, Signals, Strategy


class BollingerParams(FrozenModel):
    """``window`` bars of the z-score; ``entry_z``/``exit_z`` in standard deviations."""

    window: int = Field(default=30, ge=2)
    entry_z: float = Field(default=2.0, gt=0.0)
    exit_z: float = Field(default=0.25, ge=0.0)


def zscore_signals(close: np.ndarray, p: BollingerParams) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """(z, entry, exit): entry +1 below -entry_z, -1 above +entry_z; exit once |z| <= exit_z."""
    z = zscore(close, p.window)
    entry = np.where(z <= -p.entry_z, 1, np.where(z >= p.entry_z, -1, 0)).astype(np.int8)
    exit_ = np.abs(z) <= p.exit_z  # NaN compares False: no exit during warm-up
    return z, entry, exit_


class BollingerMR(Strategy):
    """Buy the lower band, sell the upper band (shorts per ``[decision] allow_short``)."""

    Params = BollingerParams

    def lookback_bars(self) -> int:
        return self.params.window

    def signals(self, panel: BarPanel) -> Signals:
        _, entry, exit_ = zscore_signals(panel.close, self.params)
        return Signals.of(entry, exit_)

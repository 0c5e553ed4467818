"""A deliberately non-causal strategy: it normalises by the full-sample mean."""

from __future__ import annotations

import numpy as np

from framework.strategy import BarPanel, Signals, Strategy


class FullSampleMean(Strategy):
    """Long when the close is below the mean of the *whole* sample (look-ahead)."""

    def signals(self, panel: BarPanel) -> Signals:
        below = panel.close < np.nanmean(panel.close, axis=0)
        prev = np.vstack([np.zeros((1, below.shape[1]), bool), below[:-1]])
        return Signals.of((below & ~prev).astype(np.int8), ~below & prev)

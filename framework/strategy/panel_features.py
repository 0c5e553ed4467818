"""A feature set evaluated over a bar panel: ``[time, symbol, feature]`` float64."""

from __future__ import annotations

import numpy as np

from framework.features.featureset import FeatureSetSpec, compile_plan, featureset_run
from framework.strategy.panel import BarPanel


def panel_features(spec: FeatureSetSpec, panel: BarPanel) -> np.ndarray:
    """Features of every symbol's bars (one fused causal pass per symbol).

    Returns ``X[T, S, F]`` with ``F = len(spec.columns())`` in that order; NaN in
    warm-up and where a bar is missing.
    """
    T, S = panel.close.shape
    cols = spec.columns()
    X = np.empty((T, S, len(cols)))
    for s in range(S):
        plan, state = compile_plan(spec)
        part = np.empty((len(cols), T))
        featureset_run(plan, state, *(np.ascontiguousarray(getattr(panel, f)[:, s])
                                      for f in ("open", "high", "low", "close", "volume")),
                       part)
        X[:, s, :] = part.T
    return X

"""A feature set evaluated over a bar panel: ``[time, symbol, feature]`` float64."""

from __future__ import annotations

import numpy as np

from framework.features import incremental
from framework.features.plan import compile_plan, featureset_run
from framework.features.spec import FeatureSetSpec
from framework.strategy.panel import BarPanel

_OHLCV = ("open", "high", "low", "close", "volume")


def panel_features(spec: FeatureSetSpec, panel: BarPanel) -> np.ndarray:
    """Features of every symbol's bars (one fused causal pass per symbol).

    Returns ``X[T, S, F]`` with ``F = len(spec.columns())`` in that order; NaN in
    warm-up and where a bar is missing. Inside a live window
    (``framework.features.incremental``) each symbol's pass continues from its state.
    """
    T, S = panel.close.shape
    cols = spec.columns()
    inc = incremental.current()
    if inc is not None:
        def run(st, o, h, lo, c, v, *outs):
            part = np.empty((len(cols), o.shape[0]))
            featureset_run(st[0], st[1], o, h, lo, c, v, part)
            for f, out in enumerate(outs):
                out[:] = part[f]

        res = inc.run_state(("featureset", spec.model_dump_json()), lambda: compile_plan(spec),
                            run, [getattr(panel, f) for f in _OHLCV], len(cols))
        return np.stack(res if len(cols) > 1 else (res,), axis=-1)
    X = np.empty((T, S, len(cols)))
    for s in range(S):
        plan, state = compile_plan(spec)
        part = np.empty((len(cols), T))
        featureset_run(plan, state, *(np.ascontiguousarray(getattr(panel, f)[:, s])
                                      for f in _OHLCV), part)
        X[:, s, :] = part.T
    return X

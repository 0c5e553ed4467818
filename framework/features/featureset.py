"""Feature sets on Polars frames and live bars: the adapters around the compiled plan.

``compute_features`` runs a feature set over a Polars frame of OHLCV bars (one fused
pass per symbol); ``StreamingFeatureSet`` advances it one live bar at a time. Specs live
in ``framework.features.spec``, the plan and its numba step in ``framework.features.plan``,
the kinds in ``framework.features.registry``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from framework.features.indicators import FeatureError
from framework.features.plan import compile_plan, featureset_run, featureset_step
from framework.features.spec import FeatureSetSpec

_OHLCV = ("open", "high", "low", "close", "volume")


def _ohlcv(bars: pl.DataFrame, spec: FeatureSetSpec) -> list[np.ndarray]:
    missing = [c for c in _OHLCV if c not in bars.columns]
    if missing:
        raise FeatureError(
            f"feature set '{spec.name}': bars lack column(s) {missing}; need {list(_OHLCV)}"
        )
    return [bars[c].cast(pl.Float64).fill_null(np.nan).to_numpy() for c in _OHLCV]


def compute_features(spec: FeatureSetSpec, bars: pl.DataFrame) -> pl.DataFrame:
    """Features for every bar, one fused pass per symbol.

    ``bars`` needs open/high/low/close/volume (USD, shares) in time order; with a
    ``symbol`` column each symbol is an independent series (rows keep their order).
    Returns ``ts``/``symbol`` when present, then ``spec.columns()``.
    """
    o, h, low, c, v = _ohlcv(bars, spec)
    cols = spec.columns()
    out = np.empty((len(cols), bars.height))
    if "symbol" in bars.columns:
        sym = bars["symbol"].to_numpy()
        _, inv = np.unique(sym, return_inverse=True)
        groups = [np.flatnonzero(inv == g) for g in range(inv.max() + 1)] if len(sym) else []
    else:
        groups = [np.arange(bars.height)]
    for idx in groups:
        plan, state = compile_plan(spec)
        part = np.empty((len(cols), idx.shape[0]))
        featureset_run(plan, state, o[idx], h[idx], low[idx], c[idx], v[idx], part)
        out[:, idx] = part
    keys = [k for k in ("ts", "symbol") if k in bars.columns]
    frame = pl.DataFrame({name: out[i] for i, name in enumerate(cols)})
    # NaN (warm-up, gaps) stays NaN rather than null: it is a float value here.
    return pl.concat([bars.select(keys), frame], how="horizontal") if keys else frame


class StreamingFeatureSet:
    """The live form of a feature set: ``update`` advances all features by one bar.

    ``plan`` and ``state`` are plain arrays, so numba code (the live driver, the event
    engine) can call ``featureset_step(fs.plan, fs.state, o, h, l, c, v, row)`` itself.
    """

    def __init__(self, spec: FeatureSetSpec):
        self.spec = spec
        self.columns = spec.columns()
        self.plan, self.state = compile_plan(spec)
        self.row = np.full(len(self.columns), np.nan)

    def update(self, o: float, h: float, low: float, c: float, v: float) -> np.ndarray:
        """Feed one bar (USD, shares); returns the feature row (overwritten next call)."""
        featureset_step(self.plan, self.state, o, h, low, c, v, self.row)
        return self.row

    def as_dict(self) -> dict[str, float]:
        """The latest feature values by column name."""
        return dict(zip(self.columns, self.row.tolist(), strict=True))

    def reset(self) -> None:
        """Back to the cold state (as if no bar had been seen)."""
        self.plan, self.state = compile_plan(self.spec)
        self.row[:] = np.nan

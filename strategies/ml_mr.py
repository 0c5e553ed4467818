"""The flagship: intraday z-score mean reversion on 1-minute bars, filtered and sized by a
meta-label model trained walk-forward.

* Primary signal: fade the close's z-score against its rolling mean (the same rule as
  ``bollinger_mr``): long below ``-entry_z``, short above ``+entry_z``.
* Meta-label: did that trade reach its profit-take before its stop-loss, time limit or
  the session close (triple barrier, volatility-scaled)? A model of the feature set in
  ``[model] feature_set`` learns it; samples are weighted by label uniqueness.
* Walk-forward: the first ``initial_sessions`` sessions only train; each later span of
  sessions is scored by a model refitted on labels settled before it. The tearsheet's
  headline is that out-of-sample span; the first span is in-sample and shown apart.
* Trade: enter only when P(win) ≥ ``threshold``, with size ``max_size * (2 N(z) - 1)``
  (fraction of equity, AFML bet sizing), exit on reversion, brackets and flat at close.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from framework.config import ConfigError, FrozenModel
from framework.data import Lake
from framework.features import realized_vol
from framework.features.featureset import FeatureSetSpec, load_feature_set
from framework.ml.labels import bet_size, meta_labels, triple_barrier, uniqueness_weights
from framework.ml.models import make_model, sequence_rows
from framework.ml.registry import (
    RegisteredModel,
    check_feature_set,
    load_registered,
    register,
)
from framework.ml.walk_forward import TrainingSet, fit_walk_forward
from framework.strategy import BarPanel, Signals, Strategy, load_panel
from framework.strategy.panel_features import panel_features
from strategies.bollinger_mr import BollingerParams, zscore_signals


class MLParams(BollingerParams):
    """Primary signal (window, entry_z, exit_z) plus labelling and sizing.

    ``vol_window`` bars of 1-bar return volatility set the barrier unit (times
    ``sqrt(max_bars)``); ``profit_take``/``stop_loss`` in those units; ``max_bars`` the
    time barrier; ``min_return`` (fraction) a win must beat (round-trip costs);
    ``threshold`` the minimum P(win) to trade; ``max_size`` equity fraction at P → 1.
    """

    vol_window: int = Field(default=60, ge=2)
    profit_take: float = Field(default=1.0, gt=0.0)
    stop_loss: float = Field(default=1.0, gt=0.0)
    max_bars: int = Field(default=30, ge=1)
    min_return: float = Field(default=0.0002, ge=0.0)
    threshold: float = Field(default=0.55, ge=0.0, le=1.0)
    max_size: float = Field(default=0.2, gt=0.0)


class TrainKnobs(FrozenModel):
    """``[model] train``: walk-forward layout and model hyper-parameters."""

    initial_sessions: int = Field(default=20, ge=1)
    folds: int = Field(default=4, ge=1)
    mode: str = Field(default="expanding", pattern="^(expanding|rolling)$")
    window: int = Field(default=0, ge=0)
    params: dict = Field(default_factory=dict)


def barrier_width(close: np.ndarray, vol_window: int, max_bars: int) -> np.ndarray:
    """Barrier unit per bar (fraction): trailing std of 1-bar log returns over
    ``vol_window`` bars times ``sqrt(max_bars)``; causal, NaN in warm-up."""
    return realized_vol(close, vol_window) * np.sqrt(max_bars)


class MLMeanReversion(Strategy):
    """Z-score mean reversion with a meta-label filter (see the module docstring)."""

    Params = MLParams

    def prepare(self, lake: Lake, cfg) -> None:
        """Load the registered model ``[model]`` names and check its feature set."""
        spec = self._spec(cfg)
        reg = load_registered(lake.root, cfg.model.name, cfg.model.version)
        check_feature_set(reg, spec)
        self.context.artifacts.update(model=reg, spec=spec)

    def _spec(self, cfg) -> FeatureSetSpec:
        if cfg.model is None or cfg.model.feature_set is None:
            raise ConfigError(str(self.context.config_path),
                              ["key 'model.feature_set': ml_mr needs a [model] table naming "
                               "a feature-set TOML"])
        path = cfg.model.feature_set
        for base in (None, self.context.config_path.parent, self.context.config_path.parent.parent):
            cand = path if base is None else base / path
            if cand.is_file():
                return load_feature_set(cand)
        raise ConfigError(str(self.context.config_path),
                          [f"key 'model.feature_set': file {path} not found"])

    def lookback_bars(self) -> int:
        spec = self.context.artifacts.get("spec")
        reg = self.context.artifacts.get("model")
        seq = reg.model.models[0].seq_len if reg else 0
        return max(self.params.window, self.params.vol_window,
                   spec.lookback() if spec else 0) + seq

    def _events(self, panel: BarPanel, X: np.ndarray, seq_len: int):
        """Primary signal and its events with complete model inputs:
        (entry, exit, t, s, side, rows)."""
        _, entry, exit_ = zscore_signals(panel.close, self.params)
        t, s = np.nonzero(entry)
        rows = sequence_rows(X, t, s, seq_len)
        ok = np.isfinite(rows).reshape(rows.shape[0], int(np.prod(rows.shape[1:]))).all(axis=1)
        return entry, exit_, t[ok], s[ok], entry[t[ok], s[ok]].astype(np.float64), rows[ok]

    def signals(self, panel: BarPanel) -> Signals:
        reg: RegisteredModel | None = self.context.artifacts.get("model")
        if reg is None:
            raise ConfigError(str(self.context.config_path),
                              ["ml_mr has no model loaded: build it with prepare=True "
                               "after `fw train`"])
        X = panel_features(self.context.artifacts["spec"], panel)
        entry, exit_, t, s, _, rows = self._events(panel, X, reg.model.models[0].seq_len)
        size = np.zeros(entry.shape)
        if t.shape[0]:
            proba = reg.model.predict_proba(rows, panel.decision_ts()[t])
            size[t, s] = bet_size(proba, self.params.threshold) * self.params.max_size
        gated = np.where(size > 0.0, entry, 0).astype(np.int8)
        return Signals.of(gated, exit_, size=np.where(size > 0.0, size, np.nan))

    def manifest_extra(self) -> dict:
        reg: RegisteredModel = self.context.artifacts["model"]
        return {"model": reg.meta["name"], "model_version": reg.meta["version"],
                "model_path": str(reg.path), "model_kind": reg.meta["kind"],
                "oos_start_ns": reg.meta["oos_start_ns"]}

    def training_set(self, panel: BarPanel, spec: FeatureSetSpec, seq_len: int) -> TrainingSet:
        """Meta-labelled samples of every primary-signal event, sorted by event time."""
        p = self.params
        X = panel_features(spec, panel)
        _, _, t, s, side, rows = self._events(panel, X, seq_len)
        session_last = _session_last(panel.session)
        dts = panel.decision_ts()
        label_ret, t1 = np.zeros(t.shape[0]), np.zeros(t.shape[0], np.int64)
        weight = np.zeros(t.shape[0])
        for j in range(panel.close.shape[1]):
            k = np.flatnonzero(s == j)
            close = np.ascontiguousarray(panel.close[:, j])
            width = barrier_width(close, p.vol_window, p.max_bars)[t[k]]
            width = np.where(np.isfinite(width), width, np.inf)  # no unit yet: time barrier
            _, label_ret[k], t1[k] = triple_barrier(close, session_last, t[k], side[k], width,
                                                    p.profit_take, p.stop_loss, p.max_bars)
            weight[k] = uniqueness_weights(t[k], t1[k], panel.n_bars)
        order = np.lexsort((s, t))
        return TrainingSet(X=rows[order], y=meta_labels(label_ret, p.min_return)[order],
                           w=weight[order], t0=dts[t][order], t1=dts[t1][order])

    def train(self, lake: Lake, cfg) -> dict:
        """Build the training set from the lake, fit walk-forward, register the model."""
        spec = self._spec(cfg)
        knobs = TrainKnobs.model_validate(cfg.model.train)
        panel = load_panel(lake, cfg.symbols, cfg.data.start, cfg.data.end, cfg.data.timeframe,
                           cfg.data.session)
        seq_len = make_model(cfg.model.kind, cfg.seed, knobs.params).seq_len
        data = self.training_set(panel, spec, seq_len)
        opens = np.unique(panel.session_open)
        if opens.shape[0] <= knobs.initial_sessions:
            raise ConfigError(str(self.context.config_path), [
                f"key 'model.train.initial_sessions': {knobs.initial_sessions} leaves no "
                f"out-of-sample session among the {opens.shape[0]} in the data"])
        later = np.array_split(opens[knobs.initial_sessions:], knobs.folds)
        bounds = np.array([int(g[0]) for g in later if g.shape[0]] + [int(panel.ts[-1]) + 1])
        wf, oos, metrics = fit_walk_forward(data, bounds, kind=cfg.model.kind, seed=cfg.seed,
                                            params=knobs.params, mode=knobs.mode,
                                            window=knobs.window)
        fingerprint = lake.fingerprint("bars_" + cfg.data.timeframe, list(cfg.symbols),
                                       cfg.data.start, cfg.data.end)
        path = register(lake.root, cfg.model.name, wf, {
            "kind": cfg.model.kind, "strategy": cfg.name, "symbols": list(cfg.symbols),
            "timeframe": cfg.data.timeframe, "feature_set": spec.model_dump(mode="json"),
            "feature_columns": spec.columns(), "train_fingerprint": fingerprint,
            "cv": metrics, "label": self.params.model_dump(mode="json"),
            "train": knobs.model_dump(mode="json"), "seed": cfg.seed, "samples": int(
                data.y.shape[0]), "oos_start_ns": int(bounds[0])})
        auc = metrics["out_of_sample"]["auc"]
        return {"model": cfg.model.name, "version": path.name, "path": str(path),
                "samples": int(data.y.shape[0]), "positive_rate": float(data.y.mean()),
                "oos_samples": int(np.isfinite(oos).sum()),
                "oos_auc": "n/a" if auc is None else round(auc, 4),
                "refits": len(wf.models)}


def _session_last(session: np.ndarray) -> np.ndarray:
    """Index of the last bar of each bar's session (``session`` sorted, one id each)."""
    idx = np.arange(session.shape[0])
    last = np.empty_like(idx)
    change = np.flatnonzero(np.diff(session)) + 1
    ends = np.concatenate((change - 1, [session.shape[0] - 1]))
    starts = np.concatenate(([0], change))
    for a, b in zip(starts, ends, strict=True):
        last[a:b + 1] = b
    return last

"""A walk-forward meta-label model applied to a strategy's primary signal on bar panels.

What a strategy with a ``[model]`` table calls from its hooks (see ``strategies/ml_mr.py``)::

    def prepare(self, lake, config):            # load the registered model
        self.meta = MetaLabel.load(lake, config, self.context.config_path)

    def signals(self, panel):                   # size (0 = filtered out) of each entry
        size = self.meta.sizes(panel, entry, self.params)

    def train(self, lake, config):              # label, fit walk-forward, register
        return MetaLabel(config, self.context.config_path).train(lake, config, self.primary,
                                                                 self.params)

The array-level parts (labels, refit bounds, fitting, registration) are
``framework.ml.meta_label``; this class adds the panel, the feature set and the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from framework.config import ConfigError, validate_mapping
from framework.config.search import find_file
from framework.data import Lake
from framework.features.incremental import kept_from
from framework.features.spec import FeatureSetSpec, load_feature_set
from framework.ml.cv import purged_kfold
from framework.ml.meta_label import (
    MetaLabelParams,
    WalkForwardKnobs,
    event_rows,
    event_sizes,
    fit_and_register,
    meta_label_set,
    walk_forward_bounds,
)
from framework.ml.models import make_model
from framework.ml.registry import RegisteredModel, check_feature_set, load_registered
from framework.ml.walk_forward import TrainingSet, classifier_scores, fit_walk_forward
from framework.strategy.config_view import ConfigView
from framework.strategy.panel import BarPanel, load_panel
from framework.strategy.panel_features import panel_features


class MetaLabel:
    """The ``[model]`` table of a strategy TOML at ``source``: its feature set, and once
    loaded (:meth:`load`) the registered walk-forward model that scores entries."""

    def __init__(self, config: ConfigView, source: str | Path):
        if config.model is None or config.model.feature_set is None:
            raise ConfigError(str(source), [
                f"key 'model.feature_set': strategy '{config.name}' needs a [model] table "
                "naming a feature-set TOML"])
        self.model_ref = config.model
        self.source = Path(source)
        self.spec: FeatureSetSpec = load_feature_set(
            find_file(config.model.feature_set, source, "model.feature_set"))
        self.registered: RegisteredModel | None = None

    @classmethod
    def load(cls, lake: Lake, config: ConfigView, source: str | Path) -> MetaLabel:
        """The version ``[model]`` names from ``lake``'s registry; ``RegistryError`` if it
        is missing or was trained on another feature set."""
        meta = cls(config, source)
        reg = load_registered(lake.root, meta.model_ref.name, meta.model_ref.version)
        check_feature_set(reg, meta.spec)
        meta.registered = reg
        return meta

    @property
    def seq_len(self) -> int:
        """Feature rows per model input (0: one row; > 0: a window, sequence models)."""
        return self.registered.model.models[0].seq_len if self.registered else 0

    def lookback_bars(self, signal_lookback: int) -> int:
        """Warm-up of the model's inputs behind a primary signal needing
        ``signal_lookback`` bars: the longer of the two, plus the model's window."""
        return max(signal_lookback, self.spec.lookback()) + self.seq_len

    def sizes(self, panel: BarPanel, entry: np.ndarray, params: MetaLabelParams) -> np.ndarray:
        """``[T, S]`` size of each entry of the primary signal ``entry`` (+1/-1/0): the
        model's bet size ``max_size × (2 N(z) − 1)`` from the refit valid at the bar's
        decision time, 0 below ``threshold``, where inputs are incomplete, and off entries.
        Causal: row t uses features and the model valid up to t."""
        if self.registered is None:
            raise ConfigError(str(self.source), [
                f"model '{self.model_ref.name}' is not loaded: the strategy's prepare() "
                "must call MetaLabel.load (after `fw train`)"])
        X = panel_features(self.spec, panel)
        lo = kept_from(entry.shape[0])  # live: only the last row's events are scored
        t, s, _, rows = event_rows(entry if lo == 0 else _from_row(entry, lo), X,
                                   self.seq_len)
        size = np.zeros(entry.shape)
        if t.shape[0]:
            size[t, s] = event_sizes(self.registered.model, rows, panel.decision_ts()[t],
                                     params)
        return size

    def _training(self, lake: Lake, config: ConfigView,
                  primary: Callable[[BarPanel], np.ndarray], params: MetaLabelParams
                  ) -> tuple[TrainingSet, np.ndarray, WalkForwardKnobs]:
        """The meta-labelled samples of ``primary(panel)`` on the configured bars, the
        walk-forward refit times (ns UTC) and the ``[model] train`` knobs."""
        knobs = validate_mapping(self.model_ref.train, WalkForwardKnobs, str(self.source),
                                 "model.train")
        panel = load_panel(lake, config.symbols, config.data.start, config.data.end,
                           config.data.timeframe, config.data.session)
        seq_len = make_model(self.model_ref.kind, config.seed, knobs.params).seq_len
        X = panel_features(self.spec, panel)
        data = meta_label_set(panel.close, panel.session, panel.decision_ts(),
                              event_rows(primary(panel), X, seq_len), params)
        bounds = walk_forward_bounds(panel.session_open, int(panel.ts[-1]), knobs, self.source)
        return data, bounds, knobs

    def train(self, lake: Lake, config: ConfigView,
              primary: Callable[[BarPanel], np.ndarray], params: MetaLabelParams) -> dict:
        """``fw train``: load the configured bars, label every entry of ``primary(panel)``
        (the ``[T, S]`` +1/-1/0 primary signal) by the triple barrier, fit walk-forward per
        ``[model] train`` and register the next version. Returns what the terminal shows."""
        data, bounds, knobs = self._training(lake, config, primary, params)
        fingerprint = lake.fingerprint("bars_" + config.data.timeframe, list(config.symbols),
                                       config.data.start, config.data.end)
        return fit_and_register(lake.root, self.model_ref.name, self.model_ref.kind, data,
                                bounds, knobs, config.seed, {
                                    "strategy": config.name, "symbols": list(config.symbols),
                                    "timeframe": config.data.timeframe,
                                    "feature_set": self.spec.model_dump(mode="json"),
                                    "feature_columns": self.spec.columns(),
                                    "train_fingerprint": fingerprint,
                                    "label": params.model_dump(mode="json")})

    def cross_validate(self, lake: Lake, config: ConfigView,
                       primary: Callable[[BarPanel], np.ndarray], params: MetaLabelParams,
                       splits: int, embargo_ns: int) -> dict:
        """Score the configured model (``[model] kind`` and ``train.params``) without
        registering anything: purged k-fold (``splits`` folds, ``embargo_ns`` ns of
        embargo) on the samples settled before the walk-forward's first refit — the
        in-sample span — and the walk-forward out-of-sample scores after it. Returns
        ``cv_auc``, ``cv_log_loss`` (means over folds), ``oos_auc``, ``oos_log_loss``,
        ``folds`` (per-fold scores) and sample counts."""
        data, bounds, knobs = self._training(lake, config, primary, params)
        ins = np.flatnonzero(data.t1 < bounds[0])
        folds = []
        for train, test in purged_kfold(data.t0[ins], data.t1[ins], splits, embargo_ns):
            model = make_model(self.model_ref.kind, config.seed, knobs.params)
            tr, te = ins[train], ins[test]
            model.fit(data.X[tr], data.y[tr], data.w[tr])
            folds.append(classifier_scores(data.y[te], model.predict_proba(data.X[te])))
        _, _, wf = fit_walk_forward(data, bounds, kind=self.model_ref.kind, seed=config.seed,
                                    params=knobs.params, mode=knobs.mode, window=knobs.window)

        def mean(key: str) -> float:
            vals = [f[key] for f in folds if f[key] is not None]
            return float(np.mean(vals)) if vals else float("nan")

        oos = wf["out_of_sample"]
        return {"cv_auc": mean("auc"), "cv_log_loss": mean("log_loss"),
                "oos_auc": oos["auc"] if oos["auc"] is not None else float("nan"),
                "oos_log_loss": oos["log_loss"] if oos["log_loss"] is not None
                else float("nan"),
                "in_sample_samples": int(ins.shape[0]), "oos_samples": oos["n"],
                "folds": folds}

    def manifest(self) -> dict[str, Any]:
        """The run manifest's record of the model used (name, version, path, kind, and
        ``oos_start_ns``, where the out-of-sample span starts)."""
        if self.registered is None:
            return {}
        meta = self.registered.meta
        return {"model": meta["name"], "model_version": meta["version"],
                "model_path": str(self.registered.path), "model_kind": meta["kind"],
                "oos_start_ns": meta["oos_start_ns"]}


def _from_row(entry: np.ndarray, lo: int) -> np.ndarray:
    """``entry`` with the rows before ``lo`` cleared (their events are not scored)."""
    out = np.zeros_like(entry)
    out[lo:] = entry[lo:]
    return out

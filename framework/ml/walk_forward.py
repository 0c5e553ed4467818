"""Walk-forward training: refit at each boundary on what was settled before it, score the
next span out-of-sample, and keep every refit as one segment of the registered model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from framework.ml.cv import purge, walk_forward
from framework.ml.models import make_model
from framework.ml.registry import WalkForwardModel


@dataclass(frozen=True)
class TrainingSet:
    """Samples sorted by event time: inputs, binary labels, weights, label horizons."""

    X: np.ndarray  # [n, F] or [n, L, F]
    y: np.ndarray  # int8 in {0, 1}
    w: np.ndarray  # sample weights (e.g. label uniqueness)
    t0: np.ndarray  # event time, ns UTC
    t1: np.ndarray  # time the label settled, ns UTC


def classifier_scores(y: np.ndarray, p: np.ndarray) -> dict:
    """Scores of probabilities ``p`` of labels ``y`` in {0, 1}: ``n``, ``base_rate``,
    ``auc`` (None with one class), ``log_loss``, ``accuracy`` at 0.5."""
    from sklearn.metrics import log_loss, roc_auc_score  # training only: keep backtests light

    both = np.unique(y).shape[0] == 2
    return {"n": int(y.shape[0]), "base_rate": float(y.mean()) if y.shape[0] else None,
            "auc": float(roc_auc_score(y, p)) if both else None,
            "log_loss": float(log_loss(y, np.clip(p, 1e-9, 1 - 1e-9), labels=[0, 1]))
            if y.shape[0] else None,
            "accuracy": float(((p >= 0.5) == (y == 1)).mean()) if y.shape[0] else None}


def fit_walk_forward(data: TrainingSet, boundaries_ns: np.ndarray, *, kind: str, seed: int,
                     params: dict | None = None, mode: str = "expanding", window: int = 0,
                     val_fraction: float = 0.2) -> tuple[WalkForwardModel, np.ndarray, dict]:
    """Fit one model per walk-forward fold.

    Returns the segmented model (segment k valid from ``boundaries_ns[k]``), the
    out-of-sample probability of every sample (NaN for samples before the first
    boundary: no model was trained without them) and metrics per fold and overall.
    Sequence models stop early on the last ``val_fraction`` of each fold's training
    samples (purged against the rest), never on the test span.
    """
    folds = walk_forward(data.t0, data.t1, boundaries_ns, mode=mode, window=window)
    oos = np.full(data.y.shape[0], np.nan)
    models, per_fold = [], []
    for k, fold in enumerate(folds):
        model = make_model(kind, seed, params)
        train, val = fold.train, None
        if model.seq_len and val_fraction > 0:
            cut = int(train.shape[0] * (1 - val_fraction))
            val = train[cut:]
            span = [(int(data.t0[val[0]]), int(data.t1[val].max()))]
            train = purge(train[:cut], data.t0, data.t1, span, 0)
        model.fit(data.X[train], data.y[train], data.w[train],
                  None if val is None else data.X[val], None if val is None else data.y[val])
        if fold.test.shape[0]:
            oos[fold.test] = model.predict_proba(data.X[fold.test])
        models.append(model)
        per_fold.append({"fold": k, "start_ns": fold.start_ns, "end_ns": fold.end_ns,
                         "train": int(train.shape[0])}
                        | classifier_scores(data.y[fold.test], oos[fold.test]))
    scored = np.isfinite(oos)
    metrics = {"out_of_sample": classifier_scores(data.y[scored], oos[scored]),
               "folds": per_fold,
               "mode": mode, "window": window}
    return WalkForwardModel(models, np.asarray(boundaries_ns[:-1], dtype=np.int64)), oos, metrics

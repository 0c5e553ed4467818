"""One model interface over scikit-learn and PyTorch: fit, predict_proba, save, load.

Preprocessing (imputation, scaling) lives *inside* the model and is fitted in ``fit`` on
the training rows only, so cross-validation can never leak test statistics into it.
Tabular models take ``X[n, F]``; sequence models (``seq_len > 0``) take ``X[n, L, F]``,
the last ``L`` feature rows up to each event (see :func:`sequence_rows`).
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import warnings
from pathlib import Path
from typing import Protocol

import numpy as np

from framework.ml.hgb_compiled import CompiledHGB, compile_hgb
from framework.types.errors import FwError

SKLEARN_KINDS = ("logistic", "random_forest", "hist_gbm")
TORCH_KINDS = ("torch_tcn", "torch_lstm")
# the ``[model.train.params]`` keys each kind reads ("threads": every scikit-learn fit)
SKLEARN_PARAMS = {"logistic": ("C", "threads"),
                  "random_forest": ("n_estimators", "min_samples_leaf", "threads"),
                  "hist_gbm": ("max_iter", "learning_rate", "max_leaf_nodes", "max_depth",
                               "min_samples_leaf", "l2_regularization", "threads")}


class ModelError(FwError):
    """A model cannot be built, trained or loaded; the message names the kind or path."""


def check_params(kind: str, params: dict, known: tuple[str, ...]) -> dict:
    """``params`` if every key is one ``kind`` reads; else a ``ModelError`` naming the
    key (a misspelt or unsupported hyper-parameter would otherwise change nothing, and a
    sweep over it would rank identical trials)."""
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ModelError(f"model parameter 'model.train.params.{unknown[0]}': {kind} does not "
                         f"read it (known: {', '.join(known)})")
    return params


class Model(Protocol):
    """What every model offers; probabilities are of the positive class (label 1)."""

    kind: str
    seq_len: int

    def fit(self, X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None,
            X_val: np.ndarray | None = None, y_val: np.ndarray | None = None) -> Model: ...

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...

    def save(self, path: Path) -> None: ...


def fit_threads(params: dict) -> int:
    """OpenMP/BLAS threads of a scikit-learn fit: ``params["threads"]`` (default 1)."""
    threads = params.get("threads", 1)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ModelError(f"model parameter 'threads': expected an integer >= 1, got {threads!r}")
    return threads


def _estimator(kind: str, seed: int, params: dict):
    # scikit-learn is imported here, not at module level: scoring a saved HGB needs only
    # its compiled arrays, and importing scikit-learn costs ~1.5 s of every backtest.
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "logistic":
        return Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                         ("scale", StandardScaler()),
                         ("model", LogisticRegression(C=params.get("C", 1.0), max_iter=2000))])
    if kind == "random_forest":
        return Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                         ("model", RandomForestClassifier(
                             n_estimators=params.get("n_estimators", 200),
                             min_samples_leaf=params.get("min_samples_leaf", 20),
                             max_features="sqrt", n_jobs=1, random_state=seed))])
    return HistGradientBoostingClassifier(  # NaN handled natively: no imputer to leak
        max_iter=params.get("max_iter", 200), learning_rate=params.get("learning_rate", 0.05),
        max_leaf_nodes=params.get("max_leaf_nodes", 15), max_depth=params.get("max_depth"),
        min_samples_leaf=params.get("min_samples_leaf", 40),
        l2_regularization=params.get("l2_regularization", 1.0), early_stopping=False,
        random_state=seed)


class SklearnModel:
    """Logistic regression, random forest or histogram gradient boosting. A fitted HGB is
    also compiled to numba (:mod:`framework.ml.hgb_compiled`) and scored through it; a
    loaded HGB then unpickles its estimator (and imports scikit-learn) only if asked."""

    seq_len = 0

    def __init__(self, kind: str, seed: int = 0, params: dict | None = None):
        if kind not in SKLEARN_KINDS:
            raise ModelError(f"unknown scikit-learn model kind {kind!r}: one of {SKLEARN_KINDS}")
        self.kind, self.seed = kind, seed
        self.params = check_params(kind, dict(params or {}), SKLEARN_PARAMS[kind])
        self._estimator = None
        self._pickle: Path | None = None  # saved estimator, unpickled on first use
        self.compiled: CompiledHGB | None = None

    @property
    def estimator(self):
        """The scikit-learn estimator (built, or unpickled from the saved model, on first use)."""
        if self._estimator is None:
            self._estimator = (pickle.loads(self._pickle.read_bytes()) if self._pickle
                               else _estimator(self.kind, self.seed, self.params))
        return self._estimator

    def fit(self, X, y, w=None, X_val=None, y_val=None) -> SklearnModel:
        """Fit on rows ``X[n, F]`` with labels ``y`` in {0, 1} and sample weights ``w``."""
        if np.unique(y).shape[0] < 2:
            raise ModelError(f"{self.kind}: the training labels have a single class")
        self._pickle = None
        self._estimator = _estimator(self.kind, self.seed, self.params)
        key = "model__sample_weight" if hasattr(self.estimator, "steps") else "sample_weight"
        # A fixed thread count, not one per core: HGB's OpenMP loops at this sample size
        # gain little from a second thread and collapse when the cores are shared (a
        # walk-forward fit took 125 s on 2 threads vs 17 s on 1 at load 10); the fitted
        # trees do not depend on it. ``params.threads`` raises it on a quiet machine.
        from threadpoolctl import threadpool_limits  # with scikit-learn: training only

        with threadpool_limits(fit_threads(self.params)):
            self.estimator.fit(X, y, **({key: w} if w is not None else {}))
        self.compiled = compile_hgb(self.estimator) if self.kind == "hist_gbm" else None
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(label 1) per row (float64)."""
        if self.compiled is not None:
            return self.compiled.predict_proba(X)
        return self.estimator.predict_proba(X)[:, 1]

    def save(self, path: Path) -> None:
        """``model.json`` (kind, seed, params), ``model.pkl`` (the fitted estimator) and,
        for an HGB, ``compiled.npz`` (its trees as arrays)."""
        path.mkdir(parents=True, exist_ok=True)
        (path / "model.json").write_text(json.dumps(
            {"kind": self.kind, "seed": self.seed, "params": self.params}, sort_keys=True))
        (path / "model.pkl").write_bytes(pickle.dumps(self.estimator, protocol=5))
        if self.compiled is not None:
            self.compiled.save(path / "compiled.npz")

    @classmethod
    def load(cls, path: Path) -> SklearnModel:
        """Inverse of :meth:`save` (only load artifacts you trust: this unpickles)."""
        meta = json.loads((path / "model.json").read_text())
        model = cls(meta["kind"], meta["seed"], meta["params"])
        model._pickle = path / "model.pkl"
        if model.kind == "hist_gbm":
            arrays = path / "compiled.npz"
            if arrays.is_file():
                model.compiled = CompiledHGB.load(arrays)
            else:  # saved before fw exported the trees: export them once, from the pickle
                model.compiled = compile_hgb(model.estimator)
                _export_beside(model.compiled, arrays)
        return model


def _export_beside(compiled: CompiledHGB, arrays: Path) -> None:
    """Write an old model's missing ``compiled.npz`` (temp file + rename: never half
    written), with a one-line warning; where the folder is read-only, warn that each load
    imports scikit-learn instead."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".compiled-", suffix=".npz", dir=arrays.parent)
        os.close(fd)
        compiled.save(Path(tmp))
        os.replace(tmp, arrays)
        said = "exported them from model.pkl now (scikit-learn imported this once)"
    except OSError as exc:
        said = (f"cannot write {arrays.name} ({exc.strerror}): each load imports "
                "scikit-learn to export them from model.pkl")
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    warnings.warn(f"{arrays.parent}: saved without its trees as arrays ({arrays.name}); "
                  f"{said}", stacklevel=3)


def make_model(kind: str, seed: int = 0, params: dict | None = None) -> Model:
    """A new, unfitted model of ``kind`` (see ``SKLEARN_KINDS`` and ``TORCH_KINDS``)."""
    if kind in TORCH_KINDS:
        from framework.ml.torch_models import SequenceModel

        return SequenceModel(kind, seed, params)
    return SklearnModel(kind, seed, params)


def load_model(path: Path) -> Model:
    """Load a model saved by ``save`` (its kind is read from ``model.json``)."""
    meta_path = path / "model.json"
    if not meta_path.is_file():
        raise ModelError(f"{path}: no model.json, not a saved fw model")
    kind = json.loads(meta_path.read_text())["kind"]
    if kind in TORCH_KINDS:
        from framework.ml.torch_models import SequenceModel

        return SequenceModel.load(path)
    return SklearnModel.load(path)


def sequence_rows(X: np.ndarray, t: np.ndarray, s: np.ndarray, seq_len: int) -> np.ndarray:
    """Model input for events at bars ``t`` of symbols ``s`` from panel features
    ``X[T, S, F]``: ``X[t, s]`` rows (``seq_len == 0``) or the ``seq_len`` rows up to and
    including ``t`` (``[n, L, F]``; rows before the first bar are NaN)."""
    if seq_len == 0:
        return X[t, s]
    out = np.full((t.shape[0], seq_len, X.shape[2]), np.nan)
    for k in range(seq_len):
        rows = t - (seq_len - 1 - k)
        ok = rows >= 0
        out[ok, k] = X[rows[ok], s[ok]]
    return out

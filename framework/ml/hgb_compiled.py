"""scikit-learn's HistGradientBoostingClassifier compiled to flat arrays and a numba
tree walk: the same probabilities, without scikit-learn's per-call overhead.

A live session scores one feature row per bar. ``predict_proba`` on one row costs
scikit-learn ~0.3–1 ms in input validation and thread-pool set-up, which is more than
the trees; walking the same nodes in numba takes a few microseconds (see
``benchmarks/bench_ml.py``). The probabilities equal scikit-learn's bit for bit (tested):
the same summation order and the same logistic. Binary models on numeric features only
(the meta-label models fw trains); ``compile_hgb`` refuses others with a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from framework.types.errors import FwError
from framework.types.jit import njit


@dataclass(frozen=True)
class CompiledHGB:
    """Flattened trees of a binary HGB classifier: node arrays plus each tree's root."""

    feature: np.ndarray  # int64 [nodes]
    threshold: np.ndarray  # float64 [nodes]
    missing_left: np.ndarray  # bool [nodes]
    left: np.ndarray  # int64 [nodes], absolute index
    right: np.ndarray  # int64 [nodes], absolute index
    leaf: np.ndarray  # bool [nodes]
    value: np.ndarray  # float64 [nodes], raw score of a leaf
    roots: np.ndarray  # int64 [trees]
    baseline: float  # raw score before the first tree (log-odds)

    def save(self, path: Path) -> None:
        """Write the arrays to ``path`` (``.npz``; no pickle)."""
        np.savez(path, baseline=np.float64(self.baseline),
                 **{f.name: getattr(self, f.name) for f in fields(self) if f.name != "baseline"})

    @classmethod
    def load(cls, path: Path) -> CompiledHGB:
        """Inverse of :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            arrays = {f.name: z[f.name] for f in fields(cls)}
        return cls(**{**arrays, "baseline": float(arrays["baseline"])})

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(class 1) for each row of ``X[n, F]`` (float64; NaN = missing)."""
        return hgb_proba(np.ascontiguousarray(X, dtype=np.float64), self.feature,
                         self.threshold, self.missing_left, self.left, self.right, self.leaf,
                         self.value, self.roots, self.baseline)


def compile_hgb(est) -> CompiledHGB:
    """Flatten a fitted binary ``HistGradientBoostingClassifier`` (numeric features)."""
    if getattr(est, "n_trees_per_iteration_", 1) != 1:
        raise FwError("compile_hgb: only binary classifiers (one tree per iteration)")
    nodes, roots, offset = [], [], 0
    for (pred,) in est._predictors:
        nd = pred.nodes
        if np.any(nd["is_categorical"]):
            raise FwError("compile_hgb: categorical splits are not supported")
        shifted = nd.copy()
        shifted["left"] += offset
        shifted["right"] += offset
        nodes.append(shifted)
        roots.append(offset)
        offset += nd.shape[0]
    allnd = np.concatenate(nodes)
    return CompiledHGB(
        feature=allnd["feature_idx"].astype(np.int64),
        threshold=allnd["num_threshold"].astype(np.float64),
        missing_left=allnd["missing_go_to_left"].astype(np.bool_),
        left=allnd["left"].astype(np.int64), right=allnd["right"].astype(np.int64),
        leaf=allnd["is_leaf"].astype(np.bool_), value=allnd["value"].astype(np.float64),
        roots=np.asarray(roots, dtype=np.int64),
        baseline=float(np.ravel(est._baseline_prediction)[0]))


@njit(cache=True)
def hgb_raw_row(x: np.ndarray, feature: np.ndarray, threshold: np.ndarray,
                missing_left: np.ndarray, left: np.ndarray, right: np.ndarray,
                leaf: np.ndarray, value: np.ndarray, roots: np.ndarray,
                baseline: float) -> float:
    """Raw score (log-odds) of one row: the same walk as scikit-learn's predictor."""
    raw = baseline
    for r in range(roots.shape[0]):
        node = roots[r]
        while not leaf[node]:
            v = x[feature[node]]
            if np.isnan(v):
                node = left[node] if missing_left[node] else right[node]
            elif v <= threshold[node]:
                node = left[node]
            else:
                node = right[node]
        raw += value[node]
    return raw


@njit(cache=True)
def hgb_proba(X: np.ndarray, feature: np.ndarray, threshold: np.ndarray,
              missing_left: np.ndarray, left: np.ndarray, right: np.ndarray,
              leaf: np.ndarray, value: np.ndarray, roots: np.ndarray,
              baseline: float) -> np.ndarray:
    """P(class 1) of each row of ``X`` (logistic of the raw score)."""
    out = np.empty(X.shape[0])
    for i in range(X.shape[0]):
        raw = hgb_raw_row(X[i], feature, threshold, missing_left, left, right, leaf, value,
                          roots, baseline)
        out[i] = 1.0 / (1.0 + np.exp(-raw))
    return out

"""Walk-forward meta-labelling over arrays (AFML ch. 3 and 10): a strategy's primary signal
proposes trades; each is labelled by the triple barrier, a model learns which win, is refit
walk-forward over sessions, and sizes the trades it lets through.

Everything here takes arrays (``[T, S]`` prices, ``[T, S, F]`` features, ``[T]`` session
ids and times), so any strategy can call it; ``framework.strategy.meta_label.MetaLabel``
applies it to a bar panel and a strategy's ``[model]`` table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import Field

from framework.config import ConfigError, FrozenModel
from framework.features import realized_vol
from framework.ml.labels import bet_size, meta_labels, triple_barrier, uniqueness_weights
from framework.ml.models import sequence_rows
from framework.ml.registry import WalkForwardModel, register
from framework.ml.walk_forward import TrainingSet, fit_walk_forward


class MetaLabelParams(FrozenModel):
    """Labelling and sizing of a meta-label model (strategy ``[params]``).

    ``vol_window`` bars of 1-bar return volatility set the barrier unit (times
    ``sqrt(max_bars)``); ``profit_take``/``stop_loss`` in those units; ``max_bars`` the
    time barrier; ``min_return`` (fraction) a win must beat (round-trip costs);
    ``threshold`` the minimum P(win) to trade; ``max_size`` the size at P → 1 (in the
    ``[decision] size_mode`` unit, e.g. a fraction of equity).
    """

    vol_window: int = Field(default=60, ge=2)
    profit_take: float = Field(default=1.0, gt=0.0)
    stop_loss: float = Field(default=1.0, gt=0.0)
    max_bars: int = Field(default=30, ge=1)
    min_return: float = Field(default=0.0002, ge=0.0)
    threshold: float = Field(default=0.55, ge=0.0, le=1.0)
    max_size: float = Field(default=0.2, gt=0.0)


class WalkForwardKnobs(FrozenModel):
    """``[model] train``: walk-forward layout (``initial_sessions`` train only, the rest
    split into ``folds`` refits; ``expanding`` or ``rolling`` over ``window`` samples) and
    the model's hyper-parameters."""

    initial_sessions: int = Field(default=20, ge=1)
    folds: int = Field(default=4, ge=1)
    mode: str = Field(default="expanding", pattern="^(expanding|rolling)$")
    window: int = Field(default=0, ge=0)
    params: dict = Field(default_factory=dict)


def barrier_width(close: np.ndarray, vol_window: int, max_bars: int) -> np.ndarray:
    """Barrier unit per bar (fraction): trailing std of 1-bar log returns over
    ``vol_window`` bars times ``sqrt(max_bars)``; causal, NaN in warm-up."""
    return realized_vol(close, vol_window) * np.sqrt(max_bars)


def session_last(session: np.ndarray) -> np.ndarray:
    """Index of the last bar of each bar's session (``session`` sorted, one id each)."""
    idx = np.arange(session.shape[0])
    last = np.empty_like(idx)
    change = np.flatnonzero(np.diff(session)) + 1
    ends = np.concatenate((change - 1, [session.shape[0] - 1]))
    starts = np.concatenate(([0], change))
    for a, b in zip(starts, ends, strict=True):
        last[a:b + 1] = b
    return last


def event_rows(entry: np.ndarray, X: np.ndarray, seq_len: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The primary signal's events that have complete model inputs: bar ``t``, symbol
    ``s``, ``side`` (+1/-1, float64) and the model rows (``sequence_rows``) of each, in
    row-major order of ``entry[T, S]``."""
    t, s = np.nonzero(entry)
    rows = sequence_rows(X, t, s, seq_len)
    ok = np.isfinite(rows).reshape(rows.shape[0], int(np.prod(rows.shape[1:]))).all(axis=1)
    return t[ok], s[ok], entry[t[ok], s[ok]].astype(np.float64), rows[ok]


def meta_label_set(close: np.ndarray, session: np.ndarray, decision_ts: np.ndarray,
                   events: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                   p: MetaLabelParams) -> TrainingSet:
    """Meta-labelled samples of ``events`` (from :func:`event_rows`), sorted by event time:
    label 1 when the side-adjusted triple-barrier return beats ``min_return``; weights by
    label uniqueness; horizons in ns UTC from ``decision_ts[T]``. ``close`` is ``[T, S]``
    USD, ``session[T]`` the session id of each bar."""
    t, s, side, rows = events
    last = session_last(session)
    label_ret, t1 = np.zeros(t.shape[0]), np.zeros(t.shape[0], np.int64)
    weight = np.zeros(t.shape[0])
    for j in range(close.shape[1]):
        k = np.flatnonzero(s == j)
        col = np.ascontiguousarray(close[:, j])
        width = barrier_width(col, p.vol_window, p.max_bars)[t[k]]
        width = np.where(np.isfinite(width), width, np.inf)  # no unit yet: time barrier
        _, label_ret[k], t1[k] = triple_barrier(col, last, t[k], side[k], width,
                                                p.profit_take, p.stop_loss, p.max_bars)
        weight[k] = uniqueness_weights(t[k], t1[k], close.shape[0])
    order = np.lexsort((s, t))
    return TrainingSet(X=rows[order], y=meta_labels(label_ret, p.min_return)[order],
                       w=weight[order], t0=decision_ts[t][order], t1=decision_ts[t1][order])


def walk_forward_bounds(session_open: np.ndarray, last_bar_ns: int, knobs: WalkForwardKnobs,
                        source: str | Path) -> np.ndarray:
    """Refit times (ns UTC): the open of the first session of each of ``knobs.folds``
    spans after ``knobs.initial_sessions`` in-sample sessions, then ``last_bar_ns + 1``.
    ``ConfigError`` (naming ``source``) when no session is left out-of-sample."""
    opens = np.unique(session_open)
    if opens.shape[0] <= knobs.initial_sessions:
        raise ConfigError(str(source), [
            f"key 'model.train.initial_sessions': {knobs.initial_sessions} leaves no "
            f"out-of-sample session among the {opens.shape[0]} in the data"])
    later = np.array_split(opens[knobs.initial_sessions:], knobs.folds)
    return np.array([int(g[0]) for g in later if g.shape[0]] + [int(last_bar_ns) + 1])


def fit_and_register(lake_root: Path, name: str, kind: str, data: TrainingSet,
                     bounds: np.ndarray, knobs: WalkForwardKnobs, seed: int,
                     meta: dict) -> dict:
    """Fit ``data`` walk-forward at ``bounds`` and register the model as the next version
    of ``name`` under ``lake_root`` with ``meta`` (plus kind, CV metrics, knobs, seed,
    sample count, ``oos_start_ns``). Returns what ``fw train`` prints."""
    wf, oos, metrics = fit_walk_forward(data, bounds, kind=kind, seed=seed,
                                        params=knobs.params, mode=knobs.mode,
                                        window=knobs.window)
    path = register(lake_root, name, wf, {
        "kind": kind, **meta, "cv": metrics, "train": knobs.model_dump(mode="json"),
        "seed": seed, "samples": int(data.y.shape[0]), "oos_start_ns": int(bounds[0])})
    auc = metrics["out_of_sample"]["auc"]
    return {"model": name, "version": path.name, "path": str(path),
            "samples": int(data.y.shape[0]), "positive_rate": float(data.y.mean()),
            "oos_samples": int(np.isfinite(oos).sum()),
            "oos_auc": "n/a" if auc is None else round(auc, 4), "refits": len(wf.models)}


def event_sizes(model: WalkForwardModel, rows: np.ndarray, ts: np.ndarray,
                p: MetaLabelParams) -> np.ndarray:
    """Size of each event (``max_size × (2 N(z) − 1)``, 0 below ``threshold``), each scored
    by the refit valid at its decision time ``ts`` (ns UTC)."""
    return bet_size(model.predict_proba(rows, ts), p.threshold) * p.max_size

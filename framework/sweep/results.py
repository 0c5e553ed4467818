"""What a sweep leaves in ``reports/<sweep-id>/``, computed from its Optuna study alone
(so a study shared by many machines reports the same way): ``trials.parquet`` (every
trial, failed and pruned included), ``returns.parquet`` (session returns of the complete
trials, the CSCV matrix), ``summary.json`` (the winner, its deflated Sharpe, PBO, the
walk-forward result) and the HTML report.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import polars as pl

from framework.analytics.metrics import performance_metrics
from framework.analytics.overfitting import (
    PBOResult,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    min_track_record_length,
    pbo_cscv,
    probabilistic_sharpe_ratio,
    sharpe_moments,
)
from framework.sweep.folds import Fold, Layout

_FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL,
             optuna.trial.TrialState.PRUNED)
METRIC_COLUMNS = ("sharpe", "total_return", "max_drawdown", "volatility", "psr", "fills",
                  "cv_auc", "cv_log_loss", "oos_auc", "oos_log_loss")


@dataclass(frozen=True)
class SweepResults:
    """The numbers of a sweep's report."""

    trials: pl.DataFrame
    params: list[str]
    returns: pl.DataFrame  # date + one column per complete trial ("t<number>")
    summary: dict
    pbo: PBOResult | None
    walk_forward: pl.DataFrame  # date, fold, trial, ret, equity (growth of 1)
    importances: dict[str, float]
    trial_sharpes: np.ndarray  # per-session Sharpe of each complete trial, search window


def pack_returns(returns: list[float] | np.ndarray) -> str:
    """A trial's session returns (fractions) as the text kept in its ``returns`` user
    attribute: little-endian float64 bytes, zlib-compressed, base64. Exact (no decimal
    round trip) and about a tenth of the parse time of a JSON list of 2,000 floats."""
    raw = np.ascontiguousarray(returns, dtype="<f8").tobytes()
    return base64.b64encode(zlib.compress(raw)).decode("ascii")


def trial_returns(trial: optuna.trial.FrozenTrial) -> np.ndarray:
    """The session returns (fractions, every scored session) a trial stored."""
    packed = trial.user_attrs["returns"]
    return np.frombuffer(zlib.decompress(base64.b64decode(packed)), dtype="<f8")


def _layout(attrs: dict) -> Layout | None:
    raw = attrs.get("layout")
    if raw is None:
        return None
    return Layout(tuple(raw["search"]), tuple(Fold(**f) for f in raw["folds"]),
                  raw["n_sessions"])


def finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Trials that ran to an end (complete, failed, pruned): not the grid points still
    waiting in the queue, nor a trial another machine is running."""
    return study.get_trials(deepcopy=False, states=_FINISHED)


def trials_frame(study: optuna.Study, params: list[str]) -> pl.DataFrame:
    """One row per finished trial: number, state, value (objective on the search window),
    the swept keys, walk-forward scores, metrics, the engine that ran it ("vector" or
    "event"; empty for a pruned trial), error and seconds."""
    rows = []
    for t in finished(study):
        ua = t.user_attrs
        scores, metrics = ua.get("scores", {}), ua.get("metrics", {})
        row: dict[str, Any] = {"trial": t.number, "state": t.state.name.lower(),
                               "value": t.value if t.value is not None else math.nan}
        row |= {k: t.params.get(k) for k in params}
        row["oos_all"] = scores.get("oos_all", math.nan)
        for k, v in enumerate(scores.get("is", [])):
            row[f"is_fold{k}"] = v
        for k, v in enumerate(scores.get("oos", [])):
            row[f"oos_fold{k}"] = v
        row |= {k: metrics.get(k) for k in METRIC_COLUMNS if k in metrics}
        row |= {"engine": ua.get("engine", ""), "error": ua.get("error", ""),
                "seconds": ua.get("seconds", math.nan)}
        rows.append(row)
    frame = pl.DataFrame(rows, infer_schema_length=None, nan_to_null=False)
    return frame.with_columns(pl.col(pl.Float64).fill_null(math.nan))


def _best_index(values: np.ndarray, goal: str) -> int:
    v = np.where(np.isfinite(values), values, -np.inf if goal == "maximize" else np.inf)
    return int(np.argmax(v) if goal == "maximize" else np.argmin(v))


def _walk_forward(study_trials: list, lay: Layout, dates: list[str], goal: str
                  ) -> tuple[pl.DataFrame, np.ndarray]:
    """Each fold's winner by its in-sample score, its out-of-sample returns stitched."""
    rows, rets = [], []
    for k, fold in enumerate(lay.folds):
        is_k = np.array([t.user_attrs["scores"]["is"][k] for t in study_trials], dtype=float)
        win = study_trials[_best_index(is_k, goal)]
        r = trial_returns(win)[fold.oos_lo:fold.oos_hi]
        rets.append(r)
        rows += [{"date": dates[fold.oos_lo + j], "fold": k, "trial": win.number,
                  "ret": float(r[j])} for j in range(r.shape[0])]
    stitched = np.concatenate(rets) if rets else np.zeros(0)
    frame = pl.DataFrame(rows, schema={"date": pl.String, "fold": pl.Int64,
                                       "trial": pl.Int64, "ret": pl.Float64})
    return frame.with_columns(equity=pl.Series(np.cumprod(1.0 + stitched))), stitched


def cscv_blocks(n_periods: int, wanted: int) -> int:
    """The largest even block count <= ``wanted`` leaving >= 2 periods a block (0: none)."""
    s = min(wanted, n_periods // 2)
    return s - (s % 2) if s >= 2 else 0


def compute_results(study: optuna.Study) -> SweepResults:
    """Every number of the report, from the study's trials and user attributes."""
    attrs = study.user_attrs
    spec, goal = attrs["spec"], study.direction.name.lower()
    params = list(spec["params"])
    trials = trials_frame(study, params)
    done = [t for t in finished(study) if t.state == optuna.trial.TrialState.COMPLETE]
    ran = sum(1 for t in finished(study) if t.state != optuna.trial.TrialState.PRUNED)
    summary: dict[str, Any] = {
        "strategy": attrs.get("strategy"), "objective": spec["objective"], "direction": goal,
        "sampler": spec["sampler"], "seed": spec["seed"], "batch": spec["batch"],
        "trials": trials.height, "complete": len(done), "ran": ran,
        "failed": int((trials["state"] == "fail").sum()) if trials.height else 0,
        "pruned": int((trials["state"] == "pruned").sum()) if trials.height else 0,
        "engine": attrs.get("engine"), "engine_reason": attrs.get("engine_reason")}
    importances: dict[str, float] = {}
    if len(done) >= 4 and len(params) > 1:
        # 16 trees, not Optuna's 64: a fourth of the time (the forest was most of the
        # report's time for 500 trials), importances to about a percentage point
        ev = optuna.importance.FanovaImportanceEvaluator(n_trees=16, seed=0)
        importances = dict(optuna.importance.get_param_importances(study, evaluator=ev))
    empty_wf = pl.DataFrame(schema={"date": pl.String, "fold": pl.Int64, "trial": pl.Int64,
                                    "ret": pl.Float64, "equity": pl.Float64})
    if not done:
        return SweepResults(trials, params, pl.DataFrame(), summary, None, empty_wf,
                            importances, np.zeros(0))
    values = np.array([t.value for t in done])
    best = done[_best_index(values, goal)]
    summary["best"] = {"trial": best.number, "params": best.params, "value": best.value,
                       "oos_all": best.user_attrs["scores"].get("oos_all")}
    lay = _layout(attrs)
    if lay is None:  # a model sweep: classifiers have no session returns to deflate
        summary["statistics"] = ("a model sweep scores classifiers by purged CV: DSR and "
                                 "PBO need per-session returns of backtests")
        return SweepResults(trials, params, pl.DataFrame(), summary, None, empty_wf,
                            importances, np.zeros(0))
    dates = attrs["sessions"]
    matrix = np.array([trial_returns(t) for t in done], dtype=float).T  # [T, N]
    lo, hi = lay.search
    trial_sr = np.array([sharpe_moments(matrix[lo:hi, j]).sharpe for j in range(len(done))])
    win = matrix[lo:hi, done.index(best)]
    finite = trial_sr[np.isfinite(trial_sr)]
    sr0 = (expected_max_sharpe(ran, float(finite.std(ddof=1)) if finite.shape[0] > 1 else 0.0)
           if finite.shape[0] else math.nan)
    summary["winner"] = {
        "sharpe_per_session": sharpe_moments(win).sharpe,
        "psr": probabilistic_sharpe_ratio(win),
        "dsr": deflated_sharpe_ratio(win, trial_sr, n_trials=ran) if finite.shape[0]
        else math.nan,
        "expected_max_sharpe": sr0, "trials_counted": ran,
        "min_track_record_sessions": min_track_record_length(win),
        "search_sessions": hi - lo}
    wf, stitched = _walk_forward(done, lay, dates, goal)
    if stitched.shape[0]:
        summary["walk_forward"] = performance_metrics(stitched) | {
            "psr": probabilistic_sharpe_ratio(stitched),
            "winners": sorted(set(wf["trial"].to_list()))}
    pbo = None
    blocks = cscv_blocks(matrix.shape[0], spec["cscv_blocks"])
    if len(done) >= 2 and blocks:
        pbo = pbo_cscv(matrix, blocks)
        summary["pbo"] = {"pbo": pbo.pbo, "blocks": blocks, "slope": pbo.slope,
                          "intercept": pbo.intercept, "prob_oos_loss": pbo.prob_oos_loss}
    returns = pl.DataFrame({"date": dates} | {f"t{t.number}": matrix[:, j]
                                               for j, t in enumerate(done)})
    return SweepResults(trials, params, returns, summary, pbo, wf, importances, trial_sr)


def json_safe(value: Any) -> Any:
    """NaN/inf to None, NumPy scalars to Python and dates (a ``--set data.end=...``
    override) to ISO strings, recursively: JSON has no NaN and no date."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.integer | np.floating):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_results(res: SweepResults, out_dir) -> None:
    """``trials.parquet``, ``returns.parquet``, ``walk_forward.parquet``, ``summary.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    res.trials.write_parquet(out_dir / "trials.parquet")
    if res.returns.width:
        res.returns.write_parquet(out_dir / "returns.parquet")
    res.walk_forward.write_parquet(out_dir / "walk_forward.parquet")
    (out_dir / "summary.json").write_text(json.dumps(json_safe(res.summary), indent=2))

"""Optuna driver: search a crossover strategy's parameter space with the vector engine.

Each trial is one combo run by :func:`framework.sweep.grid.sweep_crossover` (the same
kernel as the grid sweep). The sampler is a seeded TPE; passing an RDB ``storage`` URL
(e.g. ``sqlite:///reports/study.db``) lets several processes or machines share one study
(run this function in each, same ``study_name``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import optuna

from framework.engine.vector.engine import VectorEngineError
from framework.execution.costs import NO_COSTS, CostConfig
from framework.sweep.grid import sweep_crossover
from framework.types.annual import SESSIONS_PER_YEAR

METRICS_MAXIMISE = {
    "sharpe": True,
    "total_return": True,
    "final_equity": True,
    "max_drawdown": False,
}


@dataclass(frozen=True)
class CrossoverSpace:
    """Integer window ranges (bars, inclusive) of a fast/slow crossover; fast < slow enforced."""

    fast_low: int = 5
    fast_high: int = 50
    slow_low: int = 10
    slow_high: int = 200
    slow_step: int = 5


def optimize_crossover(
    open_: np.ndarray,
    close: np.ndarray,
    *,
    space: CrossoverSpace = CrossoverSpace(),
    metric: str = "sharpe",
    n_trials: int = 50,
    seed: int = 0,
    storage: str | None = None,
    study_name: str = "fw-crossover",
    costs: CostConfig = NO_COSTS,
    periods_per_year: float = SESSIONS_PER_YEAR,
    **sweep_kwargs,
) -> optuna.Study:
    """Run ``n_trials`` TPE trials (seeded) maximising (or, for drawdown, minimising) ``metric``.

    Prices USD [T] or [T x S]; windows in bars. Infeasible pairs (fast >= slow) are pruned.
    Each trial stores every metric as a user attribute. Returns the study
    (``study.best_params``, ``study.trials_dataframe()``).
    """
    if metric not in METRICS_MAXIMISE:
        raise VectorEngineError(f"metric must be one of {sorted(METRICS_MAXIMISE)}, got {metric!r}")
    optuna.logging.set_verbosity(logging.WARNING)
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        load_if_exists=storage is not None,
        sampler=optuna.samplers.TPESampler(seed=seed),
        direction="maximize" if METRICS_MAXIMISE[metric] else "minimize",
    )

    def objective(trial: optuna.Trial) -> float:
        fast = trial.suggest_int("fast", space.fast_low, space.fast_high)
        slow = trial.suggest_int("slow", space.slow_low, space.slow_high, step=space.slow_step)
        if fast >= slow:
            raise optuna.TrialPruned(f"fast {fast} >= slow {slow}")
        row = sweep_crossover(
            open_, close, np.array([[fast, slow]]), costs=costs,
            periods_per_year=periods_per_year, **sweep_kwargs,
        ).row(0, named=True)  # fmt: skip
        for key, val in row.items():
            trial.set_user_attr(key, val)
        value = row[metric]
        return (
            float(value)
            if np.isfinite(value)
            else float("-inf" if METRICS_MAXIMISE[metric] else "inf")
        )

    study.optimize(objective, n_trials=n_trials)
    return study

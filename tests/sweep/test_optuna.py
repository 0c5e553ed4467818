"""Optuna driver: seeded TPE is reproducible; an sqlite RDB storage holds the study."""

from __future__ import annotations

import numpy as np
import optuna

from framework.sweep import sweep_crossover
from framework.sweep.optuna_sweep import CrossoverSpace, optimize_crossover


def data():
    rng = np.random.default_rng(0)
    c = 30 * np.exp(np.cumsum(rng.normal(0.0002, 0.01, 1200)))
    return c * np.exp(rng.normal(0, 0.002, 1200)), c


def test_seeded_study_is_reproducible_and_values_match_grid():
    o, c = data()
    space = CrossoverSpace(fast_low=3, fast_high=20, slow_low=10, slow_high=60, slow_step=5)
    a = optimize_crossover(o, c, space=space, n_trials=15, seed=3)
    b = optimize_crossover(o, c, space=space, n_trials=15, seed=3)
    pa = [t.params for t in a.trials]
    assert pa == [t.params for t in b.trials]
    best = a.best_trial
    assert best.params["fast"] < best.params["slow"]
    row = sweep_crossover(o, c, np.array([[best.params["fast"], best.params["slow"]]]))
    assert best.value == row["sharpe"][0]


def test_sqlite_storage_shares_the_study(tmp_path):
    o, c = data()
    url = f"sqlite:///{tmp_path / 'study.db'}"
    optimize_crossover(o, c, n_trials=5, seed=1, storage=url, study_name="s", metric="total_return")
    optimize_crossover(o, c, n_trials=4, seed=2, storage=url, study_name="s", metric="total_return")
    loaded = optuna.load_study(study_name="s", storage=url)
    assert len(loaded.trials) == 9
    done = [t for t in loaded.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert done and all("final_equity" in t.user_attrs for t in done)

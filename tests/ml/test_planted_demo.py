"""The demo has a truth to find: on the planted synthetic universe the flagship's
pipeline (walk-forward meta-label training, backtest with costs, promotion thresholds)
finds the effect out of sample; on the null universe (the same shocks, never reverting)
the promotion thresholds reject it.

Thresholds, stated before the result and not tuned on it:

* out-of-sample AUC >= 0.55: the research page's promotion gate. For ~5,000
  out-of-sample labels the standard error of an AUC near 0.5 is ~sqrt(1/(3 n)) ~ 0.008,
  so 0.55 is ~6 standard errors above chance: a null model does not reach it by luck,
  while the planted effect (shock minutes are ~1 in 6 of the primary signals, and 55 %
  of their push reverts) leaves room (measured: 0.62 at seed 42).
* PSR >= 0.95 of the out-of-sample session returns after costs, and >= 30 trades:
  ``strategies/ml_mr.toml``'s ``[promotion]`` (``framework.engine.promotion``).
  Over this lake's 21 out-of-sample sessions PSR >= 0.95 needs a per-session Sharpe of
  about 1.645 / sqrt(20) ~ 0.37 (~5.8 annualised): a planted effect much weaker than
  ``revert`` = 0.55 cannot pass here however real it is (measured at seed 42: revert 0.8
  -> annualised Sharpe 15.3, PSR 0.9996; 0.55 -> 9.5, PSR 0.997; 0.4 -> 4.5, PSR 0.92,
  rejected).

On the null universe the same gate must reject; ``test_null_universe_is_rejected_over_
seeds`` (slow) reports the false-promotion rate over several seeds.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from framework.analytics.metrics import daily_returns
from framework.analytics.overfitting import probabilistic_sharpe_ratio
from framework.analytics.run_report import report_backtest
from framework.cli.demo_cmd import demo_universe
from framework.config import load_toml
from framework.data import Lake
from framework.data.settings import load_data_config
from framework.data.sources.synthetic import ingest_synthetic
from framework.engine.backtest import run_backtest
from framework.engine.promotion import threshold_failures
from framework.engine.run_config import StrategyConfig
from framework.engine.training import train_strategy
from framework.marketdata.bars import time_bars
from tests.conftest import PROJECT_ROOT

FLAGSHIP = PROJECT_ROOT / "strategies" / "ml_mr.toml"
MIN_AUC = 0.55
NULL_SEEDS = (1, 2, 3)


def _study(root: Path, null: bool, seed: int, out: Path) -> dict:
    """Generate the universe (41 sessions, 1,500 trades a day), train the flagship
    walk-forward (half the sessions in-sample, 2 refits), backtest, and judge."""
    cfg = demo_universe(load_data_config(None).synthetic, null).model_copy(update={
        "seed": seed, "start": dt.date(2024, 1, 2), "end": dt.date(2024, 2, 29),
        "trades_per_day": 1500.0})
    ingest_synthetic(Lake(root), cfg, time_bars)
    n = Lake(root).bars("SPY", timeframe="1d").height
    ov = {"data.start": None, "data.end": None,
          "model.train.initial_sessions": n // 2, "model.train.folds": 2}
    info = train_strategy(FLAGSHIP, ov, lake_root=root)
    run = run_backtest(FLAGSHIP, ov, lake_root=root, out_root=out, publish=False)
    report_backtest(run)  # writes metrics.json: what fw promote judges
    oos = json.loads((run.out_dir / "metrics.json").read_text())["periods"]["out_of_sample"]
    daily = daily_returns(run.result.equity, run.config.backtest.initial_cash)
    r = daily.filter(pl.col("ts") >= run.manifest["oos_start_ns"])["ret"].to_numpy()
    gate = load_toml(FLAGSHIP, StrategyConfig).promotion
    failed = threshold_failures(gate, oos)
    if not info["oos_auc"] >= MIN_AUC:
        failed.append(f"oos_auc {info['oos_auc']} < {MIN_AUC}")
    return {"auc": info["oos_auc"], "psr": probabilistic_sharpe_ratio(r), "metrics": oos,
            "failed": failed, "total_return": float(np.prod(1 + r) - 1)}


@pytest.mark.slow
def test_planted_universe_is_found_out_of_sample_after_costs(tmp_path: Path) -> None:
    got = _study(tmp_path / "lake", False, 42, tmp_path / "reports")
    assert got["auc"] >= MIN_AUC, got
    assert got["psr"] >= 0.95 and got["total_return"] > 0, got
    assert got["failed"] == [], got  # the promotion gate passes


@pytest.mark.slow
def test_null_universe_is_rejected_over_seeds(tmp_path: Path) -> None:
    verdicts = [_study(tmp_path / f"lake{s}", True, s, tmp_path / f"reports{s}")
                for s in NULL_SEEDS]
    promoted = [v for v in verdicts if not v["failed"]]
    print(f"null universe: {len(promoted)} of {len(NULL_SEEDS)} seeds promoted; AUCs "
          f"{[round(v['auc'], 3) for v in verdicts]}, PSRs "
          f"{[round(v['psr'], 3) for v in verdicts]}")
    assert promoted == []

"""``fw sweep`` end to end on real lake files: the trials are the strategy's own
backtests, the walk-forward picks each fold's winner in-sample, the statistics match
skfolio, and the same seed gives the same study whatever runs the trials."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from framework.analytics.metrics import daily_returns
from framework.config import ConfigError, load_toml
from framework.engine.backtest import run_backtest
from framework.engine.run_config import StrategyConfig
from framework.sweep.folds import Fold, layout
from framework.sweep.report import write_report
from framework.sweep.spec import WalkForwardSpec, load_spec, parse_param_option
from framework.sweep.study import grid_points, run_sweep

skm = pytest.importorskip("skfolio.measures")


def _spec(toml: Path, **options):
    cfg = load_toml(toml, StrategyConfig)
    return load_spec(cfg.sweep, toml, options=options)


def test_spec_parsing_and_errors(sma_toml: Path) -> None:
    spec = _spec(sma_toml)
    assert set(spec.params) == {"params.fast", "params.slow"}
    assert spec.params["params.fast"].integer and spec.goal == "maximize"
    assert spec.feasible({"params.fast": 5, "params.slow": 10}) is None
    assert spec.feasible({"params.fast": 10, "params.slow": 10}) == "fast < slow"
    assert parse_param_option("entry_z=1.5:3:0.5") == (
        "params.entry_z", {"low": 1.5, "high": 3, "step": 0.5})
    assert parse_param_option("decision.order_type=market,limit")[1] == {
        "choices": ["market", "limit"]}
    with pytest.raises(ConfigError, match="sweep.objective"):
        _spec(sma_toml, objective="nonsense")
    with pytest.raises(ConfigError, match="cannot be swept"):
        load_spec({"params": {"data.start": {"choices": [1, 2]}}}, sma_toml)
    with pytest.raises(ConfigError, match="not a swept key"):
        load_spec({"params": {"fast": {"low": 1, "high": 3}}, "constraints": ["fast < x"]},
                  sma_toml)
    with pytest.raises(ConfigError, match="nothing to sweep"):
        load_spec({}, sma_toml)


def test_walk_forward_layout_by_hand() -> None:
    """501 sessions, first in-sample 40 % = 200; three folds over the other 301:
    edges 200, 300, 401, 501 (rounded); rolling keeps 200 - purge sessions."""
    a = layout(501, WalkForwardSpec(folds=3, in_sample=0.4), purge=0)
    assert a.search == (0, 200)
    assert a.folds == (Fold(0, 200, 200, 300), Fold(0, 300, 300, 401), Fold(0, 401, 401, 501))
    r = layout(501, WalkForwardSpec(folds=3, in_sample=0.4, mode="rolling"), purge=2)
    assert r.search == (0, 198)
    assert r.folds == (Fold(0, 198, 200, 300), Fold(100, 298, 300, 401),
                       Fold(201, 399, 401, 501))


def test_grid_points_respect_constraints(sma_toml: Path) -> None:
    spec = _spec(sma_toml, sampler="grid")
    pts = grid_points(spec)
    assert all(p["params.fast"] < p["params.slow"] for p in pts)
    assert len(pts) == sum(1 for f in range(2, 31) for s in range(5, 61, 5) if f < s)


@pytest.fixture(scope="module")
def swept(daily_lake: Path, tmp_path_factory) -> tuple:
    out = tmp_path_factory.mktemp("sweeps")
    toml = out / "sma_sweep.toml"
    from tests.sweep.conftest import SMA_SWEEP

    toml.write_text(SMA_SWEEP)
    spec = _spec(toml)
    run = run_sweep(toml, spec, lake_root=daily_lake, out_root=out)
    page, res = write_report(run.study, run.out_dir, lake_root=daily_lake, tearsheets=2)
    return toml, run, page, res


def _sharpe(r: np.ndarray) -> float:
    return float(r.mean() / r.std(ddof=1) * math.sqrt(252))


def test_trials_are_the_strategys_backtests(swept, daily_lake: Path) -> None:
    toml, run, _, res = swept
    trials = pl.read_parquet(run.out_dir / "trials.parquet")
    assert trials.height == 16 and set(trials["state"]) <= {"complete", "pruned"}
    pruned = trials.filter(pl.col("state") == "pruned")
    assert (pruned["params.fast"] >= pruned["params.slow"]).all()
    assert pruned["error"].str.contains("fast < slow").all()
    rets = pl.read_parquet(run.out_dir / "returns.parquet")
    assert rets.height == 501
    done = trials.filter(pl.col("state") == "complete")
    for row in done.head(3).iter_rows(named=True):  # the stored returns are a backtest's
        again = run_backtest(toml, {"params.fast": row["params.fast"],
                                    "params.slow": row["params.slow"]},
                             lake_root=daily_lake, write=False)
        mine = daily_returns(again.result.equity, 100_000.0)["ret"].to_numpy()
        np.testing.assert_allclose(rets[f"t{row['trial']}"].to_numpy(), mine, rtol=0,
                                   atol=1e-15)
        assert row["value"] == pytest.approx(_sharpe(mine[:200]), rel=1e-12)
        assert row["oos_all"] == pytest.approx(_sharpe(mine[200:]), rel=1e-12)


def test_walk_forward_picks_each_fold_in_sample(swept) -> None:
    _, run, _, res = swept
    rets = pl.read_parquet(run.out_dir / "returns.parquet")
    cols = [c for c in rets.columns if c != "date"]
    m = rets.select(cols).to_numpy()
    wf = pl.read_parquet(run.out_dir / "walk_forward.parquet")
    stitched = []
    for k, (is_hi, lo, hi) in enumerate([(200, 200, 300), (300, 300, 401), (401, 401, 501)]):
        scores = [_sharpe(m[:is_hi, j]) for j in range(m.shape[1])]
        winner = int(cols[int(np.argmax(scores))][1:])
        part = wf.filter(pl.col("fold") == k)
        assert set(part["trial"]) == {winner}
        assert part["date"].to_list() == rets["date"].to_list()[lo:hi]
        stitched.append(rets[f"t{winner}"].to_numpy()[lo:hi])
    np.testing.assert_allclose(wf["equity"].to_numpy(), np.cumprod(1 + np.concatenate(stitched)),
                               rtol=1e-12)


def test_statistics_match_skfolio(swept) -> None:
    _, run, _, res = swept
    summary = json.loads((run.out_dir / "summary.json").read_text())
    rets = pl.read_parquet(run.out_dir / "returns.parquet").drop("date").to_numpy()[:200]
    trial_sr = rets.mean(axis=0) / rets.std(axis=0, ddof=1)
    best = summary["best"]["trial"]
    cols = pl.read_parquet(run.out_dir / "returns.parquet").columns[1:]
    win = rets[:, cols.index(f"t{best}")]
    assert summary["winner"]["trials_counted"] == summary["complete"]  # none failed
    assert summary["winner"]["dsr"] == pytest.approx(
        skm.deflated_sharpe_ratio(win, trial_sr), rel=1e-9)
    assert summary["winner"]["psr"] == pytest.approx(
        skm.probabilistic_sharpe_ratio(win), rel=1e-9)
    assert 0.0 <= summary["pbo"]["pbo"] <= 1.0 and summary["pbo"]["blocks"] == 8


def test_best_trials_get_tearsheets(swept) -> None:
    _, run, page, _ = swept
    text = page.read_text(encoding="utf-8")
    links = re.findall(r"<a class='tearsheet' href='([^']+)'>", text)
    assert len(links) == 2 and all((run.out_dir / link).is_file() for link in links)


@pytest.mark.slow
def test_same_seed_same_study_with_workers_and_dask(swept, daily_lake: Path,
                                                    tmp_path: Path) -> None:
    """One process, two worker processes and a Dask LocalCluster of processes run the
    same seeded study: same trials, same parameters, same values, same returns."""
    from distributed import LocalCluster

    toml, run, _, _ = swept
    spec = _spec(toml)
    ref = pl.read_parquet(run.out_dir / "trials.parquet").drop("seconds")
    ref_rets = pl.read_parquet(run.out_dir / "returns.parquet")
    again = run_sweep(toml, spec, lake_root=daily_lake, out_root=tmp_path, workers=2)
    write_report(again.study, again.out_dir, tearsheets=0)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        dask = run_sweep(toml, spec, lake_root=daily_lake, out_root=tmp_path,
                         study_name="dask", dask=cluster.scheduler_address)
    write_report(dask.study, dask.out_dir, tearsheets=0)
    for other in (again, dask):
        got = pl.read_parquet(other.out_dir / "trials.parquet").drop("seconds")
        assert got.equals(ref)
        assert pl.read_parquet(other.out_dir / "returns.parquet").equals(ref_rets)

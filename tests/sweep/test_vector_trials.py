"""Sweep trials on the vectorized engine: the same session returns, objective, metrics
and fills as the event engine's trials on the same grid, for a signal strategy and a
target strategy; features shared across trials; the route's reason either way; and the
grid over target-weight matrices against ``run_target_weights`` one matrix at a time."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from framework.config import load_toml
from framework.engine.run_config import StrategyConfig, build_strategy
from framework.engine.vector import VectorEngineError, run_target_weights
from framework.execution.costs import CostConfig
from framework.sweep.matrices import grid_target_weights
from framework.sweep.route import engine_for
from framework.sweep.spec import load_spec
from framework.sweep.study import grid_points, sweep_context
from framework.sweep.trial import evaluate
from framework.sweep.vector_trials import _MEMO, evaluate_vector

PROJECT_ROOT = Path(__file__).resolve().parents[2]

REBALANCE_SWEEP = """
name = "rebalance_sweep"
strategy = "strategies.rebalance:Rebalance"
symbols = ["SPY", "QQQ", "AAPL"]
[data]
timeframe = "1d"
[params]
every = "month"
[params.weights]
SPY = 0.5
QQQ = 0.3
AAPL = 0.2
[decision]
mode = "target"
rebalance_band = 0.01
min_order_value = 100.0
whole_shares = true
[costs]
model = "alpaca"
slippage_bps = 2.0
[sweep]
sampler = "grid"
[sweep.params]
every = { choices = ["month", "week", "session"] }
"params.weights.SPY" = { choices = [0.2, 0.5] }
"decision.rebalance_band" = { choices = [0.0, 0.02] }
[sweep.walk_forward]
folds = 2
in_sample = 0.5
"""


def _grid_spec(toml: Path, params: list[str] | None = None):
    """The TOML's [sweep] table as a grid over ``params`` (``--param`` texts) alone, or
    over its own ranges when None."""
    table = dict(load_toml(toml, StrategyConfig).sweep)
    if params is not None:
        table.pop("params", None)
        table.pop("constraints", None)
    return load_spec(table, toml, params=params, options={"sampler": "grid"})


def _both_engines(toml: Path, lake: Path, params: list[str] | None = None
                  ) -> tuple[list, list, dict]:
    spec = _grid_spec(toml, params)
    job, _, info = sweep_context(toml, {}, lake, spec)
    items = list(enumerate(grid_points(spec)))
    vec = evaluate_vector(job, items)
    ev = [evaluate(dataclasses.replace(job, engine="event"), n, k) for n, k in items]
    return vec, ev, info


def _assert_same(vec: list, ev: list) -> None:
    assert [o.engine for o in vec] == ["vector"] * len(vec)
    assert [o.engine for o in ev] == ["event"] * len(ev)
    for v, e in zip(vec, ev, strict=True):
        assert (v.number, v.params, v.state, v.error) == (e.number, e.params, e.state, e.error)
        np.testing.assert_allclose(v.returns, e.returns, rtol=1e-9, atol=1e-12)
        assert v.value == pytest.approx(e.value, rel=1e-8, abs=1e-12)
        assert v.metrics["fills"] == e.metrics["fills"]
        for key in ("sharpe", "total_return", "max_drawdown", "volatility", "psr"):
            assert v.metrics[key] == pytest.approx(e.metrics[key], rel=1e-7, abs=1e-10), key
        for a, b in zip(v.scores["oos"], e.scores["oos"], strict=True):
            assert a == pytest.approx(b, rel=1e-7, abs=1e-10)


def test_signal_strategy_vector_trials_equal_event_trials(daily_lake: Path,
                                                          sma_toml: Path) -> None:
    hits = _MEMO.hits
    vec, ev, info = _both_engines(sma_toml, daily_lake, ["fast=3,5,8,13", "slow=15,30,45"])
    assert info["engine"] == "vector", info["engine_reason"]
    assert "long-only signals sized by equity_fraction" in info["engine_reason"]
    assert len(vec) == 12 and all(o.state == "complete" for o in vec)
    assert sum(o.metrics["fills"] for o in vec) > 100  # the trials trade
    _assert_same(vec, ev)
    # 4 fast and 3 slow windows: 7 SMAs computed, the other 17 of 24 calls shared
    assert _MEMO.hits - hits >= 17


def test_target_strategy_vector_trials_equal_event_trials(daily_lake: Path,
                                                          tmp_path: Path) -> None:
    toml = tmp_path / "rebalance_sweep.toml"
    toml.write_text(REBALANCE_SWEEP)
    vec, ev, info = _both_engines(toml, daily_lake)
    assert info["engine"] == "vector" and "targets" in info["engine_reason"]
    assert len(vec) == 12 and all(o.state == "complete" for o in vec)
    _assert_same(vec, ev)


def test_a_trial_the_vector_engine_cannot_model_runs_on_the_event_engine(
        daily_lake: Path, sma_toml: Path) -> None:
    spec = _grid_spec(sma_toml, ["decision.order_type=market,limit"])
    job, _, _ = sweep_context(sma_toml, {}, daily_lake, spec)
    outs = evaluate_vector(job, list(enumerate(grid_points(spec))))
    assert [(o.params["decision.order_type"], o.engine) for o in outs] == [
        ("market", "vector"), ("limit", "event")]
    assert all(o.state == "complete" for o in outs)


def test_route_reason_for_an_on_bar_strategy(daily_lake: Path) -> None:
    toml = PROJECT_ROOT / "strategies" / "pairs.toml"
    cfg = load_toml(toml, StrategyConfig)
    engine, why = engine_for(cfg, build_strategy(cfg, toml, daily_lake, prepare=False))
    assert engine == "event" and why.startswith("the strategy is event-driven (on_bar)")


def test_route_reason_for_limit_entries_and_brackets() -> None:
    toml = PROJECT_ROOT / "strategies" / "bollinger_mr.toml"
    cfg = load_toml(toml, StrategyConfig)
    engine, why = engine_for(cfg, build_strategy(cfg, toml, None, prepare=False))
    assert engine == "event"
    assert why == ("participation cap or order latency; limit entries; brackets, trailing "
                   "or timed exits, or flat-at-close; short entries; 'half_spread' slippage "
                   "(vector: fixed bps)")


def test_grid_of_target_weights_equals_each_run() -> None:
    rng = np.random.default_rng(4)
    T, S, C = 300, 3, 7
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, (T, S)), axis=0))
    open_ = close * np.exp(rng.normal(0, 0.002, (T, S)))
    open_[40:45, 1] = close[40:45, 1] = np.nan  # a symbol that does not print
    weights = rng.uniform(-0.2, 0.5, (C, T, S))
    weights[rng.random((C, T, S)) < 0.8] = np.nan
    kw = {"init_cash": 50_000.0, "rebalance_band": 0.01, "min_order_value": 200.0,
          "whole_shares": True, "costs": CostConfig(model="custom", per_share=0.005, min_fee=1.0,
                                             slippage_bps=3.0)}
    grid = grid_target_weights(open_, close, iter(list(weights)), chunk=3, keep_equity=True,
                               **kw)
    assert grid.metrics["combo"].to_list() == list(range(C))
    for c in range(C):
        eq, _, metrics = run_target_weights(open_, close, weights[c], **kw)
        np.testing.assert_array_equal(grid.equity[c], eq)
        row = grid.metrics.row(c, named=True)
        assert {k: row[k] for k in metrics} == pytest.approx(metrics, nan_ok=True)
    with pytest.raises(VectorEngineError, match=r"targets\[1\] shape \(299, 3\)"):
        grid_target_weights(open_, close, [weights[0], weights[1][1:]])
    with pytest.raises(VectorEngineError, match="the grid is empty"):
        grid_target_weights(open_, close, [])




def test_trial_config_reuses_the_toml_and_still_validates(sma_toml: Path,
                                                          daily_lake: Path) -> None:
    """A trial of ``params.*`` keys gets the job's config with those parameters replaced,
    equal to reading the TOML with them; other keys, an edited TOML and bad parameter
    values go through full validation, with the error naming the key."""
    from framework.config import ConfigError
    from framework.sweep.folds import Layout
    from framework.sweep.trial import SweepJob, trial_config, trial_strategy

    job = SweepJob(str(sma_toml), {"decision.size": 0.2}, str(daily_lake), "sharpe",
                   Layout((0, 1), (), 1))
    for keys in ({"params.fast": 3, "params.slow": 40}, {"decision.size": 0.5}, {}):
        assert trial_config(job, keys) == load_toml(sma_toml, StrategyConfig,
                                                    {"decision.size": 0.2, **keys})
    cfg, strategy = trial_strategy(job, {"params.fast": 7})
    assert (strategy.params.fast, strategy.params.slow, cfg.decision.size) == (7, 20, 0.2)
    with pytest.raises(ConfigError, match="fast"):
        trial_strategy(job, {"params.fast": "seven"})
    sma_toml.write_text(sma_toml.read_text().replace("slow = 20", "slow = 125"))
    assert trial_config(job, {"params.fast": 3}).params == {"fast": 3, "slow": 125}

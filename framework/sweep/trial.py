"""One trial of a sweep, in whatever process runs it (this one, a worker process, a Dask
worker): apply the trial's keys to the strategy TOML, run it, score it.

A backtest trial runs the strategy through ``framework.engine.backtest.run_strategy``
(the event engine: every strategy form) over the whole period, once, on bars loaded
once per process; its session-close returns are scored on the walk-forward windows
(``framework.sweep.folds``). A model trial (``model.*`` keys) cross-validates the
strategy's classifier instead (``Strategy.cross_validate``). Nothing here is random: a
trial's outcome depends on its keys only, so any worker gives the same result.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from framework.analytics.metrics import daily_returns, performance_metrics
from framework.config import load_toml
from framework.data import Lake
from framework.engine.backtest import market_data, run_strategy
from framework.engine.run_config import StrategyConfig, build_strategy, strategy_class
from framework.strategy import Strategy
from framework.strategy.base import strategy_code
from framework.sweep.folds import Layout, fold_scores
from framework.types.errors import FwError

_MARKET: dict[tuple, tuple] = {}  # per process: bars loaded once for every trial
_BASE: dict[tuple, tuple] = {}  # per process: the job's config and strategy class


@dataclass(frozen=True)
class SweepJob:
    """What every trial of one sweep shares (picklable: sent to worker processes).
    ``first_session``: sessions before it are not scored (a model's in-sample span)."""

    config: str
    overrides: dict
    lake_root: str | None
    objective: str
    layout: Layout
    first_session: int = 0
    model_sweep: bool = False
    cv_splits: int = 5
    embargo_sessions: int = 1
    engine: str = "event"  # "vector": trials go through framework.sweep.vector_trials


@dataclass
class TrialOutcome:
    """A finished trial: ``state`` "complete" or "fail"; ``value`` the objective on the
    search window (what the sampler is told); ``scores`` per walk-forward window;
    ``metrics`` over every scored session; ``returns`` session-close returns
    (fractions) of the scored sessions."""

    number: int
    params: dict[str, Any]
    state: str
    value: float = math.nan
    scores: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    returns: list[float] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    engine: str = "event"  # the engine that ran the backtest ("vector" or "event")


def market(cfg: StrategyConfig, lake_root: Path) -> tuple:
    """``market_data`` of this config, loaded once per process for every trial."""
    key = (str(lake_root), tuple(cfg.symbols), cfg.data.start, cfg.data.end,
           cfg.data.timeframe, cfg.execution.fill_model, cfg.data.book_levels)
    if key not in _MARKET:
        _MARKET.clear()  # one sweep per process at a time: keep one set of bars
        _MARKET[key] = market_data(Lake(lake_root), cfg)
    return _MARKET[key]


def trial_config(job: SweepJob, keys: dict[str, Any]) -> StrategyConfig:
    """The job's config (TOML plus overrides) with the trial's dotted ``keys`` applied.
    The TOML is read and validated once per process (again once the file changes); a
    trial whose keys are all ``params.<name>`` gets a copy with those parameters
    replaced (the strategy's ``Params`` validates them when it is built), any other key
    a fresh validation."""
    base = _base(job)[0]
    if not all(k.startswith("params.") and k.count(".") == 1 for k in keys):
        return load_toml(job.config, StrategyConfig, {**job.overrides, **keys})
    params = base.params | {k.removeprefix("params."): v for k, v in keys.items()}
    return base.model_copy(update={"params": params})


def trial_strategy(job: SweepJob, keys: dict[str, Any], *,
                   prepare: bool = True) -> tuple[StrategyConfig, Strategy]:
    """The trial's config and its strategy object (the class imported once per process)."""
    cfg = trial_config(job, keys)
    base, cls = _base(job)
    if cfg.strategy != base.strategy:  # the trial's keys name another class
        cls = None
    return cfg, build_strategy(cfg, job.config, Path(job.lake_root) if job.lake_root else None,
                               prepare=prepare, cls=cls)


def _base(job: SweepJob) -> tuple[StrategyConfig, type[Strategy]]:
    path = Path(job.config)  # an edited TOML (a notebook's next sweep) is read again
    stamp = (path.stat().st_mtime_ns, path.stat().st_size) if path.is_file() else None
    key = (job.config, stamp, repr(sorted(job.overrides.items())))
    if key not in _BASE:
        _BASE.clear()  # one sweep per process at a time
        cfg = load_toml(job.config, StrategyConfig, job.overrides)
        _BASE[key] = cfg, strategy_class(cfg.strategy, job.config)
    return _BASE[key]


def backtest_returns(job: SweepJob, keys: dict[str, Any]) -> tuple[np.ndarray, dict]:
    """Run the strategy with ``keys`` (dotted TOML keys) on top of the job's overrides;
    session-close returns of every session (fractions) and run counts."""
    cfg, strategy = trial_strategy(job, keys)
    run = run_strategy(cfg, strategy, job.config, write=False,
                       market=market(cfg, strategy.context.lake_root))
    daily = daily_returns(run.result.equity, cfg.backtest.initial_cash)
    counts = {"orders": run.result.orders.height, "fills": run.result.fills.height}
    return daily["ret"].to_numpy(), counts


def _model_scores(job: SweepJob, keys: dict[str, Any]) -> tuple[float, dict]:
    cfg, strategy = trial_strategy(job, keys, prepare=False)
    with strategy_code(f"{strategy.name} ({job.config})", "cross_validate()"):
        cv = strategy.cross_validate(Lake(strategy.context.lake_root), cfg,
                                     splits=job.cv_splits,
                                     embargo_sessions=job.embargo_sessions)
    return float(cv[job.objective]), cv


def score(job: SweepJob, out: TrialOutcome, rets: np.ndarray, counts: dict) -> None:
    """Fill ``out`` from a backtest's session-close returns (fractions, every session)
    and its run counts: the scored sessions, walk-forward scores, objective, metrics."""
    rets = rets[job.first_session:]
    out.returns = rets.tolist()
    out.scores = fold_scores(rets, job.layout, job.objective)
    out.value = out.scores["search"]
    out.metrics = performance_metrics(rets) | counts


def settle(job: SweepJob, out: TrialOutcome, err: BaseException | None,
           t0: float) -> TrialOutcome:
    """Close a trial started at ``t0`` (``time.perf_counter``): "complete" when its
    objective is defined and nothing failed, else "fail" with a one-line message
    (``err``: what the trial raised, if anything)."""
    if isinstance(err, FwError):
        out.error = str(err)
    elif err is not None:  # a trial never takes the sweep down; the message is kept
        tb = traceback.extract_tb(err.__traceback__)[-1]
        out.error = f"{type(err).__name__}: {err} ({Path(tb.filename).name}:{tb.lineno})"
    elif math.isfinite(out.value):
        out.state = "complete"
    else:
        out.error = f"objective '{job.objective}' is undefined on the search window"
    out.seconds = time.perf_counter() - t0
    return out


def evaluate(job: SweepJob, number: int, keys: dict[str, Any]) -> TrialOutcome:
    """Run and score one trial on the event engine; any failure (bad parameters, the
    strategy's own code) becomes a "fail" outcome carrying its one-line message, never
    an exception."""
    t0 = time.perf_counter()
    out = TrialOutcome(number, dict(keys), "fail")
    try:
        if job.model_sweep:
            out.value, out.metrics = _model_scores(job, keys)
            out.scores = {"search": out.value, "is": [], "oos": [],
                          "oos_all": out.metrics.get("oos_" + job.objective.removeprefix(
                              "cv_"), math.nan)}
        else:
            score(job, out, *backtest_returns(job, keys))
    except Exception as err:
        return settle(job, out, err, t0)
    return settle(job, out, None, t0)

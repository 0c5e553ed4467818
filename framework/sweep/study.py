"""The sweep driver: an Optuna study asked for trials in batches, the trials run here, in
worker processes or on a Dask cluster, and told back in trial order.

Determinism: the driver alone talks to the sampler. It asks ``batch`` trials, waits for
all of them, and tells their results in trial-number order, so the sampler sees the same
history whatever ran the trials: same seed and batch, same trials, same results, with 1
worker, N processes or a Dask cluster (tested).

Storage: by default a journal file in the sweep's folder (appends under a file lock, safe
for several processes on one machine; a batch's asks, and then its tells, are one grouped
append: :mod:`framework.sweep.journal`); any Optuna RDB URL
(``postgresql://user@host/db``, ``sqlite:///file.db``) for a study shared by many
machines: run the same ``fw sweep`` with the same ``--storage`` and ``--study-name`` on
each and they share the search (each driver asks and tells on its own, so that mode is
not deterministic). Every trial's parameters, scores, metrics and session returns are
kept in the study as user attributes, so the report can be built from the storage alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import sqlalchemy.exc

from framework.config import ConfigError, load_toml
from framework.data import Lake
from framework.engine.backtest import market_data
from framework.engine.run_config import StrategyConfig, build_strategy
from framework.sweep.folds import layout
from framework.sweep.journal import BatchedJournalBackend
from framework.sweep.results import json_safe, pack_returns
from framework.sweep.route import engine_for
from framework.sweep.spec import SweepSpec
from framework.sweep.trial import SweepJob, TrialOutcome, evaluate
from framework.sweep.vector_trials import evaluate_batch

STATES = {"complete": optuna.trial.TrialState.COMPLETE,
          "fail": optuna.trial.TrialState.FAIL,
          "pruned": optuna.trial.TrialState.PRUNED}


@dataclass(frozen=True)
class SweepRun:
    """A finished (or joined) sweep: its folder, study and context."""

    sweep_id: str
    out_dir: Path
    study: optuna.Study
    job: SweepJob
    spec: SweepSpec
    config: StrategyConfig
    storage: str


RDB_SCHEMA_ATTEMPTS = 5  # opens of an RDB storage while workers race to create its schema


def sampler_for(spec: SweepSpec) -> optuna.samplers.BaseSampler:
    """The seeded sampler the spec names (grid points are enqueued, drawn in order)."""
    if spec.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=spec.seed)
    if spec.sampler == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=spec.seed, warn_independent_sampling=False)
    return optuna.samplers.RandomSampler(seed=spec.seed)


def storage_for(url: str | None, out_dir: Path
                ) -> tuple[Any, str, Callable[[], AbstractContextManager]]:
    """(Optuna storage, its description, a context that groups the storage operations
    inside it into one write): a journal file (default ``<out_dir>/study.journal``, or a
    path ending in ``.journal``; grouped: one lock and one fsync per group) or an RDB URL
    (each operation its own transaction, as Optuna does)."""
    if url is None or url.endswith(".journal"):
        path = Path(url) if url else out_dir / "study.journal"
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = BatchedJournalBackend(str(path))
        return optuna.storages.JournalStorage(backend), f"journal file {path}", backend.batch
    reason = ""
    for attempt in range(RDB_SCHEMA_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(url), url.split("@")[-1], nullcontext
        except sqlalchemy.exc.IntegrityError as err:
            # workers started together on an empty database race to create Optuna's
            # schema; the loser's CREATE fails on PostgreSQL's catalog, and the schema is
            # there once the winner commits: open again
            reason = f"IntegrityError: {str(err).splitlines()[0]}"
            time.sleep(0.2 * (attempt + 1))
        except Exception as err:  # driver missing, server down, bad URL: one line naming it
            reason = f"{type(err).__name__}: {str(err).splitlines()[0]}"
            break
    raise ConfigError("--storage", [f"cannot open Optuna storage "
                                    f"'{url.split('@')[-1]}': {reason}"]) from None


def grid_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every feasible point of the grid of the swept keys, in a fixed order."""
    keys = list(spec.params)
    pts = (dict(zip(keys, combo, strict=True))
           for combo in itertools.product(*(spec.params[k].grid() for k in keys)))
    return [p for p in pts if spec.feasible(p) is None]


def sweep_context(config: str | Path, overrides: dict, lake_root: Path | None,
                  spec: SweepSpec) -> tuple[SweepJob, StrategyConfig, dict]:
    """Load the strategy once: the job every trial shares, the config, and what the sweep
    records about it (engine and why, sessions scored)."""
    cfg = load_toml(config, StrategyConfig, overrides)
    strategy = build_strategy(cfg, config, lake_root, prepare=not spec.model_sweep)
    engine, why = engine_for(cfg, strategy)
    info: dict[str, Any] = {"engine": engine, "engine_reason": why,
                            "strategy": cfg.name, "config": str(config)}
    if spec.model_sweep:
        lay = layout(1, spec.walk_forward.model_copy(update={"folds": 0}), 0)
        job = SweepJob(str(config), overrides, str(lake_root) if lake_root else None,
                       spec.objective, lay, 0, True, spec.cv_splits, spec.embargo_sessions)
        return job, cfg, info | {"sessions": []}
    panel = market_data(Lake(strategy.context.lake_root), cfg)[0]
    opens = np.unique(panel.session)
    oos_start = strategy.manifest_extra().get("oos_start_ns")
    first = int(np.searchsorted(opens, oos_start)) if oos_start is not None else 0
    purge = spec.walk_forward.purge_sessions
    if purge is None:
        purge = 1 if cfg.model is not None else 0
    lay = layout(opens.shape[0] - first, spec.walk_forward, purge)
    days = [dt.datetime.fromtimestamp(int(o) / 1e9, dt.UTC).date().isoformat()
            for o in opens[first:]]
    job = SweepJob(str(config), overrides, str(lake_root) if lake_root else None,
                   spec.objective, lay, first, False, spec.cv_splits, spec.embargo_sessions,
                   engine)
    return job, cfg, info | {"sessions": days, "first_session": first, "purge": purge,
                             "layout": asdict(lay)}


Runner = Callable[[SweepJob, list[tuple[int, dict]]], list[TrialOutcome]]


def _parts(items: list, n: int) -> list[list]:
    """``items`` cut into at most ``n`` contiguous parts of near-equal size."""
    n = max(1, min(n, len(items)))
    bounds = np.linspace(0, len(items), n + 1).round().astype(int)
    return [items[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def local_runner(workers: int) -> tuple[Runner, Callable[[], None]]:
    """Trials in this process (``workers`` <= 1) or a pool of spawned processes: event
    trials one task each, vector trials in one batch per worker (one kernel call each)."""
    if workers <= 1:
        return evaluate_batch, lambda: None
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))

    def run(job: SweepJob, items: list[tuple[int, dict]]) -> list[TrialOutcome]:
        if job.engine == "vector":
            parts = _parts(items, workers)
            return [o for part in pool.map(evaluate_batch, itertools.repeat(job), parts)
                    for o in part]
        return list(pool.map(evaluate, itertools.repeat(job), *zip(*items, strict=True)))

    return run, lambda: pool.shutdown(cancel_futures=True)


def dask_runner(address: str) -> tuple[Runner, Callable[[], None]]:
    """Trials on the Dask distributed cluster whose scheduler is at ``address`` (its
    workers need fw installed and the lake and strategy files at the same paths)."""
    try:
        from distributed import Client
    except ImportError as err:
        raise ConfigError("--dask", ["dask.distributed is not installed "
                                     "(pip install 'dask[distributed]')"]) from err
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as err:
        raise ConfigError("--dask", [f"no Dask scheduler at {address}: {err}"]) from None

    def run(job: SweepJob, items: list[tuple[int, dict]]) -> list[TrialOutcome]:
        if job.engine == "vector":
            n = len(client.scheduler_info().get("workers", {})) or 1
            parts = _parts(items, n)
            futures = client.map(evaluate_batch, [job] * len(parts), parts, pure=False)
            return [o for part in client.gather(futures) for o in part]
        futures = client.map(evaluate, [job] * len(items), [n for n, _ in items],
                             [k for _, k in items], pure=False)
        return client.gather(futures)

    return run, client.close


def _tell(study: optuna.Study, trial: optuna.Trial, out: TrialOutcome) -> None:
    for key in ("scores", "metrics", "error", "seconds", "engine"):
        trial.set_user_attr(key, json_safe(getattr(out, key)))
    if out.returns:
        trial.set_user_attr("returns", pack_returns(out.returns))
    if out.state == "complete":
        study.tell(trial, out.value)
    else:
        study.tell(trial, state=STATES[out.state])


def sweep_id_for(cfg: StrategyConfig, spec: SweepSpec) -> str:
    """``<name>-sweep-<UTC time>-<hash of config and spec>``."""
    digest = hashlib.sha256(json.dumps([cfg.model_dump(mode="json"),
                                        spec.model_dump(mode="json")],
                                       sort_keys=True).encode()).hexdigest()[:6]
    return f"{cfg.name}-sweep-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S')}-{digest}"


def run_sweep(config: str | Path, spec: SweepSpec, *, overrides: dict | None = None,
              lake_root: Path | None = None, out_root: Path | None = None,
              storage: str | None = None, study_name: str | None = None, workers: int = 1,
              dask: str | None = None, progress: Callable[[int, int], None] | None = None
              ) -> SweepRun:
    """Run ``spec.trials`` trials of the strategy TOML at ``config`` (plus ``overrides``)
    into ``<out_root>/<sweep-id>/`` (default root: the TOML's ``[backtest] reports``).
    ``storage``/``study_name`` join an existing study (a shared RDB, or a journal file);
    ``workers`` processes or a ``dask`` scheduler address run the trials. ``progress``
    is called with (trials done, trials asked for) after each batch."""
    overrides = dict(overrides or {})
    job, cfg, info = sweep_context(config, overrides, lake_root, spec)
    name = study_name or sweep_id_for(cfg, spec)
    out_dir = (out_root or cfg.backtest.reports) / name
    store, where, group = storage_for(storage, out_dir)
    optuna.logging.set_verbosity(logging.WARNING)
    total = spec.trials
    points = grid_points(spec) if spec.sampler == "grid" else []
    # one write, and (journal) no other driver between the check and the setup: the
    # first driver of a shared study records it and enqueues the grid, once
    with group():
        study = optuna.create_study(study_name=name, storage=store,
                                    sampler=sampler_for(spec), direction=spec.goal,
                                    load_if_exists=True)
        if "spec" not in study.user_attrs:
            for key, val in (info | {"spec": spec.model_dump(mode="json"),
                                     "overrides": overrides}).items():
                study.set_user_attr(key, json_safe(val))
            for p in points:
                study.enqueue_trial(p)
    if spec.sampler == "grid":
        total = min(total, len(points)) if total else len(points)
    run, close = dask_runner(dask) if dask else local_runner(workers)
    dists = spec.distributions()
    done = 0
    try:
        while done < total:
            # one grouped write for the batch's asks and one for its tells: trials stay
            # visible as running to other drivers while they run here
            with group():
                batch = [study.ask(dists) for _ in range(min(spec.batch, total - done))]
            items = []
            for trial in batch:
                broken = spec.feasible(trial.params)
                if broken is None:
                    items.append((trial.number, dict(trial.params)))
            outcomes = {o.number: o for o in (run(job, items) if items else [])}
            with group():
                for trial in batch:
                    out = outcomes.get(trial.number) or TrialOutcome(
                        trial.number, dict(trial.params), "pruned",
                        error=f"constraint '{spec.feasible(trial.params)}' not met",
                        engine="")
                    _tell(study, trial, out)
            done += len(batch)
            if progress:
                progress(done, total)
    finally:
        close()
    return SweepRun(name, out_dir, study, job, spec, cfg, where)

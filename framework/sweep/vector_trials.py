"""Sweep trials on the vectorized engine: a batch of trials in one parallel kernel call.

For a strategy the route (``framework.sweep.route``) sends here, a batch of trials runs
in three steps, in whatever process runs the batch:

1. each trial's keys are applied to the TOML and its strategy's ``signals`` computed on
   the bars loaded once per process, inside :func:`framework.features.shared.shared_features`:
   an indicator with the same parameters over the same bars is computed once per process
   and shared by every trial that asks for it (vectorbt's ``MA.run`` over a parameter
   product, for any strategy written with ``framework.features``);
2. trials with the same engine settings (sizing, costs, band) are stacked, at most
   ``CHUNK`` at a time, and simulated by one :mod:`framework.sweep.matrices` call, in
   parallel over trials; only each trial's equity curve is kept;
3. each curve becomes session-close returns exactly as the event engine's does
   (``session_returns`` at the same session-close bars) and is scored on the walk-forward
   windows like an event trial.

A trial whose config or signals hold what the vector engine does not model (its keys
sweep ``decision.order_type``, its signals set per-entry sizes, limits or stops) runs on
the event engine instead; each outcome names the engine that ran it. Signal mapping
(long-only, the event engine's decision rule with no order working at a decision, as
with bar fills): enter on ``entry == 1``; exit on ``exit`` or a reversal signal
(``entry == -1``) but not both, since an entry and an exit on one bar cancel.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from framework.analytics.metrics import session_closes, session_returns
from framework.engine.backtest import strategy_signals
from framework.engine.run_config import StrategyConfig
from framework.features.shared import FeatureMemo, shared_features
from framework.strategy import BarPanel, Signals
from framework.sweep.matrices import GridRun, grid_signals, grid_targets
from framework.sweep.route import vector_blockers
from framework.sweep.trial import (
    SweepJob,
    TrialOutcome,
    evaluate,
    market,
    score,
    settle,
    trial_strategy,
)

CHUNK = 64  # trials stacked into one kernel call: bounds the [chunk x T x S] stack
PER_ENTRY = ("size", "limit", "stop_loss", "take_profit", "trail_pct", "trail_atr",
             "max_hold")
_MEMO = FeatureMemo()  # per process: indicator results shared by the trials it runs


def signal_blockers(sig: Signals) -> list[str]:
    """The per-entry fields of ``sig`` the vector engine cannot model (set = not NaN)."""
    if sig.is_target:
        return []
    return [f"per-entry '{f}'" for f in PER_ENTRY if np.any(~np.isnan(getattr(sig, f)))]


def vector_matrices(sig: Signals, panel: BarPanel) -> tuple[np.ndarray, ...]:
    """``(targets,)`` or ``(entries, exits)`` as the vector engine takes them, ``[T, S]``."""
    shape = panel.close.shape
    if sig.is_target:
        return (np.broadcast_to(sig.target, shape),)
    entry = np.broadcast_to(sig.entry, shape)
    exit_ = np.broadcast_to(sig.exit, shape)
    return entry == 1, exit_ ^ (entry == -1)


def engine_settings(cfg: StrategyConfig, sig: Signals) -> tuple:
    """What one kernel call shares: (form, its engine keyword arguments as a tuple)."""
    d, cash = cfg.decision, cfg.backtest.initial_cash
    costs = tuple(cfg.costs.as_array().tolist())
    if sig.is_target:
        return ("targets", (("unit", sig.target_unit), ("init_cash", cash),
                            ("rebalance_band", d.rebalance_band),
                            ("min_order_value", d.min_order_value),
                            ("whole_shares", d.whole_shares), ("costs", costs)))
    return ("signals", (("size_mode", d.size_mode), ("size", d.size), ("init_cash", cash),
                        ("whole_shares", d.whole_shares), ("costs", costs)))


def _prepare(job: SweepJob, keys: dict[str, Any]) -> tuple[StrategyConfig, BarPanel,
                                                           Signals | None]:
    """The trial's config, bars and signals; signals None when the trial must run on
    the event engine (its config or signals hold what the vector engine cannot model)."""
    cfg, strategy = trial_strategy(job, keys)
    panel = market(cfg, strategy.context.lake_root)[0]
    if vector_blockers(cfg, strategy):
        return cfg, panel, None
    sig = strategy_signals(strategy, panel, job.config)
    if sig.is_target != (cfg.decision.mode == "target") or signal_blockers(sig):
        return cfg, panel, None  # the event engine says what is wrong, or models it
    return cfg, panel, sig


def _simulate(form: str, kwargs: dict, panel: BarPanel, mats: list[tuple]) -> GridRun:
    """The stacked trials of one settings group, with their equity curves."""
    kw = dict(kwargs, costs=np.array(kwargs["costs"]), keep_equity=True, chunk=CHUNK)
    if form == "targets":
        return grid_targets(panel.open, panel.close, (m[0] for m in mats), **kw)
    return grid_signals(panel.open, panel.close, mats, **kw)


def evaluate_vector(job: SweepJob, items: list[tuple[int, dict]]) -> list[TrialOutcome]:
    """Run and score the trials ``items`` ((number, keys) each) on the vector engine,
    in one kernel call per settings group; trials it cannot model run on the event
    engine. Failures become "fail" outcomes, as :func:`framework.sweep.trial.evaluate`."""
    done: dict[int, TrialOutcome] = {}
    groups: dict[tuple, list] = {}
    with shared_features(_MEMO):
        for number, keys in items:
            t0 = time.perf_counter()
            out = TrialOutcome(number, dict(keys), "fail", engine="vector")
            try:
                cfg, panel, sig = _prepare(job, keys)
            except Exception as err:
                done[number] = settle(job, out, err, t0)
                continue
            if sig is None:
                done[number] = evaluate(job, number, keys)
                continue
            groups.setdefault(engine_settings(cfg, sig), []).append(
                (out, time.perf_counter() - t0, panel, vector_matrices(sig, panel)))
    for (form, kwargs), members in groups.items():
        t1 = time.perf_counter()
        panel, cash = members[0][2], dict(kwargs)["init_cash"]
        try:
            grid = _simulate(form, dict(kwargs), panel, [m[3] for m in members])
        except Exception as err:
            for out, prep, *_ in members:
                done[out.number] = settle(job, out, err, time.perf_counter() - prep)
            continue
        share = (time.perf_counter() - t1) / len(members)  # the kernel call, per trial
        ts = panel.decision_ts()
        rows = session_closes(ts)["row"].to_numpy()  # the same bars: one lookup per group
        fills = grid.metrics["n_fills"].to_list()
        for (out, prep, *_), eq, n_fills in zip(members, grid.equity, fills, strict=True):
            err = None
            try:
                score(job, out, session_returns(eq, rows, cash), {"fills": n_fills})
            except Exception as exc:
                err = exc
            done[out.number] = settle(job, out, err, time.perf_counter() - prep - share)
    return [done[n] for n, _ in items]


def evaluate_batch(job: SweepJob, items: list[tuple[int, dict]]) -> list[TrialOutcome]:
    """The trials ``items`` ((number, keys) each) on the job's engine, in order."""
    if job.engine == "vector":
        return evaluate_vector(job, items)
    return [evaluate(job, n, k) for n, k in items]

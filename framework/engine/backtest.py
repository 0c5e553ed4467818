"""The backtest driver: strategy TOML -> lake bars -> signals -> event engine -> results
on disk (Parquet frames, metrics and a manifest). ``fw backtest`` adds the tearsheet.

Every run writes ``manifest.json`` (config, data fingerprint, code version, seed) next to
its results so it can be reproduced.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from framework.data import Lake
from framework.engine.event.engine import EventResult, run_event
from framework.engine.run_config import StrategyConfig, load_strategy
from framework.strategy import BarPanel, Signals, Strategy, load_panel
from framework.strategy.signals import SignalError
from framework.types.errors import FwError


class StrategyRunError(FwError):
    """The strategy's own code failed; the message names the strategy and its file."""


@dataclass(frozen=True)
class BacktestRun:
    """A finished backtest: its config, data, result and the folder it was written to."""

    config: StrategyConfig
    strategy: Strategy
    panel: BarPanel
    signals: Signals
    result: EventResult
    out_dir: Path | None
    manifest: dict


def code_version() -> str:
    """``git describe`` of the working tree (``+dirty`` when modified), or 'unknown'."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                             text=True, timeout=5, cwd=Path(__file__).parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def strategy_signals(strategy: Strategy, panel: BarPanel, source: str) -> Signals:
    """Call the strategy's ``signals`` and check them; errors name the strategy and file."""
    try:
        sig = strategy.signals(panel)
    except FwError:
        raise
    except Exception as err:  # user code: wrap, never let a raw traceback reach the CLI
        raise StrategyRunError(f"{strategy.name} ({source}): signals() failed: "
                               f"{type(err).__name__}: {err}") from err
    if not isinstance(sig, Signals):
        raise SignalError(f"{strategy.name} ({source}): signals() must return Signals, "
                          f"got {type(sig).__name__}")
    sig.check(panel, f"{strategy.name} ({source})")
    return sig


def run_backtest(path: str | Path, overrides: dict | None = None, *,
                 lake_root: Path | None = None, out_root: Path | None = None,
                 write: bool = True) -> BacktestRun:
    """Run the strategy file at ``path``; results go to ``<reports>/<name>/<run id>/``."""
    cfg, strategy = load_strategy(path, overrides, lake_root)
    lake = Lake(strategy.context.lake_root)
    prepare = getattr(strategy, "prepare", None)
    if prepare is not None:
        prepare(lake, cfg)  # e.g. load the registered model named in [model]
    panel = load_panel(lake, cfg.symbols, cfg.data.start, cfg.data.end, cfg.data.timeframe)
    sig = strategy_signals(strategy, panel, str(path))
    t0 = time.perf_counter()
    result = run_event(panel, sig, decision=cfg.decision, costs=cfg.costs, risk=cfg.risk,
                       execution=cfg.execution, init_cash=cfg.backtest.initial_cash)
    elapsed = time.perf_counter() - t0
    dataset = "bars_" + cfg.data.timeframe
    manifest = {
        "strategy": cfg.name,
        "config_file": str(path),
        "config": json.loads(cfg.model_dump_json()),
        "symbols": list(cfg.symbols),
        "bars": panel.n_bars,
        "first_bar_ns": int(panel.ts[0]),
        "last_bar_ns": int(panel.ts[-1]),
        "data_fingerprint": lake.fingerprint(dataset, list(cfg.symbols), cfg.data.start,
                                             cfg.data.end),
        "lake": str(lake.root),
        "code_version": code_version(),
        "seed": cfg.seed,
        "engine_seconds": round(elapsed, 4),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    manifest.update(getattr(strategy, "manifest_extra", dict)())
    out_dir = None
    if write:
        run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S-") + uuid.uuid4().hex[:6]
        out_dir = (out_root or cfg.backtest.reports) / cfg.name / run_id
        write_results(out_dir, result, manifest)
    return BacktestRun(cfg, strategy, panel, sig, result, out_dir, manifest)


def write_results(out_dir: Path, result: EventResult, manifest: dict) -> None:
    """Parquet frames + manifest.json + risk.json into ``out_dir`` (created)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result.equity.write_parquet(out_dir / "equity.parquet")
    result.orders.write_parquet(out_dir / "orders.parquet")
    result.fills.write_parquet(out_dir / "fills.parquet")
    result.risk_events.write_parquet(out_dir / "risk_events.parquet")
    (out_dir / "risk.json").write_text(json.dumps(result.risk_summary, indent=2, default=str))
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))

"""The backtest driver: strategy TOML -> lake bars -> signals -> event engine -> results
on disk. ``fw backtest`` adds metrics and the tearsheet (``framework.analytics``).

Every run writes ``reports/<run-id>/manifest.json`` (the resolved config, the data
fingerprint, code and package versions, seed) so ``fw backtest --rerun <run-id>``
reproduces the same result files byte for byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from framework.config import ConfigError, load_toml, validate_mapping
from framework.data import Lake
from framework.engine.event import warmup
from framework.engine.event.book_tape import BookTape, load_book_events, with_book
from framework.engine.event.engine import EventResult, run_event
from framework.engine.event.quotes import QuoteTape, load_quotes
from framework.engine.run_config import StrategyConfig, build_strategy, ignored_settings
from framework.strategy import BarPanel, Signals, Strategy, load_panel
from framework.strategy.base import StrategyRunError
from framework.strategy.signals import SignalError
from framework.types.errors import FwError

PACKAGES = ("numpy", "numba", "polars", "pyarrow", "duckdb", "scikit-learn", "torch",
            "exchange-calendars", "pydantic")
RESULT_FILES = ("equity.parquet", "positions.parquet", "orders.parquet", "fills.parquet",
                "risk_events.parquet")


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
    quotes: QuoteTape | None = None
    book_tape: BookTape | None = None


def code_version() -> str:
    """``git describe`` of the working tree (``+dirty`` when modified), or 'unknown'."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                             text=True, timeout=5, cwd=Path(__file__).parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


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
    """Run the strategy file at ``path``; results go to ``<reports>/<run-id>/``."""
    cfg = load_toml(path, StrategyConfig, overrides)
    compiling = warmup.start(cfg.execution.fill_model)  # the loop's JIT, on a second core
    strategy = build_strategy(cfg, path, lake_root)
    return run_strategy(cfg, strategy, str(path), out_root=out_root, write=write,
                        compiling=compiling)


def run_strategy(cfg: StrategyConfig, strategy: Strategy, source: str, *,
                 out_root: Path | None = None, write: bool = True,
                 compiling: subprocess.Popen | None = None,
                 market: tuple | None = None) -> BacktestRun:
    """Backtest a built strategy (see :func:`run_backtest`); ``compiling`` is a running
    ``warmup.start`` to wait for before the engine loop; ``market`` what
    :func:`market_data` returned for this config, when the caller already loaded it (a
    sweep runs many trials over the same bars)."""
    lake = Lake(strategy.context.lake_root)
    panel, quotes, tape = market if market is not None else market_data(lake, cfg)
    sig = strategy_signals(strategy, panel, source)
    warmup.finish(compiling)
    t0 = time.perf_counter()
    result = run_event(panel, sig, decision=cfg.decision, costs=cfg.costs, risk=cfg.risk,
                       execution=cfg.execution, init_cash=cfg.backtest.initial_cash,
                       quotes=quotes, book_tape=tape)
    elapsed = time.perf_counter() - t0
    config = json.loads(cfg.model_dump_json())
    fingerprint = lake.fingerprint("bars_" + cfg.data.timeframe, list(cfg.symbols),
                                   cfg.data.start, cfg.data.end)
    manifest = {
        "strategy": cfg.name,
        "config_file": source,
        "config": config,
        "symbols": list(cfg.symbols),
        "bars": panel.n_bars,
        "first_bar_ns": int(panel.ts[0]),
        "last_bar_ns": int(panel.ts[-1]),
        "data_fingerprint": fingerprint,
        "lake": str(lake.root),
        "code_version": code_version(),
        "packages": package_versions(),
        "seed": cfg.seed,
        "engine_seconds": round(elapsed, 4),
        "ignored_settings": ignored_settings(cfg, strategy, source),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    manifest.update(strategy.manifest_extra())
    out_dir = None
    if write:
        digest = hashlib.sha256(json.dumps([config, fingerprint], sort_keys=True).encode())
        run_id = (f"{cfg.name}-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S')}-"
                  f"{digest.hexdigest()[:6]}")
        root = out_root or cfg.backtest.reports
        k = 1
        while (root / run_id).exists():  # same config and data within one second
            run_id, k = f"{run_id.rsplit('~', 1)[0]}~{k}", k + 1
        manifest["run_id"] = run_id
        out_dir = root / run_id
        write_results(out_dir, result, manifest)
    return BacktestRun(cfg, strategy, panel, sig, result, out_dir, manifest, quotes, tape)


def market_data(lake: Lake, cfg: StrategyConfig
                ) -> tuple[BarPanel, QuoteTape | None, BookTape | None]:
    """What a run reads from the lake: the bar panel (with the book's top levels at each
    decision time when ``[data] book_levels`` > 0), the quotes of the quote fill model,
    the book events of the book fill model or of the panel's book levels."""
    panel = load_panel(lake, cfg.symbols, cfg.data.start, cfg.data.end, cfg.data.timeframe,
                       cfg.data.session)
    quotes = load_quotes(lake, panel) if cfg.execution.fill_model == "quote" else None
    tape = None
    if cfg.execution.fill_model == "book" or cfg.data.book_levels > 0:
        tape = load_book_events(lake, panel)
    if cfg.data.book_levels > 0:
        panel = with_book(panel, tape, cfg.data.book_levels)
    return panel, quotes, tape


def rerun(run: str | Path, reports: Path = Path("reports"), *,
          out_root: Path | None = None) -> BacktestRun:
    """Re-run a saved run (its folder, or a run id under ``reports``) from its manifest:
    same config, same lake data (checked by fingerprint), same seed."""
    run_dir = Path(run) if Path(run).is_dir() else reports / str(run)
    man_path = run_dir / "manifest.json"
    if not man_path.is_file():
        raise ConfigError(str(man_path), ["no manifest: not a fw backtest run folder"])
    manifest = json.loads(man_path.read_text())
    cfg = validate_mapping(manifest["config"], StrategyConfig, str(man_path))
    compiling = warmup.start(cfg.execution.fill_model)
    strategy = build_strategy(cfg, manifest["config_file"], Path(manifest["lake"]))
    out = run_strategy(cfg, strategy, manifest["config_file"], out_root=out_root or reports,
                       compiling=compiling)
    if out.manifest["data_fingerprint"] != manifest["data_fingerprint"]:
        raise FwError(f"rerun of {run_dir.name}: the lake's data changed since the run "
                      "(fingerprint differs); results are not comparable")
    return out


def write_results(out_dir: Path, result: EventResult, manifest: dict) -> None:
    """Parquet frames + manifest.json + risk.json into ``out_dir`` (created)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = (result.equity, result.positions, result.orders, result.fills, result.risk_events)
    for name, frame in zip(RESULT_FILES, frames, strict=True):
        frame.write_parquet(out_dir / name, statistics=False)
    (out_dir / "risk.json").write_text(json.dumps(result.risk_summary, indent=2, default=str))
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))

"""The backtest driver: strategy TOML -> lake bars -> signals -> event engine -> results
on disk. ``fw backtest`` adds metrics and the tearsheet (``framework.analytics``).

Every run writes ``reports/<run-id>/manifest.json`` (the resolved config, the data
fingerprint, code and package versions, seed; sealed by its sha256) so
``fw backtest --rerun <run-id>`` reproduces the same result files byte for byte. The
folder is written in a staging folder and renamed when complete (``run_folder``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import inspect
import json
import subprocess
import time
import traceback
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from framework.config import load_toml, validate_mapping
from framework.data import Lake
from framework.engine import run_folder
from framework.engine.event import warmup
from framework.engine.event.book_tape import BookTape, load_book_events, with_book
from framework.engine.event.engine import EventResult, run_event
from framework.engine.event.on_bar import OnBarRunner, blank_signals
from framework.engine.event.quotes import QuoteTape, load_quotes
from framework.engine.run_config import StrategyConfig, build_strategy, ignored_settings
from framework.execution.algos.calibrate import learn_before
from framework.strategy import BarPanel, Signals, Strategy, load_panel
from framework.strategy.base import StrategyRunError
from framework.strategy.signals import SignalError
from framework.types.errors import FwError

PACKAGES = ("numpy", "numba", "polars", "pyarrow", "duckdb", "scikit-learn", "torch",
            "exchange-calendars", "pydantic")
RESULT_FILES = ("equity.parquet", "positions.parquet", "orders.parquet", "fills.parquet",
                "risk_events.parquet")
# what a rerun compares: the engine's results and the report's tables and metrics
COMPARED_FILES = (*RESULT_FILES, "risk.json", "trades.parquet", "metrics.json")


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
        raise StrategyRunError(f"{strategy.name} ({source}): signals() failed at "
                               f"{_user_frame(err, strategy)}: {type(err).__name__}: {err}"
                               ) from err
    if not isinstance(sig, Signals):
        raise SignalError(f"{strategy.name} ({source}): signals() must return Signals, "
                          f"got {type(sig).__name__}")
    sig.check(panel, f"{strategy.name} ({source})")
    return sig


def _user_frame(err: BaseException, strategy: Strategy) -> str:
    """file:line where ``err`` left the strategy's own module (else its innermost frame)."""
    try:
        own = Path(inspect.getfile(type(strategy))).resolve()
    except (TypeError, OSError):
        own = None
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if own is not None and Path(f.filename).resolve() == own]
    f = (mine or frames)[-1]
    return f"{f.filename}:{f.lineno} (in {f.name})"


def run_backtest(path: str | Path, overrides: dict | None = None, *,
                 lake_root: Path | None = None, out_root: Path | None = None,
                 write: bool = True, publish: bool = True) -> BacktestRun:
    """Run the strategy file at ``path``; results go to ``<reports>/<run-id>/``.

    With ``publish=False`` the run stays in its staging folder (``run.out_dir``) so a
    caller can add the report to it and then ``publish_run``: the run folder appears
    only when complete."""
    cfg = load_toml(path, StrategyConfig, overrides)
    compiling = warmup.start(cfg.execution.fill_model)  # the loop's JIT, on a second core
    strategy = build_strategy(cfg, path, lake_root)
    return run_strategy(cfg, strategy, str(path), out_root=out_root, write=write,
                        compiling=compiling, publish=publish)


def run_strategy(cfg: StrategyConfig, strategy: Strategy, source: str, *,
                 out_root: Path | None = None, write: bool = True,
                 compiling: subprocess.Popen | None = None,
                 publish: bool = True, market: tuple | None = None) -> BacktestRun:
    """Backtest a built strategy (see :func:`run_backtest`); ``compiling`` is a running
    ``warmup.start`` to wait for before the engine loop; ``market`` what
    :func:`market_data` returned for this config, when the caller already loaded it (a
    sweep runs many trials over the same bars)."""
    lake = Lake(strategy.context.lake_root)
    panel, quotes, tape = market if market is not None else market_data(lake, cfg)
    hook = OnBarRunner(strategy) if strategy.event_driven else None
    sig = blank_signals(panel) if hook else strategy_signals(strategy, panel, source)
    algo_inputs = learn_before(lake, list(cfg.symbols), cfg.execution,
                               int(panel.session_open[0]))
    warmup.finish(compiling)
    t0 = time.perf_counter()
    result = run_event(panel, sig, decision=cfg.decision, costs=cfg.costs, risk=cfg.risk,
                       execution=cfg.execution, init_cash=cfg.backtest.initial_cash,
                       quotes=quotes, book_tape=tape, hook=hook, algo_inputs=algo_inputs)
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
        "ignored": result.ignored,
        "ignored_settings": ignored_settings(cfg, strategy, source),
        **({"algo_inputs": algo_inputs.source} if algo_inputs is not None else {}),
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
        manifest = run_folder.seal(manifest)
        out_dir = run_folder.stage(root, run_id)
        write_results(out_dir, result, manifest)
        if publish:
            out_dir = run_folder.publish(out_dir, root / run_id)
    return BacktestRun(cfg, strategy, panel, sig, result, out_dir, manifest, quotes, tape)


def publish_run(run: BacktestRun) -> BacktestRun:
    """Move a run written with ``publish=False`` from its staging folder to
    ``<reports>/<run-id>/``; return the run with its final ``out_dir``."""
    final = run.out_dir.parent.parent / run.manifest["run_id"]
    return dataclasses.replace(run, out_dir=run_folder.publish(run.out_dir, final))


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
          out_root: Path | None = None, publish: bool = True) -> BacktestRun:
    """Re-run a saved run (its folder, or a run id under ``reports``) from its manifest:
    same config, same lake data, same seed. The manifest must be intact (sealed) and the
    lake's data unchanged (same fingerprint), both checked before anything runs or is
    written. The new run goes next to the original unless ``out_root``; compare the two
    with ``run_folder.compare(original, new, COMPARED_FILES)``."""
    run_dir = Path(run) if Path(run).is_dir() else reports / str(run)
    manifest = run_folder.read_manifest(run_dir)
    man_path = str(run_dir / "manifest.json")
    cfg = validate_mapping(manifest["config"], StrategyConfig, man_path)
    lake = Lake(Path(manifest["lake"]))
    now = lake.fingerprint("bars_" + cfg.data.timeframe, list(cfg.symbols), cfg.data.start,
                           cfg.data.end)
    if now != manifest["data_fingerprint"]:
        raise FwError(f"rerun of {run_dir.name}: the lake's data changed since the run "
                      f"({lake.root}: bars_{cfg.data.timeframe} of {', '.join(cfg.symbols)} "
                      f"fingerprint {manifest['data_fingerprint'][:12]}…, now {now[:12]}…); "
                      "nothing was run or written")
    compiling = warmup.start(cfg.execution.fill_model)
    strategy = build_strategy(cfg, manifest["config_file"], lake.root)
    return run_strategy(cfg, strategy, manifest["config_file"],
                        out_root=out_root or run_dir.parent, compiling=compiling,
                        publish=publish)


def write_results(out_dir: Path, result: EventResult, manifest: dict) -> None:
    """Parquet frames + manifest.json + risk.json into ``out_dir`` (created)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = (result.equity, result.positions, result.orders, result.fills, result.risk_events)
    for name, frame in zip(RESULT_FILES, frames, strict=True):
        frame.write_parquet(out_dir / name, statistics=False)
    (out_dir / "risk.json").write_text(json.dumps(result.risk_summary, indent=2, default=str))
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))

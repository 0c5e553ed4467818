"""``fw live --paper``, ``fw live stop`` and ``fw promote``: thin glue. ``live.*`` is
imported when a command runs, so the framework package never imports ``live`` at module
level."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
from pathlib import Path

import typer

from framework.types.errors import FwError

app = typer.Typer(help="Paper trading: the backtest's strategy on Alpaca paper or a local "
                  "venue.", invoke_without_command=True)


@app.callback(invoke_without_command=True)
def live(
    ctx: typer.Context,
    paper: Path = typer.Option(None, "--paper", help="Strategy TOML to paper-trade, e.g. strategies/ml_mr.toml."),  # noqa: B008
    venue: str = typer.Option(None, "--venue", help="Alpaca-compatible base URL (e.g. a fw venue)."),
    session: str = typer.Option(None, "--session", help="Local venue: lake session YYYY-MM-DD (default: the last)."),
    lake: Path = typer.Option(None, "--lake", help="Lake root (default: $FW_LAKE or ./data_lake)."),  # noqa: B008
    out: Path = typer.Option(None, "--out", help="Reports root (default: [backtest] reports)."),  # noqa: B008
    set_: list[str] = typer.Option(None, "--set", help="Override a key: params.fast=5 (repeat)."),  # noqa: B008
    resume: str = typer.Option(None, "--resume", help="Run id to resume from its journal."),
    force: str = typer.Option(None, "--force", help="Run an unpromoted/changed strategy; the reason is recorded."),
    metrics_port: int = typer.Option(None, "--metrics-port", help="Serve Prometheus metrics and the status page on 127.0.0.1:PORT (0: a free port)."),
    metrics_linger: float = typer.Option(0.0, "--metrics-linger", help="Seconds to keep serving the metrics after the session ends."),
    log_stderr: bool = typer.Option(True, "--log-stderr/--no-log-stderr", help="JSON event lines on stderr too (always in the run folder's events.jsonl)."),
    panel: float = typer.Option(1.0, "--panel", help="Seconds between the terminal panel's lines (0: no panel)."),
    journal_sync: str = typer.Option("full", "--journal-sync", help="full: every order intent fsync'd before it is sent; normal: no fsync (survives a crash of fw live, not of the machine)."),
) -> None:
    """Trade a strategy on paper: Alpaca paper with APCA_API_KEY_ID/APCA_API_SECRET_KEY
    set, else a local venue replaying a lake session (or --venue URL)."""
    if ctx.invoked_subcommand is not None:
        return
    if paper is None:
        raise FwError("fw live: paper trading only: fw live --paper X.toml (or fw live stop)")
    from framework.config import parse_overrides
    from live.panel import Panel
    from live.runner import run_live

    try:
        day = dt.date.fromisoformat(session) if session else None
    except ValueError:
        raise FwError(f"fw live: --session {session!r} is not YYYY-MM-DD") from None
    def started(live) -> None:  # what a supervisor (or fw live stop) needs, up front
        typer.echo(f"  run          {live.run_id}")
        if live.metrics_url:
            typer.echo(f"  metrics      {live.metrics_url}/metrics")
            typer.echo(f"  status       {live.metrics_url}/")

    run = run_live(paper, parse_overrides(set_ or []), lake=lake, out_root=out,
                   venue_url=venue, session=day, resume=resume, force_reason=force,
                   metrics_port=metrics_port, metrics_linger_s=metrics_linger,
                   log_stderr=log_stderr, panel=Panel(every_s=panel) if panel > 0 else None,
                   on_start=started, journal_sync=journal_sync)
    summary = json.loads((run.out_dir / "live.json").read_text())
    fills = run.result.fills
    typer.echo(f"  venue        {run.manifest['venue']}")
    typer.echo(f"  bars         {summary['bars']:,}")
    typer.echo(f"  orders       {summary['submitted']:,} sent {summary['outcomes']}")
    typer.echo(f"  fills        {fills.height:,}")
    eq = run.result.equity["equity"]
    if eq.len():
        typer.echo(f"  equity       {eq[-1]:,.2f} USD")
    lat = summary["decision_latency_us"]
    if lat:
        typer.echo(f"  decision     p50 {lat['p50']:.0f} us, p99 {lat['p99']:.0f} us "
                   "(bar received -> order sent)")
    if summary["stopped"]:
        typer.echo(f"  stopped      {summary['stopped']}")
    typer.echo(f"results:   {run.out_dir}")


@app.command("stop")
def stop(
    run: str = typer.Argument(..., help="Run id (folder name under the reports root) or folder."),
    kill: bool = typer.Option(False, "--kill", help="Block new orders and cancel every open one."),
    flatten: bool = typer.Option(False, "--flatten", help="With --kill: also close every position."),
    reason: str = typer.Option("fw live stop", "--reason", help="Recorded in the run."),
    out: Path = typer.Option(Path("reports"), "--out", help="Reports root."),  # noqa: B008
) -> None:
    """Stop a running ``fw live`` (its run folder gets ``stop.json``; the process is
    signalled)."""
    folder = Path(run) if Path(run).is_dir() else out / run
    if not (folder / "journal.sqlite").is_file():
        raise FwError(f"fw live stop: {folder} is not a live run folder")
    (folder / "stop.json").write_text(json.dumps({"kill": kill, "flatten": flatten,
                                                  "reason": reason}))
    pid_file = folder / "pid"
    if pid_file.is_file():
        try:
            os.kill(int(pid_file.read_text()), signal.SIGUSR1)
        except (ProcessLookupError, ValueError):
            pass
    typer.echo(f"stop requested: {folder} (kill={kill}, flatten={flatten})")


def promote(
    config: Path = typer.Argument(..., help="Strategy TOML."),  # noqa: B008
    run: str = typer.Option(..., "--run", help="Backtest run id (or folder) that validates it."),
    lake: Path = typer.Option(None, "--lake", help="Lake root (default: the run's)."),  # noqa: B008
    out: Path = typer.Option(Path("reports"), "--out", help="Reports root."),  # noqa: B008
) -> None:
    """Record that a backtest run validated this exact strategy (code, config and model
    hashes, look-ahead check, [promotion] thresholds)."""
    from framework.engine.promotion import promote as do_promote

    folder = Path(run) if Path(run).is_dir() else out / run
    rec = do_promote(config, folder, lake_root=lake)
    typer.echo(f"promoted {rec['strategy']} on run {rec['run_id']}: {rec['metrics']}")

"""``fw backtest`` and ``fw check lookahead``."""

from __future__ import annotations

from pathlib import Path

import typer

check_app = typer.Typer(help="Checks on strategies (look-ahead).", no_args_is_help=True)


def warn_ignored(manifest: dict) -> None:
    """One terminal warning per setting the run's strategy overrides (the manifest's
    ``ignored_settings``, see ``framework.engine.run_config.ignored_settings``)."""
    for item in manifest.get("ignored_settings", []):
        typer.secho(f"warning: {item['key']} = {item['value']!r} has no effect: {item['why']} "
                    "(recorded in manifest.json)", fg=typer.colors.YELLOW, err=True)


def backtest(
    config: Path = typer.Argument(None, help="Strategy TOML, e.g. strategies/ml_mr.toml."),  # noqa: B008
    set_: list[str] = typer.Option(None, "--set", help="Override a key: params.fast=5 (repeat)."),  # noqa: B008
    lake: Path = typer.Option(None, "--lake", help="Lake root (default: $FW_LAKE or ./data_lake)."),  # noqa: B008
    out: Path = typer.Option(None, "--out", help="Reports root (default: [backtest] reports)."),  # noqa: B008
    rerun_id: str = typer.Option(None, "--rerun", help="Re-run a saved run (its id under "
                                 "--out/reports, or its folder) and compare its result files "
                                 "with the originals."),
) -> None:
    """Backtest a strategy on the lake; writes results and an HTML tearsheet.

    With --rerun RUN_ID the saved run's manifest is replayed instead (no CONFIG): exit 0
    when every result file is byte-identical to the original, 1 when any differs."""
    from framework.analytics.run_report import report_backtest
    from framework.config import parse_overrides
    from framework.engine import run_folder
    from framework.engine.backtest import COMPARED_FILES, publish_run, rerun, run_backtest
    from framework.types.errors import FwError

    if rerun_id is not None:
        if config is not None or set_ or lake is not None:
            raise FwError("--rerun takes no CONFIG, --set or --lake: the run's manifest "
                          "fixes them")
        reports = out or Path("reports")
        run = rerun(rerun_id, reports, publish=False)
    elif config is None:
        raise FwError("give a strategy TOML (CONFIG) or --rerun RUN_ID")
    else:
        run = run_backtest(config, parse_overrides(set_ or []), lake_root=lake, out_root=out,
                           publish=False)
    warn_ignored(run.manifest)
    _, metrics = report_backtest(run)
    run = publish_run(run)
    page = run.out_dir / "tearsheet.html"
    rows = [("bars", f"{run.panel.n_bars:,} x {len(run.panel.symbols)} symbols"),
            ("orders", f"{run.result.orders.height:,} "
                       f"({run.result.risk_summary['orders_rejected']} rejected by risk)"),
            ("fills", f"{run.result.fills.height:,}")]
    rows += [(k, f"{v:.4f}" if isinstance(v, float) else str(v)) for k, v in metrics.items()]
    for k, v in rows:
        typer.echo(f"  {k:<24} {v}")
    if run.result.ignored:
        said = ", ".join(f"{k.replace('_', ' ')} x{v}" for k, v in run.result.ignored.items())
        typer.secho(f"warning: not acted on: {said} (metrics.json 'ignored')",
                    fg=typer.colors.YELLOW, err=True)
    typer.echo(f"results:   {run.out_dir}")
    typer.echo(f"tearsheet: {page} ({page.stat().st_size / 1e6:.1f} MB, self-contained)")
    if rerun_id is not None:
        original = Path(rerun_id) if Path(rerun_id).is_dir() else reports / rerun_id
        diffs = run_folder.compare(original, run.out_dir, COMPARED_FILES)
        was = run_folder.read_manifest(original)["code_version"]
        if was != run.manifest["code_version"]:
            typer.echo(f"note: code version {was} at the run, {run.manifest['code_version']} now")
        if not diffs:
            typer.echo(f"rerun of {original.name}: identical (every result file byte for byte)")
            return
        typer.secho(f"rerun of {original.name}: {len(diffs)} file(s) differ", fg="red")
        for d in diffs:
            typer.echo(f"  {d}")
        raise typer.Exit(1)


@check_app.command("lookahead")
def lookahead(
    config: Path = typer.Argument(..., help="Strategy TOML."),  # noqa: B008
    max_cuts: int = typer.Option(None, help="Cuts at (and just before) bars where a signal "  # noqa: B008
                                 "changes; past this many the change bars are sampled "
                                 "[default: MAX_CUTS, 200; MAX_CUTS_ON_BAR, 40, for an "
                                 "on_bar strategy]."),
    random_cuts: int = typer.Option(None, help="Extra cuts at random bars "  # noqa: B008
                                    "[default: framework.engine.lookahead.N_RANDOM]."),
    window: int = typer.Option(None, help="Bars of history before a change-driven cut; 0 "  # noqa: B008
                               "tests every cut on the whole data "
                               "[default: framework.engine.lookahead.WINDOW]."),
    seed: int = typer.Option(0, help="Seed of the sampled and random cuts and the shuffle."),
    lake: Path = typer.Option(None, "--lake", help="Lake root."),  # noqa: B008
) -> None:
    """Fail (exit 1) if cutting the data short, or scrambling it from the cut on, changes
    any signal before the cut."""
    from framework.engine import lookahead as la

    n_random = la.N_RANDOM if random_cuts is None else random_cuts
    rep = la.check_lookahead(config, max_cuts=max_cuts,
                             n_random=n_random, seed=seed,
                             window=la.WINDOW if window is None else window, lake_root=lake)
    for p in rep.problems:
        typer.secho(f"LOOK-AHEAD: {p}", fg=typer.colors.RED)
    if not rep.ok:
        raise typer.Exit(1)
    typer.echo(f"{rep.strategy}: no look-ahead at {len(rep.cuts)} cuts (at and before "
               f"{rep.change_bars} bars where a signal changes, {n_random} at random) of "
               f"{rep.n_bars:,} bars, each truncated and perturbed ({rep.seconds:.1f} s)")

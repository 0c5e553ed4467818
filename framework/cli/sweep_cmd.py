"""``fw sweep``: search a strategy's parameters (its TOML's ``[sweep]`` table) and write
the sweep report."""

from __future__ import annotations

from pathlib import Path

import typer


def sweep(
    config: Path = typer.Argument(..., help="Strategy TOML with a [sweep] table (or use --param)."),  # noqa: B008
    param: list[str] = typer.Option(None, "--param", help="Swept key: name=low:high[:step] or name=a,b,c (repeat)."),  # noqa: B008
    set_: list[str] = typer.Option(None, "--set", help="Override a fixed key: decision.size=0.05 (repeat)."),  # noqa: B008
    lake: Path = typer.Option(None, "--lake", help="Lake root (default: $FW_LAKE or ./data_lake)."),  # noqa: B008
    out: Path = typer.Option(None, "--out", help="Reports root (default: [backtest] reports)."),  # noqa: B008
    trials: int = typer.Option(None, "--trials", help="Trials to run (0: only report an existing study)."),  # noqa: B008
    sampler: str = typer.Option(None, "--sampler", help="grid, random, tpe or cmaes."),  # noqa: B008
    seed: int = typer.Option(None, "--seed", help="Sampler seed."),  # noqa: B008
    objective: str = typer.Option(None, "--objective", help="Metric to optimise, e.g. sharpe."),  # noqa: B008
    batch: int = typer.Option(None, "--batch", help="Trials asked at once (results depend on it, not on workers)."),  # noqa: B008
    workers: int = typer.Option(1, "--workers", help="Processes on this machine running trials."),  # noqa: B008
    dask: str = typer.Option(None, "--dask", help="Dask scheduler address (tcp://host:8786): trials on that cluster."),  # noqa: B008
    storage: str = typer.Option(None, "--storage", help="Optuna storage: a .journal file or an RDB URL (postgresql://...)."),  # noqa: B008
    study_name: str = typer.Option(None, "--study-name", help="Join or name the study (default: the sweep id)."),  # noqa: B008
    tearsheets: int = typer.Option(None, "--tearsheets", help="Best trials given a full tearsheet."),  # noqa: B008
) -> None:
    """Sweep a strategy's parameters (Optuna), walk-forward, with the overfitting report."""
    from rich.progress import Progress

    from framework.config import load_toml, parse_overrides
    from framework.engine.run_config import StrategyConfig
    from framework.sweep.report import write_report
    from framework.sweep.spec import load_spec
    from framework.sweep.study import run_sweep

    overrides = parse_overrides(set_ or [])
    cfg = load_toml(config, StrategyConfig, overrides)
    spec = load_spec(cfg.sweep, config, params=param or [],
                     options={"trials": trials, "sampler": sampler, "seed": seed,
                              "objective": objective, "batch": batch})
    where = f"dask {dask}" if dask else f"{workers} process{'es' if workers > 1 else ''}"
    typer.echo(f"sweeping {', '.join(spec.params)} of {cfg.name}: {spec.trials} trials, "
               f"{spec.sampler} (seed {spec.seed}), objective {spec.objective}, on {where}")
    with Progress() as prog:
        task = prog.add_task("trials", total=spec.trials or None)
        run = run_sweep(config, spec, overrides=overrides, lake_root=lake, out_root=out,
                        storage=storage, study_name=study_name, workers=workers, dask=dask,
                        progress=lambda done, total: prog.update(task, completed=done,
                                                                 total=total))
    page, res = write_report(run.study, run.out_dir, lake_root=lake, tearsheets=tearsheets)
    s = res.summary
    typer.echo(f"  engine                   {s['engine']}"
               + (f" ({s['engine_reason']})" if s.get("engine_reason") else ""))
    typer.echo(f"  trials                   {s['trials']} ({s['complete']} complete, "
               f"{s['failed']} failed, {s['pruned']} pruned)")
    if "best" in s:
        typer.echo(f"  best trial               {s['best']['trial']} {s['best']['params']}")
        typer.echo(f"  {spec.objective + ' in/out-of-sample':<24} {s['best']['value']:.4f} / "
                   f"{s['best']['oos_all'] if s['best']['oos_all'] is None else round(s['best']['oos_all'], 4)}")
    for key, label in (("dsr", "deflated Sharpe"), ("psr", "probabilistic Sharpe")):
        if key in s.get("winner", {}):
            typer.echo(f"  {label:<24} {s['winner'][key]:.4f}")
    if "pbo" in s:
        typer.echo(f"  {'PBO (CSCV)':<24} {s['pbo']['pbo']:.4f}")
    typer.echo(f"study:  {run.storage} ({run.sweep_id})")
    typer.echo(f"trials: {run.out_dir / 'trials.parquet'}")
    typer.echo(f"report: {page}")

"""``fw demo`` and ``fw train``: the README's first command, end to end, offline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # the lake and its settings import on use: `fw backtest` never needs them
    from framework.data import Lake
    from framework.data.settings import SyntheticConfig

FLAGSHIP = Path("strategies/ml_mr.toml")


def demo_universe(scfg: SyntheticConfig, null: bool) -> SyntheticConfig:
    """The demo's synthetic market: ``scfg`` with its planted effect on (the default)
    or the null control (``null``)."""
    universe = "null" if null else "planted"
    return scfg.model_copy(update={"effects": scfg.effects.model_copy(
        update={"universe": universe})})


def lake_universe(lake: Lake, symbols: list[str]) -> str | None:
    """The source tag of the lake's 1-minute bars of ``symbols`` (``synthetic-planted``,
    ``synthetic-null``, ...), or None when it does not hold them all."""
    import polars as pl

    if not (lake.root / "catalog.duckdb").exists():
        return None
    rows = {r["symbol"]: r["source"] for r in lake.catalog().filter(
        pl.col("dataset") == "bars_1m").iter_rows(named=True)}
    if not set(symbols) <= set(rows):
        return None
    return rows[symbols[0]]


def train(
    config: Path = typer.Argument(..., help="Strategy TOML with a [model] table."),  # noqa: B008
    set_: list[str] = typer.Option(None, "--set", help="Override a key (repeat)."),  # noqa: B008
    lake: Path = typer.Option(None, "--lake", help="Lake root (default: $FW_LAKE or ./data_lake)."),  # noqa: B008
) -> None:
    """Train the strategy's model walk-forward and register it under <lake>/models/."""
    from framework.config import parse_overrides
    from framework.engine.training import train_strategy

    info = train_strategy(config, parse_overrides(set_ or []), lake_root=lake)
    for k, v in info.items():
        typer.echo(f"  {k:<24} {v}")


def demo(
    lake: Path = typer.Option(None, "--lake", help="Lake root (default: $FW_LAKE or ./data_lake)."),  # noqa: B008
    strategy: Path = typer.Option(FLAGSHIP, help="Strategy TOML to train and backtest."),  # noqa: B008
    set_: list[str] = typer.Option(None, "--set", help="Override a key (repeat)."),  # noqa: B008
    out: Path = typer.Option(None, "--out", help="Reports root (default: [backtest] reports)."),  # noqa: B008
    null: bool = typer.Option(False, "--null", help="The control: the same synthetic "
                              "market with the planted effect switched off."),
) -> None:
    """Fill the lake from the synthetic default if empty, train, backtest, report.

    The synthetic market holds a planted effect (mean reversion after volume shocks in
    every symbol of the default universe, ``[synthetic.effects]`` of config/data.toml):
    a truth the flagship should find, planted strong enough to show in a two-month demo
    (hence its double-digit Sharpe, docs/research.md). ``--null`` generates the control universe instead (the same
    shocks, never reverting): there is nothing to find and promotion should reject."""
    from rich.progress import Progress

    from framework.analytics.run_report import report_backtest
    from framework.cli.backtest_cmd import warn_ignored
    from framework.cli.data_cmd import bars_from_trades_kernel
    from framework.config import parse_overrides
    from framework.data import Lake
    from framework.data.schemas import DataError
    from framework.data.settings import load_data_config
    from framework.data.sources.synthetic import ingest_synthetic, source_name
    from framework.engine.backtest import publish_run, run_backtest
    from framework.engine.run_config import load_strategy
    from framework.engine.training import train_strategy

    overrides = parse_overrides(set_ or [])
    lk = Lake(lake)
    cfg, _ = load_strategy(strategy, overrides, lk.root, prepare=False)
    scfg = demo_universe(load_data_config(None).synthetic, null)
    fx = scfg.effects
    typer.echo(
        "universe: NULL control: liquidity shocks that never revert, nothing planted to "
        "find" if null else
        f"universe: PLANTED: {fx.revert:.0%} of each volume-shock push "
        f"(p={fx.shock_prob:g}/min, sigma {fx.shock_sigma * 1e4:.0f} bps) reverts over "
        f"{fx.revert_minutes} min in {', '.join(fx.symbols)} ({fx.regime} regime); "
        "`fw demo --null` runs the control")
    held = lake_universe(lk, cfg.symbols)
    if held is not None and held != source_name(scfg):
        raise DataError(f"lake {lk.root} holds the '{held}' bars, not "
                        f"'{source_name(scfg)}': pass --lake with a fresh folder")
    if held is None:
        typer.echo(f"[1/3] filling {lk.root} from the synthetic default "
                   f"({', '.join(scfg.symbols)}, {scfg.start} .. {scfg.end}, seed {scfg.seed})")
        with Progress() as prog, lk.transaction("fw demo: synthetic default"):
            task = prog.add_task("synthetic", total=len(scfg.symbols))
            ingest_synthetic(lk, scfg, bars_from_trades_kernel(),
                             progress=lambda s: prog.advance(task))
    else:
        typer.echo(f"[1/3] lake {lk.root} already holds {', '.join(cfg.symbols)}")
    if cfg.model is not None:
        typer.echo(f"[2/3] training {cfg.model.name} ({cfg.model.kind}) walk-forward")
        for k, v in train_strategy(strategy, overrides, lake_root=lk.root).items():
            typer.echo(f"  {k:<24} {v}")
    else:
        typer.echo("[2/3] nothing to train")
    typer.echo(f"[3/3] backtesting {strategy}")
    run = run_backtest(strategy, overrides, lake_root=lk.root, out_root=out, publish=False)
    warn_ignored(run.manifest)
    _, metrics = report_backtest(run)
    run = publish_run(run)
    page = run.out_dir / "tearsheet.html"
    for k, v in metrics.items():
        typer.echo(f"  {k:<24} {v:.4f}" if isinstance(v, float) else f"  {k:<24} {v}")
    typer.echo(f"results:   {run.out_dir}")
    typer.echo(f"tearsheet: {page}")

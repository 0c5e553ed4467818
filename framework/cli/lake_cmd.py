"""``fw data verify | repair | delete | review``: checking and maintaining the lake."""

from __future__ import annotations

from pathlib import Path

import typer

_LAKE_HELP = "Lake root (default: $FW_LAKE or ./data_lake)."


def verify(
    dataset: list[str] = typer.Option(None, "--dataset", help="Datasets to check (default all)."),  # noqa: B008
    symbols: list[str] = typer.Option(None, "--symbols", "-s"),  # noqa: B008
    lake: Path = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
    export: Path = typer.Option(None, "--export", help="Also write every finding to this "  # noqa: B008
                                "file: .parquet or .csv."),
) -> None:
    """Check the files against the catalog (sha256) and the data (quality checks).

    Files: readable, unchanged since written (sha256), catalogued, present. Data:
    duplicates, XNYS gaps, non-positive/crossed prices, OHLC, outliers within sessions.
    Prints a summary per dataset, symbol and check, then the findings. Exits 1 when any
    hard finding (a damaged file or a failed hard check) exists."""
    import polars as pl
    from rich.console import Console
    from rich.table import Table

    from framework.cli.data_cmd import _symbols
    from framework.data import Lake
    from framework.data.quality import FINDINGS_SCHEMA
    from framework.data.schemas import DataError

    if export is not None and export.suffix not in (".parquet", ".csv"):
        raise DataError(f"--export {export}: expected a .parquet or .csv file name")
    reps = Lake(lake).verify(dataset or None, _symbols(symbols) or None)
    summary = Table("data", "rows", "check", "severity", "rows flagged", title="summary")
    detail = Table("data", "check", "severity", "where", "column", "detail", title="findings")
    hard = 0
    for rep in reps:
        if not rep.findings:
            summary.add_row(rep.origin, f"{rep.rows:,}", "ok", "", "")
        sev = {f.check: f.severity for f in rep.findings}
        for check, n in sorted(rep.counts.items()):
            summary.add_row(rep.origin, f"{rep.rows:,}", check, sev.get(check, ""), f"{n:,}")
        for f in rep.findings:
            hard += f.severity == "hard"
            detail.add_row(rep.origin, f.check, f.severity, "" if f.row < 0 else f.where,
                           f.column, f.message[:200])
    console = Console(width=220)
    console.print(summary)
    if detail.row_count:
        console.print(detail)
    if export is not None:
        frame = pl.concat([r.to_frame() for r in reps]) if reps else pl.DataFrame(
            schema=FINDINGS_SCHEMA)
        export.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(export) if export.suffix == ".parquet" else frame.write_csv(export)
        typer.echo(f"{frame.height:,} finding(s) written to {export}")
    if hard:
        typer.secho(f"{hard} hard finding(s): `fw data repair` quarantines damaged files",
                    fg="red", err=True)
        raise typer.Exit(1)


def repair(
    lake: Path = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would be done."),
) -> None:
    """Quarantine damaged files and rebuild the catalog.

    Every partition file that is unreadable or changed since it was written moves to
    <lake>/quarantine/<time>/; the catalog is rebuilt from the files left; the output says
    which days to re-ingest from which source."""
    from framework.data import Lake

    lk = Lake(lake)
    rep = lk.repair(dry_run=dry_run)
    for p in rep.problems:
        action = ("quarantine" if p.damaged else "re-index") if dry_run else (
            "quarantined" if p.damaged else "re-indexed")
        typer.echo(f"{action}: {p.message}")
    damaged = [p for p in rep.problems if p.damaged]
    if dry_run:
        typer.echo(f"dry run: {len(damaged)} damaged file(s), {len(rep.problems)} problem(s); "
                   "nothing changed")
        return
    if rep.quarantine is not None:
        typer.echo(f"moved {len(damaged)} file(s) to {rep.quarantine} (reasons.json there)")
    typer.echo(f"catalog rebuilt: {rep.partitions:,} partition(s)")
    for p in damaged:
        typer.echo(f"re-ingest: {p.dataset} {p.symbol} {p.date} (source: "
                   f"{p.source or 'unknown'})")


def delete(
    dataset: list[str] = typer.Option(..., "--dataset", help="Dataset(s) to delete from."),  # noqa: B008
    symbols: list[str] = typer.Option(..., "--symbols", "-s", help="Tickers (repeat or "  # noqa: B008
                                      "comma-separate)."),
    start: str = typer.Option(None, help="First session date YYYY-MM-DD (default: the first)."),
    end: str = typer.Option(None, help="Last session date YYYY-MM-DD, inclusive (default: the "
                            "last)."),
    lake: Path = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be deleted; change "
                                 "nothing."),
) -> None:
    """Delete partitions (whole session dates) from the lake, in one commit.

    Every partition of the --dataset(s) x --symbols with a session date from --start to
    --end (inclusive) goes, files and catalog together. --dry-run lists them only."""
    from framework.cli.data_cmd import _date, _symbols
    from framework.data import Lake
    from framework.data.schemas import DataError

    d0, d1 = _date(start, "start"), _date(end, "end")
    if d0 and d1 and d0 > d1:
        raise DataError(f"--start {d0} is after --end {d1}")
    lk = Lake(lake)
    gone = lk.delete(list(dataset), _symbols(symbols), d0, d1, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for ds, sym, day, path, rows in gone:
        typer.echo(f"{verb}: {ds} {sym} {day} ({rows:,} rows) {path}")
    total = sum(max(r, 0) for *_, r in gone)
    typer.echo(f"{verb} {len(gone)} partition(s), {total:,} rows"
               + ("; nothing changed (dry run)" if dry_run else ""))


review_app = typer.Typer(help="Writes held for review (absurd prices or sizes): list, accept, "
                         "drop.", no_args_is_help=True)


@review_app.command("list")
def review_list(lake: Path = typer.Option(None, "--lake", help=_LAKE_HELP)) -> None:  # noqa: B008
    """List the writes held for review, with why."""
    from framework.data import Lake
    from framework.data.review import held

    items = held(Lake(lake).root)
    for m in items:
        typer.echo(f"{m['id']}: {m['dataset']} {m['symbol']} from {m['origin']} "
                   f"({m['rows']:,} rows)")
        for f in m["findings"]:
            typer.echo(f"  {f}")
    if not items:
        typer.echo("nothing held for review")


@review_app.command("accept")
def review_accept(
    held_id: str = typer.Argument(..., help="Id from `fw data review list`."),
    lake: Path = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
) -> None:
    """Write a held write to the lake as it is, and discard the hold."""
    from framework.data import Lake

    rep = Lake(lake).review_accept(held_id)
    typer.echo(f"wrote {rep.rows:,} rows of {rep.dataset} {rep.symbol} "
               f"({len(rep.partitions)} partition(s))")


@review_app.command("drop")
def review_drop(
    held_id: str = typer.Argument(..., help="Id from `fw data review list`."),
    lake: Path = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
) -> None:
    """Discard a held write."""
    from framework.data import Lake
    from framework.data.review import drop

    meta = drop(Lake(lake).root, held_id)
    typer.echo(f"dropped {meta['rows']:,} rows of {meta['dataset']} {meta['symbol']}")


def register(data_app: typer.Typer) -> None:
    """Add these commands to ``fw data``."""
    data_app.command()(verify)
    data_app.command()(repair)
    data_app.command()(delete)
    data_app.add_typer(review_app, name="review")

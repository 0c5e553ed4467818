"""Entry point of the ``fw`` console script."""

from __future__ import annotations

import sys

import typer

from framework.cli import backtest_cmd, data_cmd, demo_cmd, live_cmd, venue_cmd
from framework.types.errors import FwError

app = typer.Typer(
    name="fw",
    help="fw: research-first algorithmic trading for US equities.\n\n"
    "Data lake (Parquet + DuckDB) -> bars/book/features -> strategy -> risk -> "
    "execution -> simulated venue or Alpaca paper.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data_cmd.app, name="data")
app.command("backtest")(backtest_cmd.backtest)
app.add_typer(backtest_cmd.check_app, name="check")
app.command("train")(demo_cmd.train)
app.command("demo")(demo_cmd.demo)
app.command("venue")(venue_cmd.venue)
app.add_typer(live_cmd.app, name="live")
app.command("promote")(live_cmd.promote)


def main() -> None:
    """Run the CLI; user-facing errors print one clear message and exit 2."""
    try:
        app()
    except FwError as err:
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()

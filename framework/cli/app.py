"""Entry point of the ``fw`` console script.

Every error ends as one line on stderr: a user-facing ``FwError`` as its message (which
names the file, row, key or message at fault; exit 2), anything else as its type,
message and the innermost place it came from (exit 1). ``fw --debug ...`` (or
``FW_DEBUG=1``) shows the full traceback instead.
"""

from __future__ import annotations

import os
import sys
import traceback

import typer

from framework.cli import (
    backtest_cmd,
    data_cmd,
    demo_cmd,
    live_cmd,
    monitor_cmd,
    new_cmd,
    sweep_cmd,
    venue_cmd,
)
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
app.command("sweep")(sweep_cmd.sweep)
app.command("train")(demo_cmd.train)
app.command("demo")(demo_cmd.demo)
app.add_typer(new_cmd.app, name="new")
app.command("venue")(venue_cmd.venue)
app.add_typer(monitor_cmd.app, name="monitor")
app.add_typer(live_cmd.app, name="live")
app.command("promote")(live_cmd.promote)


@app.callback()
def _options(debug: bool = typer.Option(False, "--debug",  # noqa: B008
                                        help="On an error, show the full traceback.")) -> None:
    """``--debug`` is read by :func:`main` (it decides what an error prints)."""


def _debug() -> bool:
    """``fw --debug ...`` or ``FW_DEBUG=1``."""
    return sys.argv[1:2] == ["--debug"] or bool(os.environ.get("FW_DEBUG"))


def one_line(message: str) -> str:
    """A possibly multi-line message as one line: its lines joined with '; ' (a line
    ending in ':' introduces the next one)."""
    parts = [ln.strip().removeprefix("- ").strip() for ln in message.splitlines() if ln.strip()]
    out = ""
    for p in parts:
        out = p if not out else (f"{out} {p}" if out.endswith(":") else f"{out}; {p}")
    return out


def _origin(err: BaseException) -> str:
    """file:line of the innermost frame the error passed through."""
    frames = traceback.extract_tb(err.__traceback__)
    if not frames:
        return ""
    f = frames[-1]
    return f" (at {f.filename}:{f.lineno} in {f.name})"


def main() -> None:
    """Run the CLI; errors print one line (see the module doc) unless --debug."""
    try:
        app()
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)
    except FwError as err:
        if _debug():
            raise
        typer.secho(f"error: {one_line(str(err))}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except MemoryError as err:
        if _debug():
            raise
        typer.secho(f"error: out of memory{_origin(err)}: {err or 'MemoryError'}; free memory "
                    "or narrow the request (fewer symbols or dates)", fg=typer.colors.RED,
                    err=True)
        sys.exit(2)
    except Exception as err:
        if _debug():
            raise
        typer.secho(f"error: {type(err).__name__}: {one_line(str(err))}{_origin(err)}; "
                    "run `fw --debug ...` for the traceback", fg=typer.colors.RED, err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

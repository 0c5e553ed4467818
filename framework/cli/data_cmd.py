"""``fw data ...``: ingest, list, show and verify lake datasets."""

import typer

app = typer.Typer(help="Manage the data lake: ingest, list, show, verify.", no_args_is_help=True)

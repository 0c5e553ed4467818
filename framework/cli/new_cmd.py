"""``fw new strategy NAME``: a commented strategy (code + TOML + pytest test) that runs as
written, in a folder of the user's own repository."""

from __future__ import annotations

import importlib.util
import keyword
import re
from pathlib import Path
from string import Template

import typer

from framework.types.errors import FwError

app = typer.Typer(help="Write starting points: a new strategy.", no_args_is_help=True)

TEMPLATES = Path(__file__).with_name("templates")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class NewStrategyError(FwError):
    """A strategy cannot be written there under that name."""


def _package(folder: Path) -> str:
    """The importable name of ``folder`` (its TOML's parent is a search root), refused when
    not an identifier or when an installed package of that name would hide it."""
    pkg = folder.name
    if not pkg.isidentifier() or keyword.iskeyword(pkg):
        raise NewStrategyError(f"--dir {folder}: the folder name '{pkg}' is not a Python "
                               "package name (letters, digits, _), so its modules cannot be "
                               "imported")
    spec = importlib.util.find_spec(pkg)
    where = [Path(p).resolve() for p in (spec.submodule_search_locations or [])] if spec else []
    if spec is not None and folder not in where:
        found = where[0] if where else spec.origin
        raise NewStrategyError(f"--dir {folder}: '{pkg}' is already an importable package "
                               f"({found}), which would hide this folder; choose another "
                               "folder name")
    return pkg


def write_strategy(name: str, folder: Path) -> list[Path]:
    """Write ``NAME.py``, ``NAME.toml`` and ``test_NAME.py`` into ``folder`` (created);
    refuses to overwrite any file. Returns the paths written."""
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise NewStrategyError(f"strategy name '{name}': use lower-case letters, digits and "
                               "_ starting with a letter (it becomes a module name)")
    folder = folder.absolute().resolve()
    module = f"{_package(folder)}.{name}"
    targets = {"strategy.py.tmpl": folder / f"{name}.py",
               "strategy.toml.tmpl": folder / f"{name}.toml",
               "test_strategy.py.tmpl": folder / f"test_{name}.py"}
    taken = [str(p) for p in targets.values() if p.exists()]
    if taken:
        raise NewStrategyError(f"not overwriting {', '.join(taken)}")
    try:
        rel = folder.relative_to(Path.cwd().resolve())
    except ValueError:
        rel = folder
    values = {"name": name, "cls": "".join(w.capitalize() for w in name.split("_") if w),
              "module": module, "toml": (rel / f"{name}.toml").as_posix(),
              "test": (rel / f"test_{name}.py").as_posix()}
    folder.mkdir(parents=True, exist_ok=True)
    for tmpl, path in targets.items():
        path.write_text(Template((TEMPLATES / tmpl).read_text()).substitute(values))
    return list(targets.values())


@app.command("strategy")
def strategy(
    name: str = typer.Argument(..., help="Module name of the strategy, e.g. breakout."),
    dir_: Path = typer.Option(Path("mystrats"), "--dir", help="Folder to write into "  # noqa: B008
                              "(created; its name is the package the TOML imports)."),
) -> None:
    """Write DIR/NAME.py (the strategy), DIR/NAME.toml and DIR/test_NAME.py."""
    for path in write_strategy(name, dir_):
        typer.echo(f"wrote {path}")
    typer.echo(f"next: fw backtest {dir_ / name}.toml")

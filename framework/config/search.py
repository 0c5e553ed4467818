"""Where fw looks for what a strategy TOML names: its Python module and files it refers to.

One rule for every command that loads a strategy (``fw backtest``, ``fw train``, ``fw check
lookahead``, and the live and sweep drivers through the same loader): a relative name is
looked up, in this order, under

1. the working directory,
2. the folder holding the TOML,
3. that folder's parent (so ``mystrats/rsi2.toml`` can name ``mystrats.rsi2``).

Installed packages come first for module imports (the roots are appended to ``sys.path``,
never put in front of it, so a user's file can never shadow a library fw relies on).
"""

from __future__ import annotations

from pathlib import Path

from framework.config.errors import ConfigError


def _labelled_roots(config_path: str | Path) -> list[tuple[Path, str]]:
    here = Path(config_path).absolute().parent.resolve()
    out: list[tuple[Path, str]] = []
    for root, label in ((Path.cwd().resolve(), "the working directory"),
                        (here, "the TOML's folder"), (here.parent, "its parent")):
        if all(root != seen for seen, _ in out):
            out.append((root, label))
    return out


def search_roots(config_path: str | Path) -> tuple[Path, ...]:
    """The folders (absolute, without repeats) a strategy TOML's relative names are
    looked up in: the working directory, the TOML's folder, its parent."""
    return tuple(root for root, _ in _labelled_roots(config_path))


def describe_roots(config_path: str | Path) -> str:
    """The search roots in order, each with why it is searched (for error messages)."""
    return ", ".join(f"{root} ({label})" for root, label in _labelled_roots(config_path))


def find_file(name: str | Path, config_path: str | Path, key: str) -> Path:
    """Resolve a file named by ``key`` of the TOML at ``config_path``: an absolute path as
    is, a relative one under the first :func:`search_roots` folder that holds it.
    ``ConfigError`` names the TOML, the key and the folders searched."""
    path = Path(name)
    if path.is_absolute():
        if path.is_file():
            return path
        raise ConfigError(str(config_path), [f"key '{key}': file {path} not found"])
    for root in search_roots(config_path):
        if (root / path).is_file():
            return root / path
    raise ConfigError(str(config_path), [f"key '{key}': file {path} not found under "
                                         f"{describe_roots(config_path)}"])

"""The stage order of imports (DESIGN.md, docs/architecture.md): a stage imports only from
stages to its left and from the shared ``types``/``config``; ``live/`` imports
``framework/``, never the reverse. Imports are read with ``ast`` (function-level and
``TYPE_CHECKING`` ones included); the order is the package table of docs/architecture.md.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# Imports against the order that stay, each with its reason (checked still to exist).
ALLOWED = {
    ("framework/cli/live_cmd.py", "live.runner"):
        "`fw live` is a command of the one `fw` CLI: it imports the live driver lazily, "
        "when the command runs (a plugin entry point would remove it)",
    ("framework/cli/live_cmd.py", "live.panel"):
        "the terminal panel of `fw live`, imported lazily with the live driver",
    ("framework/cli/venue_cmd.py", "live.venue.cli"):
        "`fw venue` runs the local venue of live/, imported lazily as for `fw live`",
    ("framework/cli/venue_cmd.py", "live.venue.config"):
        "`fw venue`'s settings live with the venue in live/, imported lazily",
}


def stage_order() -> tuple[list[str], set[str]]:
    """(stages left to right, shared packages) from docs/architecture.md's package table."""
    rows = re.findall(r"^\| `framework/(\w+)` \| ([^|]+) \|", ARCHITECTURE.read_text(), re.M)
    shared = {pkg for pkg, stage in rows if stage.strip() == "shared"}
    return [pkg for pkg, _ in rows if pkg not in shared], shared


def imports(source: str) -> list[str]:
    """Absolute module names ``source`` imports (anywhere in it)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append(node.module)
    return out


def violations(files: dict[str, str]) -> list[tuple[str, str]]:
    """(file, module) of each import against the stage order in ``files`` (path -> text)."""
    order, shared = stage_order()
    rank = {pkg: i for i, pkg in enumerate(order)}
    bad = []
    for path, text in files.items():
        parts = Path(path).parts
        if parts[0] != "framework" or len(parts) < 3:
            continue  # live/ may import anything of framework; framework/__init__.py: types
        src = parts[1]
        for mod in imports(text):
            top = mod.split(".")
            if top[0] == "live":
                bad.append((path, mod))
            elif top[0] == "framework" and len(top) > 1 and top[1] != src \
                    and top[1] not in shared and src not in shared:
                if top[1] not in rank or src not in rank or rank[top[1]] > rank[src]:
                    bad.append((path, mod))
            elif top[0] == "framework" and src in shared and len(top) > 1 \
                    and top[1] not in shared:
                bad.append((path, mod))
    return bad


def _tree() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text() for p in ROOT.glob("framework/**/*.py")}


def test_the_table_lists_every_framework_package():
    order, shared = stage_order()
    packages = {p.name for p in (ROOT / "framework").iterdir()
                if (p / "__init__.py").exists()}
    assert set(order) | shared == packages
    assert shared == {"types", "config"}


def test_no_import_runs_against_the_stage_order():
    found = violations(_tree())
    unexpected = [v for v in found if v not in ALLOWED]
    assert unexpected == [], "imports against the stage order (docs/architecture.md):\n" + \
        "\n".join(f"  {f}: {m}" for f, m in unexpected)
    stale = [k for k in ALLOWED if k not in found]
    assert stale == [], f"listed exceptions that no longer occur (remove them): {stale}"


def test_an_import_to_the_right_or_of_live_is_caught():
    files = {
        "framework/features/x.py": "def f():\n    from framework.engine import backtest\n",
        "framework/risk/y.py": "import live.runner\nfrom framework.types import Side\n",
        "framework/types/z.py": "from framework.data import Lake\n",
        "framework/engine/ok.py": "from framework.strategy import Strategy\n",
    }
    assert violations(files) == [("framework/features/x.py", "framework.engine"),
                                 ("framework/risk/y.py", "live.runner"),
                                 ("framework/types/z.py", "framework.data")]

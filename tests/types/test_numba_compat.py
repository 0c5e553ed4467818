"""fw's numba cache keying (``framework.types.jit_cache`` through ``numba_compat``): a
kernel recompiles after a code edit in any module it can reach, and keeps its cache
after an edit to a comment or docstring or to a module it cannot reach. The private
numba API it uses is checked against the numba releases pyproject.toml names."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numba
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import numba.core.caching as caching
import framework
# lazy: importing framework alone leaves numba's locators alone
assert not any("CodeKeyed" in c.__name__ for c in caching.CacheImpl._locator_classes)
import numpy as np
from framework.risk.dtypes import RISK_STATE_DTYPE
from framework.risk.hooks import entries_paused
assert entries_paused(np.zeros(1, RISK_STATE_DTYPE)) is False
st = entries_paused.stats
print(sum(st.cache_hits.values()), sum(st.cache_misses.values()))
"""


def test_numba_release_is_one_the_compat_module_was_tested_with() -> None:
    tested = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["fw"]["numba-compat"]
    major_minor = ".".join(numba.__version__.split(".")[:2])
    assert major_minor in tested["tested"], (
        f"numba {numba.__version__}: check framework/types/numba_compat.py against it, then "
        "add it to [tool.fw.numba-compat] tested in pyproject.toml")


def test_every_private_use_works_on_this_numba() -> None:
    import numba.core.caching as caching

    from framework.risk.dtypes import RISK_STATE_DTYPE
    from framework.risk.hooks import entries_paused
    from framework.types import numba_compat as C

    assert C.install_cache_keying() and C.install_cache_keying()  # idempotent
    names = [c.__name__ for c in caching.CacheImpl._locator_classes]
    assert sum(n.startswith("CodeKeyed") for n in names) == 2
    assert C.locator_name(entries_paused).startswith("CodeKeyed")
    # numba's own files keep numba's locators
    assert caching.CacheImpl._locator_classes[0].from_function(
        caching.CacheImpl.__init__, caching.__file__) is None
    entries_paused(np.zeros(1, RISK_STATE_DTYPE))
    cached = C.cached_arg_types(entries_paused)
    assert cached is not None and [str(a) for a in cached[0]] == [
        str(numba.typeof(np.zeros(1, RISK_STATE_DTYPE)))]
    assert entries_paused.targetoptions.get("_nrt") is False  # the runtime-free option held


BLAS_SCRIPT = """
import sys
import numpy as np
from framework.types.jit import njit

@njit
def dot(a, b):
    return np.dot(a, b)

import numba.np.arraymath as arraymath
# numba's registries are imported without scipy.linalg, BLAS still counted as there
assert "scipy.linalg" not in sys.modules and arraymath._HAVE_BLAS
print(dot(np.arange(3.0), np.arange(3.0)), "scipy.linalg.cython_blas" in sys.modules)
"""


def test_numbas_blas_probe_waits_for_a_kernel_that_calls_blas() -> None:
    """``defer_blas_import``: loading numba's array registries does not import
    scipy.linalg; a kernel calling BLAS still compiles through numba's real check."""
    out = subprocess.run([sys.executable, "-c", BLAS_SCRIPT], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.split() == ["5.0", "True"]


def test_the_engine_loop_does_not_depend_on_analytics() -> None:
    from framework.types import jit_cache

    files = {p.relative_to(ROOT).as_posix() for p in
             jit_cache.closure(ROOT / "framework/engine/event/kernels.py")}
    assert {"framework/engine/event/kernels.py", "framework/execution/orders.py",
            "framework/risk/hooks.py", "framework/types/jit.py"} <= files
    assert not any(f.startswith("framework/analytics/") for f in files)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A private copy of the package (edits here touch no other test's files)."""
    shutil.copytree(ROOT / "framework", tmp_path / "framework",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _run(tree: Path) -> list[str]:
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tree, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(tree),
                                         "NUMBA_CACHE_DIR": str(tree / "numba-cache")})
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.split()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_comments_docstrings_and_unreachable_modules_keep_the_cache_code_does_not(
        tree: Path) -> None:
    hooks = tree / "framework/risk/hooks.py"
    assert _run(tree) == ["0", "1"]  # empty cache: compiled
    assert _run(tree) == ["1", "0"]  # loaded
    # a comment (shifting the kernel's lines) and docstrings in the kernel's own module
    _edit(hooks, "from __future__ import annotations\n",
          "from __future__ import annotations\n\n# a new comment\n# over two lines\n")
    _edit(hooks, '"""True while the kill switch', '"""Edited docstring. True while the kill switch')
    _edit(hooks, '"""The risk hooks both drivers call', '"""Edited. The risk hooks both drivers call')
    assert _run(tree) == ["1", "0"]
    # a module the kernel cannot reach
    (tree / "framework/analytics/__init__.py").open("a").write("\nEDITED = 1\n")
    assert _run(tree) == ["1", "0"]
    # code in a module the kernel's module imports
    (tree / "framework/risk/kernels_checks.py").open("a").write("\nEDITED = 2\n")
    assert _run(tree) == ["0", "1"]
    assert _run(tree) == ["1", "0"]
    # code in the kernel's own module, outside the kernel
    hooks.open("a").write("\nEDITED = 3\n")
    assert _run(tree) == ["0", "1"]

"""numba's cache is keyed on the whole framework tree: a kernel compiled before a change
anywhere in ``framework`` is recompiled after it, never loaded stale; unchanged, it is
loaded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from framework.types import jit_cache
if sys.argv[1] == "edited":  # what an edit to any framework file does to the stamp
    jit_cache.tree_stamp = lambda: "another tree"
import numpy as np
from framework.risk.dtypes import RISK_STATE_DTYPE
from framework.risk.hooks import entries_paused
entries_paused(np.zeros(1, RISK_STATE_DTYPE))
st = entries_paused.stats
print(sum(st.cache_hits.values()), sum(st.cache_misses.values()))
"""


def _run(tmp_path: Path, mode: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.split()


def test_a_change_in_the_tree_recompiles_and_no_change_loads(tmp_path: Path) -> None:
    assert _run(tmp_path, "same") == ["0", "1"]  # empty cache: compiled
    assert _run(tmp_path, "same") == ["1", "0"]  # loaded
    assert _run(tmp_path, "edited") == ["0", "1"]  # the tree changed: compiled again
    assert _run(tmp_path, "edited") == ["1", "0"]


def test_only_this_repository_is_restamped() -> None:
    import numba.core.caching as caching

    from framework.risk.hooks import entries_paused
    from framework.types import jit_cache

    assert jit_cache.install()  # idempotent: already installed on import
    names = [c.__name__ for c in caching.CacheImpl._locator_classes]
    assert sum(n.startswith("TreeStamped") for n in names) == 2
    assert type(entries_paused._cache._impl._locator).__name__.startswith("TreeStamped")
    outside = caching.CacheImpl._locator_classes[0].from_function(
        caching.CacheImpl.__init__, caching.__file__)
    assert outside is None  # numba's own files keep numba's locators

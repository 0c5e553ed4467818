"""numba's disk cache, keyed on the whole ``framework`` source tree, not one file.

numba checks a cached function against its own source file only: after an edit to a
module a kernel *calls* (a risk hook, an order-status code, a fill rule), the caller
keeps loading its old machine code, silently running the old rule. Here every function
defined in ``framework`` or, in a checkout, its sibling folders (``strategies``, ``live``,
``research``, ``benchmarks``, ``tests``) is cached with a stamp that also covers the
content of every ``framework`` ``.py`` file, so any change there recompiles them. Coarse (an edit anywhere in the
package recompiles everything once) but never stale. Functions of other packages keep
numba's own locators.

Installed on import of ``framework`` (before any kernel is decorated), by prepending
two locator classes to numba's list; a numba release without that list leaves numba's
per-file behaviour in place.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from numba.core import caching

PACKAGE = Path(__file__).resolve().parents[1]  # framework/
# the code that calls framework kernels from its own: the package and, in a checkout,
# its sibling folders (not the rest of site-packages when installed)
RESTAMPED = (PACKAGE, *(PACKAGE.parent / d for d in
                        ("strategies", "live", "research", "benchmarks", "tests")))


@functools.cache
def tree_stamp() -> str:
    """SHA-256 of every ``framework/**/*.py`` (path and content): ~3 ms once a process."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        h.update(str(path.relative_to(PACKAGE)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


class _TreeStamped:
    """Mixin: numba's per-file stamp plus the package stamp, for files in ``RESTAMPED``."""

    def get_source_stamp(self):
        return super().get_source_stamp(), tree_stamp()

    @classmethod
    def from_function(cls, py_func, py_file):
        path = Path(py_file).resolve()
        if not any(path.is_relative_to(d) for d in RESTAMPED):
            return None
        return super().from_function(py_func, py_file)


def install() -> bool:
    """Put the tree-stamped locators first in numba's list (idempotent); False if this
    numba has no such list."""
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    bases = [getattr(caching, n, None) or getattr(caching, "_" + n, None)
             for n in ("UserProvidedCacheLocator", "InTreeCacheLocator")]
    if impl is None or not isinstance(getattr(impl, "_locator_classes", None), list) \
            or None in bases:
        return False
    if any(issubclass(c, _TreeStamped) for c in impl._locator_classes):
        return True
    ours = [type("TreeStamped" + b.__name__.lstrip("_"), (_TreeStamped, b),
                 {"__module__": __name__})
            for b in bases]
    impl._locator_classes[:0] = ours
    return True

"""Every use of numba's private API in fw, behind one door.

numba documents ``njit``, ``overload``, ``intrinsic`` and the dispatcher's ``py_func``,
``signatures`` and ``stats``; what fw needs beyond that is here, each with what happens
when a numba release moves it. ``tests/types/test_numba_compat.py`` exercises each use
and fails on a numba version not listed in ``pyproject.toml``'s
``[tool.fw.numba-compat] tested``, so an upgrade is checked here before it ships.

- :func:`install_cache_keying`: numba's ``CacheImpl._locator_classes`` gets two locators
  first in line that key fw's kernels on the code they can reach
  (``framework.types.jit_cache``). Gone: numba's per-file keying stays (a kernel may then
  run stale code after an edit to a module it calls; a cleared cache fixes that).
- :data:`NO_RUNTIME`: the dispatcher option ``_nrt=False`` (used by numba's own tests);
  gone: drop it and every kernel stays correct, only slower (``framework.types.jit``).
- :func:`cached_arg_types`: the argument types a dispatcher's disk cache holds compiles
  for (``_cache._cache_file._load_index``); gone: ``None``, and the event engine's warm-up
  behaves as if the loop were cached.
- :func:`defer_blas_import`: ``numba.np.arraymath`` asks at import whether a BLAS is
  there by importing ``scipy.linalg`` (0.5-0.8 s of CPU, paid by every process that loads
  a cached kernel, none of which calls BLAS); it is imported once with the question
  answered by ``scipy`` being installed, and numba's real check still runs (and imports
  scipy) when a kernel calling BLAS compiles. Gone: numba's own eager check stays.
- ``cgutils``: numba's code-generation helpers, for the one ``intrinsic``
  (``framework.types.prefetch``).
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from numba.core import caching, cgutils  # noqa: F401  (cgutils: re-exported, see module)

from framework.types import jit_cache

NO_RUNTIME: dict[str, Any] = {"_nrt": False}


class _CodeKeyed:
    """Mixin over a numba locator: for a file under ``jit_cache.RESTAMPED``, the stamp is
    the code closure's digest (not the file's mtime) and the file name carries the
    function's code digest (not its line)."""

    def get_source_stamp(self):
        return jit_cache.closure_digest(self._py_file)

    def get_disambiguator(self):
        return jit_cache.code_digest(self._py_func)

    @classmethod
    def from_function(cls, py_func, py_file):
        if not jit_cache.restamped(py_file):
            return None
        locator = super().from_function(py_func, py_file)
        if locator is not None:
            locator._py_func = py_func
        return locator


def install_cache_keying() -> bool:
    """Put the code-keyed locators first in numba's list (idempotent, ~µs once done); False
    if this numba has no such list (numba's per-file keying then stays)."""
    impl = getattr(caching, "CacheImpl", None)
    if impl is None or not isinstance(getattr(impl, "_locator_classes", None), list):
        return False
    if any(issubclass(c, _CodeKeyed) for c in impl._locator_classes):
        return True
    bases = [getattr(caching, n, None) for n in ("UserProvidedCacheLocator", "InTreeCacheLocator")]
    if None in bases:
        return False
    impl._locator_classes[:0] = [
        type("CodeKeyed" + b.__name__, (_CodeKeyed, b), {"__module__": __name__}) for b in bases]
    return True


def defer_blas_import() -> bool:
    """Import ``numba.np.arraymath`` without its eager ``scipy.linalg`` import (see the
    module docstring); True once it is imported that way or already was, False if numba
    moved the check (``ensure_blas`` in ``numba.np.linalg`` and ``numba.np.arraymath``)."""
    if "numba.np.arraymath" in sys.modules:
        return True
    from numba.np import linalg

    real = getattr(linalg, "ensure_blas", None)
    if real is None:
        return False

    def scipy_installed() -> None:  # what the real check concludes, without the import
        if importlib.util.find_spec("scipy") is None:
            raise ImportError("scipy is required for linear algebra")

    linalg.ensure_blas = scipy_installed
    try:
        from numba.np import arraymath
    finally:
        linalg.ensure_blas = real
    if getattr(arraymath, "ensure_blas", None) is scipy_installed:
        arraymath.ensure_blas = real  # later callers get the real check
    return True


def cached_arg_types(dispatcher) -> list[tuple] | None:
    """The argument-type tuples of every compile ``dispatcher``'s disk cache holds for the
    current code (empty when the code changed since), or None if numba moved its index."""
    try:
        index = dispatcher._cache._cache_file._load_index()
    except (AttributeError, OSError):
        return None
    return [key[0] for key in index]


def locator_name(dispatcher) -> str | None:
    """The class name of the cache locator numba chose for ``dispatcher`` (for tests)."""
    locator = getattr(getattr(getattr(dispatcher, "_cache", None), "_impl", None), "_locator", None)
    return None if locator is None else type(locator).__name__

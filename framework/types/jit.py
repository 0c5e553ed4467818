"""``kernel``: the numba decorator of hot loops that allocate nothing; ``njit``: numba's,
for kernels that allocate; ``builder``: small allocating helpers that run as plain Python
unless a kernel calls them; ``needs``: a kernel of an optional feature, compiled into a
caller only when the run's state carries that feature. fw's code decorates with these,
not numba's directly: the first decoration installs fw's cache keying and defers numba's
BLAS probe (``framework.types.numba_compat``), so that importing ``framework`` alone
changes nothing in numba.

``@kernel`` is ``numba.njit(cache=True, _nrt=False)``. Without the runtime (NRT) numba
stops reference-counting the arrays a kernel passes around: every array pulled out of
a tuple or handed to a callee otherwise costs atomic increments and decrements that
LLVM's refcount pruner keeps (measured: 95 -> 2.4 ns per L3 book level update; the bar
engine's per-bar cost halved). The price is that such a kernel may not create arrays
(``np.empty`` and friends fail to compile); every kernel marked here works on arrays its
Python caller allocated. Callers compiled with the runtime may call these freely.

``_nrt`` is an option of numba's dispatcher used by numba's own test-suite rather than
documented API (``numba_compat.NO_RUNTIME``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numba
from numba import types
from numba.extending import overload

from framework.types.numba_compat import NO_RUNTIME, defer_blas_import, install_cache_keying


def njit(fn: Callable | None = None, **options: Any) -> Any:
    """``@njit(cache=True)`` and friends: ``numba.njit`` after installing fw's cache keying."""
    install_cache_keying()
    defer_blas_import()
    return numba.njit(**options) if fn is None else numba.njit(fn, **options)


def kernel(fn: Callable | None = None, **options: Any) -> Any:
    """``@kernel`` or ``@kernel(inline="always")``: a cached, runtime-free ``njit``."""
    return njit(fn, cache=True, **NO_RUNTIME, **options)


def builder(fn: Callable) -> Callable:
    """``@builder``: a small helper (e.g. a feature's fresh state array) that stays plain
    Python when called from Python, so building it neither compiles nor loads a numba
    kernel (each costs ~0.1 s cold, ~20 ms from the cache), while numba compiles the same
    function into any jitted caller (an ``overload`` whose implementation is ``fn``)."""

    @functools.wraps(fn)
    def typer(*args: Any) -> Callable:
        return fn

    install_cache_keying()
    defer_blas_import()
    overload(fn, jit_options={"cache": True})(typer)
    return fn


def needs(group: str, field: str, absent: Any = None) -> Callable[[Callable], Callable]:
    """``@needs("par", "algo")`` above ``@kernel``: a kernel of an optional feature whose
    state is field ``field`` of its argument ``group`` (a state ``NamedTuple``).

    A compiled caller gets the kernel where that field is an array, and a step that does
    nothing and returns ``absent`` where the run set the field to ``None``: numba picks
    one of the two from the argument's type when it compiles the caller, so a
    specialisation of the event loop for a run without the feature (``framework.engine.
    event.engine.loop_view``) neither types nor compiles any of the feature's code. A
    Python caller gets the kernel.
    """

    def wrap(k: Callable) -> Callable:
        pos = list(inspect.signature(k.py_func).parameters).index(group)

        @functools.wraps(k.py_func)
        def step(*args: Any) -> Any:
            return k(*args)

        def typer(*args):  # unannotated: numba compares it with the lambdas'
            tup = args[pos]
            if isinstance(tup.types[tup.fields.index(field)], types.NoneType):
                return lambda *args: absent
            return lambda *args: k(*args)

        # not cached on its own: every use's lambdas share one code object, so one cache
        # index would hold every caller's argument types (a test's included); the cached
        # caller holds their machine code, and a fresh compile of one costs ~0.1 s
        overload(step, jit_options=NO_RUNTIME)(typer)
        return step

    return wrap

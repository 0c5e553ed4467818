"""``kernel``: the numba decorator of hot loops that allocate nothing.

``@kernel`` is ``numba.njit(cache=True, _nrt=False)``. Without the runtime (NRT) numba
stops reference-counting the arrays a kernel passes around: every array pulled out of
a tuple or handed to a callee otherwise costs atomic increments and decrements that
LLVM's refcount pruner keeps (measured: 95 -> 2.4 ns per L3 book level update; the bar
engine's per-bar cost halved). The price is that such a kernel may not create arrays
(``np.empty`` and friends fail to compile); every kernel marked here works on arrays its
Python caller allocated. Callers compiled with the runtime may call these freely.

``_nrt`` is an option of numba's dispatcher used by numba's own test-suite rather than
documented API; should a numba release drop it, removing it here keeps every kernel
correct, only slower.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba


def kernel(fn: Callable | None = None, **options: Any) -> Any:
    """``@kernel`` or ``@kernel(inline="always")``: a cached, runtime-free ``njit``."""
    jit = numba.njit(cache=True, _nrt=False, **options)
    return jit if fn is None else jit(fn)

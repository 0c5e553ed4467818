"""Numba kernels of the replay feed's merge: an order check and a k-way merge by (ts, kind)."""

from __future__ import annotations

import numpy as np

from framework.types.jit import njit


@njit(cache=True)
def sorted_by_ts_sym(ts, sym):
    """True when rows are already in (ts, sym) order (the lake's usual order per dataset)."""
    for i in range(1, ts.shape[0]):
        if ts[i] < ts[i - 1] or (ts[i] == ts[i - 1] and sym[i] < sym[i - 1]):
            return False
    return True


@njit(cache=True)
def merge_streams(ts_all, bounds):
    """K-way merge of streams stored back to back in ``ts_all`` (stream k is
    ``ts_all[bounds[k]:bounds[k + 1]]``, each sorted by time) into one order by
    (time, stream index). Returns (kind int8 = stream index, row int64 = row within the
    stream, ts int64), stable: ties go to the lower stream index; a stream keeps its order."""
    k_n = bounds.shape[0] - 1
    n = bounds[k_n] - bounds[0]
    kind = np.empty(n, np.int8)
    row = np.empty(n, np.int64)
    ts = np.empty(n, np.int64)
    pos = bounds[:k_n].copy()
    for j in range(n):
        k = -1
        best = 0
        for q in range(k_n):
            if pos[q] < bounds[q + 1]:
                v = ts_all[pos[q]]
                if k < 0 or v < best:  # strict: an equal time keeps the lower stream
                    k = q
                    best = v
        kind[j] = k
        row[j] = pos[k] - bounds[k]
        ts[j] = best
        pos[k] += 1
    return kind, row, ts

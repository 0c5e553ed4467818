"""Order id -> slot hash table for the L3 book: open addressing over two int64 arrays.

Linear probing with backward-shift deletion (no tombstones, so a full day of adds and
deletes never degrades the probe length). Why not numba's typed ``Dict``: the book's
event loops run with reference counting off (see ``kernels``) and inline these three
functions; a typed Dict is a reference-counted object. Speed is a wash: on 1 M
sequential ITCH-like ids ``benchmarks/bench_book.py`` prints both (within ~15 % either
way on this machine). Capacity is a power of two, twice the order slots, so the load
factor stays at or below one half; the Python layer rebuilds it when the slots double.
"""

from __future__ import annotations

import numpy as np

from framework.types.jit import kernel

EMPTY = np.iinfo(np.int64).min  # no order id is this value (LOBSTER uses 0 and -1)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@kernel(inline="always")
def _home(key, mask):
    return np.int64((np.uint64(key) * _GOLDEN) >> np.uint64(33)) & mask


@kernel(inline="always")
def find(keys, key):
    """Table position of ``key``, or -1."""
    mask = keys.shape[0] - 1
    i = _home(key, mask)
    while True:
        k = keys[i]
        if k == key:
            return i
        if k == EMPTY:
            return -1
        i = (i + 1) & mask


@kernel(inline="always")
def insert(keys, vals, key, val):
    """Store ``key -> val``; the caller has checked ``key`` is absent and space is left."""
    mask = keys.shape[0] - 1
    i = _home(key, mask)
    while keys[i] != EMPTY:
        i = (i + 1) & mask
    keys[i] = key
    vals[i] = val


@kernel(inline="always")
def remove_at(keys, vals, i):
    """Delete the entry at table position ``i``, shifting later members of its probe
    run back so every remaining key stays reachable from its home position."""
    mask = keys.shape[0] - 1
    j = i
    while True:
        j = (j + 1) & mask
        k = keys[j]
        if k == EMPTY:
            break
        h = _home(k, mask)
        # move j into the hole at i unless j's home lies cyclically in (i, j]
        if (i <= j and (h <= i or h > j)) or (i > j and h <= i and h > j):
            keys[i] = k
            vals[i] = vals[j]
            i = j
    keys[i] = EMPTY


@kernel
def rebuild(keys, vals, live_ids, live_slots):
    """Fill an empty table from (id, slot) pairs (used after growing)."""
    keys[:] = EMPTY
    for n in range(live_ids.shape[0]):
        insert(keys, vals, live_ids[n], live_slots[n])

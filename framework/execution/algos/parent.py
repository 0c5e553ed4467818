"""Opening an algo parent: a row of the order table that never reaches the venue (it is
PENDING with an arrival time that never comes, so every fill model and the live
dispatcher pass it by) plus a row of the parent table that drives its children.

The parent is *not* risk-reserved: its ``parent_id`` is its own id, which
``orders.close_order`` reads as "no reservation to release". Every child goes through
the pre-trade check like any order, so a parent never bypasses limits, breakers or the
kill switch. Units: ns UTC, shares, USD.
"""

from __future__ import annotations

import numpy as np

from framework.execution.algos import params as A
from framework.execution.orders import NO_ORDER, add_order
from framework.types.jit import kernel, needs

NEVER = np.int64(np.iinfo(np.int64).max)  # a parent's arrival time at the venue
TABLE_FULL = np.int64(-2)  # open_parent: no room, send the order at once


@needs("par", "algo", absent=False)
@kernel
def algo_on(par) -> bool:
    """The run trades its entries through a parent-order algorithm (``par.algo``)."""
    return par.algo[A.A_KIND] > 0.0


@needs("par", "algo", absent=TABLE_FULL)
@kernel
def open_parent(od, par, sym, side, otype, tif, qty, limit_px, ref_px, ts_ns) -> int:
    """Record a parent of ``qty`` shares decided at ``ts_ns`` (last close ``ref_px`` USD,
    limit ``limit_px`` or NaN) under ``par.algo``; returns its order id, -1 if the order
    table is full, ``TABLE_FULL`` if the parent table is (counted in ``PC_FULL``)."""
    pc = od.pcount
    k = pc[A.PC_USED]
    if k >= od.parents.shape[0]:
        pc[A.PC_FULL] += 1
        return TABLE_FULL
    i = add_order(od.orders, od.tally, sym, side, otype, tif, qty, limit_px, np.nan, ts_ns,
                  NEVER, NO_ORDER, NO_ORDER)
    if i < 0:
        return -1
    od.orders[i].parent_id = i  # never reserved (see the module docstring)
    pc[A.PC_USED] = k + 1
    start_schedule(od.parents[k], qty, 0.0, ts_ns, par.algo)
    p = od.parents[k]
    p.order = i
    p.active = 1
    p.child = -1
    p.done_qty = 0.0
    p.done_cost = 0.0
    p.px_dec = ref_px
    p.limit = limit_px
    p.n_child = 0
    od.plan[i].algo = np.int8(par.algo[A.A_KIND])
    return i


@kernel
def start_schedule(p, qty, base, ts_ns, algo) -> None:
    """(Re)start parent row ``p``'s schedule at ``ts_ns`` for ``qty`` shares, ``base``
    shares having been filled before."""
    p.qty = qty
    p.base = base
    p.t0 = ts_ns
    p.t_end = ts_ns + np.int64(algo[A.A_HORIZON_NS])
    p.sent = -1
    p.mvol = 0.0

"""Layouts shared by the algo kernels and their Python edge: the algorithm codes, the
``Params.algo`` vector (``A_*``), the per-symbol estimates ``Params.algo_sym``
(``AS_*``) and the parent table ``Work.parents`` (``PARENT_DTYPE``).

Units: ns UTC for times, shares, USD; sigma in USD per share per sqrt(second), eta in
USD per share per (share/second), gamma in USD per share per share (Almgren & Chriss
2000, time in seconds).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Algo(IntEnum):
    """``[execution] algo``: how a parent order is cut into children."""

    NOW = 0  # no parent: the order goes to the venue at once
    TWAP = 1
    VWAP = 2
    POV = 3
    ICEBERG = 4
    IS = 5  # implementation shortfall: the Almgren–Chriss trajectory


class Residual(IntEnum):
    """``[execution] residual``: what happens to what is left at the horizon."""

    CANCEL = 0
    SWEEP = 1  # a market child for the rest, then the parent is done
    CARRY = 2  # a new schedule of the same horizon for the rest


# Params.algo
A_KIND = 0  # Algo code
A_HORIZON_NS = 1  # schedule length, ns
A_INTERVAL_NS = 2  # slice length (TWAP / IS), ns
A_RAND_TIME = 3  # TWAP: slice times jittered by U(-j, j) slices, j < 0.5
A_RAND_SIZE = 4  # TWAP: slice sizes times 1 + U(-s, s), renormalised
A_RATE = 5  # POV: target share of market volume (0..1)
A_MIN_CHILD = 6  # shares: a smaller child is not sent (POV)
A_MAX_CHILD = 7  # shares: cap on one child (0 = none)
A_DISPLAY = 8  # iceberg: displayed shares per refresh
A_DISPLAY_RAND = 9  # iceberg: display times 1 + U(-r, r)
A_LAMBDA = 10  # IS: risk aversion, 1/USD
A_CHILD_LIMIT = 11  # 1 = limit children (parent's limit, else last close +- offset)
A_LIMIT_OFFSET_BPS = 12  # limit children: bps inside the last close (passive side)
A_RESIDUAL = 13  # Residual code
A_BUCKET_NS = 14  # VWAP profile bucket, ns
A_LOT = 15  # shares: child sizes are multiples of this (the last takes the remainder)
A_SEED = 16  # randomisation seed (TWAP times / sizes, iceberg display)
N_ALGO = 17

# Params.algo_sym[s]
AS_SIGMA = 0  # USD / share / sqrt(s)
AS_ETA = 1  # USD / share per share / s
AS_GAMMA = 2  # USD / share per share
AS_ADV = 3  # shares per day
N_ASYM = 4

PARENT_DTYPE = np.dtype([
    ("order", "i8"),  # the parent's row in the order table
    ("active", "i1"),  # 1 while its schedule runs
    ("qty", "f8"),  # shares of the schedule (what was left when it (re)started)
    ("base", "f8"),  # shares filled before the schedule (re)started (carry)
    ("t0", "i8"),  # schedule start, ns
    ("t_end", "i8"),  # horizon, ns
    ("sent", "i8"),  # last slice / bucket sent (-1 none)
    ("child", "i8"),  # the working child's order id (-1 none)
    ("done_qty", "f8"),  # shares filled by children already closed
    ("done_cost", "f8"),  # USD, sum of qty * price of those fills
    ("mvol", "f8"),  # POV: market volume since the start, own fills excluded, shares
    ("px_dec", "f8"),  # USD, the last close when the parent was decided
    ("limit", "f8"),  # USD, the parent's limit price (NaN = none)
    ("n_child", "i8"),  # children sent
])

# Orders.pcount
PC_USED = 0  # parent rows used
PC_FIRST = 1  # every parent row before this one is done (scan start)
PC_FULL = 2  # orders sent at once because the parent table was full
N_PCOUNT = 3

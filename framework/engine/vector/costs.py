"""Cost model of the vectorized engine: commission and slippage of one bar fill.

Kept in one small module so it can be swapped for ``framework.execution``'s cost
functions once they exist (one definition of each rule): the kernels only call
:func:`slipped_price`, :func:`commission` and :func:`max_buy_qty`.

The model is a float64 array ``costs`` of length 4 (see :class:`framework.engine.vector.CostSpec`):

* ``costs[0]`` commission per share, USD;
* ``costs[1]`` minimum commission per order, USD (charged when the per-share part is lower);
* ``costs[2]`` commission in bps of traded notional (1 bp = 1e-4);
* ``costs[3]`` slippage in bps of the fill price, against the trader (buys pay more).
"""

from __future__ import annotations

import numpy as np
from numba import njit

PER_SHARE = 0
MIN_FEE = 1
FEE_BPS = 2
SLIP_BPS = 3
N_COSTS = 4


@njit(cache=True, inline="always")
def slipped_price(price: float, side: int, costs: np.ndarray) -> float:
    """Fill price after fixed-bps slippage; ``side`` is +1 buy, -1 sell."""
    return price * (1.0 + side * costs[SLIP_BPS] * 1e-4)


@njit(cache=True, inline="always")
def commission(qty: float, fill_price: float, costs: np.ndarray) -> float:
    """Commission in USD for ``qty`` (> 0) shares at ``fill_price``."""
    per_share = qty * costs[PER_SHARE]
    if per_share < costs[MIN_FEE]:
        per_share = costs[MIN_FEE]
    return per_share + qty * fill_price * costs[FEE_BPS] * 1e-4


@njit(cache=True, inline="always")
def max_buy_qty(cash: float, fill_price: float, costs: np.ndarray) -> float:
    """Largest share quantity whose cost plus commission fits in ``cash`` (0 if none).

    Same arithmetic order as vectorbt's ``buy_nb`` (cash less fixed fee, over 1+fee, over
    price) so all-in buys agree with it to round-off.
    """
    f = costs[FEE_BPS] * 1e-4
    # Assume the per-share part binds; fall back to the minimum when it does not.
    q = cash / (fill_price * (1.0 + f) + costs[PER_SHARE])
    if q * costs[PER_SHARE] < costs[MIN_FEE]:
        q = (cash - costs[MIN_FEE]) / (1.0 + f) / fill_price
    if q < 0.0:
        return 0.0
    return q

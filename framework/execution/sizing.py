"""How many shares an order is for: one definition for the event engine (both drivers)
and the vectorized engine, and one a broker can carry out.

* ``shares``: the order is for ``size`` shares.
* ``value`` (USD) and ``equity_fraction``: the decision fixes a USD amount — ``size``, or
  ``size`` x the equity at the decision (every position at its last close) — and the
  shares follow at the fill: the amount over the price the order fills at before
  slippage (the open a bar-model market order takes, the quote it crosses). That is
  Alpaca's notional market order, and what vectorbt (``size=np.inf``), backtesting.py
  and backtrader do for all-in entries, so a gap between the decision close and the fill
  cannot overspend. A limit order's shares are the amount over its limit price, fixed
  at the decision (a broker needs them then; the limit is the worst price it fills at).
* Then the **buying-power rule** caps every fill of a buy that grows a long position:
  afterwards cash (fees included) stays at or above ``cash_floor`` — ``(1 - m) x
  equity`` for a buying-power multiple ``m``: zero (a cash account) unless margin is
  configured (``m`` > 1). The equity is the one at the fill, a position traded
  earlier at its fill price (``framework.risk.hooks.on_fill``: a fill is a trade
  print). Whole shares (when asked) are rounded down, as a venue refuses a fraction.
* **Targets** (weight = equity fraction, shares, USD) become a number of shares at the
  decision (the equity and prices then); the order at the next fill opportunity is the
  difference to the position at that moment — an exact quantity, so a target of zero
  closes exactly — skipped when it is worth less than the no-trade band or the minimum
  order value (at the decision price).
"""

from __future__ import annotations

import numpy as np

from framework.execution.costs import commission, max_buy_qty
from framework.types.codes import SizeMode
from framework.types.jit import kernel

# numpy integers: a Python-int argument would compile a kernel once per literal value
SIZE_SHARES = np.int64(SizeMode.SHARES)
SIZE_VALUE = np.int64(SizeMode.VALUE)
SIZE_EQUITY = np.int64(SizeMode.EQUITY)
DUST_USD = 0.01  # a buy worth less than a cent is no buy (float residue of an all-in fill)


@kernel(inline="always")
def whole_shares(q: float, whole: bool) -> float:
    """``q`` rounded toward zero when ``whole`` (a venue refuses fractions)."""
    return np.trunc(q) if whole else q


@kernel(inline="always")
def shares_for(mode: int, size: float, px: float, equity: float) -> float:
    """Shares (signed like ``size``) that ``size`` asks for at ``px`` USD with ``equity``
    USD: SIZE_SHARES ``size``; SIZE_VALUE ``size / px``; SIZE_EQUITY
    ``size * equity / px``."""
    if mode == SIZE_SHARES:
        return size
    if mode == SIZE_VALUE:
        return size / px
    return size * equity / px


@kernel(inline="always")
def decision_amount(mode: int, size: float, equity: float) -> float:
    """The USD amount an order of ``size`` in ``mode`` (VALUE or EQUITY) is for, fixed at
    the decision with ``equity`` USD then."""
    return size if mode == SIZE_VALUE else size * equity


@kernel(inline="always")
def cash_floor(bp_multiple: float, equity: float) -> float:
    """Lowest cash (USD) a long-growing buy may leave: ``(1 - m) * equity`` with ``m`` the
    buying-power multiple (0 = not configured: a cash account, ``m`` = 1)."""
    m = bp_multiple if bp_multiple > 0.0 else 1.0
    return (1.0 - m) * equity


@kernel(inline="always")
def affordable(q: float, fill_px: float, room: float, costs: np.ndarray,
               whole: bool) -> float:
    """``q`` (> 0 shares) cut so that ``q * fill_px`` plus commission fits in ``room`` USD
    (cash above the floor); 0 when nothing fits. Same arithmetic as vectorbt's partial
    buy (``framework.execution.costs.max_buy_qty``); less than a cent's worth is nothing
    (an all-in fill leaves cash at a float residue, not at a tradable amount)."""
    if q * fill_px + commission(q, fill_px, costs) > room:
        q = max_buy_qty(room, fill_px, costs)
    q = whole_shares(q, whole)
    return q if q * fill_px >= DUST_USD else 0.0


@kernel(inline="always")
def target_lot(px: float, equity: float, band: float, min_value: float) -> float:
    """Smallest trade toward a target worth making, in shares at the decision price
    ``px``: the larger of the no-trade band (``band`` x ``equity``) and ``min_value`` USD.
    """
    usd = max(band * equity, min_value)
    return usd / px if usd > 0.0 else 0.0

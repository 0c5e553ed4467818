"""Cost model of a fill: commissions, regulatory fees, slippage, borrow — one definition
called by the event engine, the vectorized engine and the live driver's estimates.

The model is a float64 array ``costs`` (layout below, built by :class:`CostConfig`):

* ``PER_SHARE`` commission per share, USD; ``MIN_FEE`` minimum per order, USD (floor of
  the per-share part); ``FEE_BPS`` commission in bps of notional (1 bp = 1e-4);
* ``SLIP_BPS`` fixed slippage, bps of price against the trader;
* ``SLIP_MODEL`` 0 fixed bps, 1 half the bar's high-low range as a spread proxy
  (bar data) or half the quoted spread (quote data), 2 square-root impact
  ``IMPACT_COEF * sigma * sqrt(qty / bar_volume)`` with sigma the bar's log range;
* ``SEC_RATE`` SEC Section 31 fee on sell notional (fraction, e.g. 27.8e-6);
* ``TAF_PER_SHARE`` / ``TAF_MAX`` FINRA trading activity fee on sold shares, USD;
* ``BORROW_RATE`` annual borrow fee on short notional (fraction per ``SESSIONS_PER_YEAR``
  sessions).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from framework.config import FrozenModel
from framework.types.annual import SESSIONS_PER_YEAR
from framework.types.jit import kernel

PER_SHARE = 0
MIN_FEE = 1
FEE_BPS = 2
SLIP_BPS = 3
SLIP_MODEL = 4
IMPACT_COEF = 5
SEC_RATE = 6
TAF_PER_SHARE = 7
TAF_MAX = 8
BORROW_RATE = 9
N_COSTS = 10

SLIP_FIXED = 0
SLIP_HALF_SPREAD = 1
SLIP_SQRT_IMPACT = 2

_SLIP_MODELS = {"fixed_bps": SLIP_FIXED, "half_spread": SLIP_HALF_SPREAD,
                "sqrt_impact": SLIP_SQRT_IMPACT}


class CostConfig(FrozenModel):
    """``[costs]`` of a strategy TOML. ``model = "alpaca"`` is zero commission plus the
    SEC fee and FINRA TAF on sells (2026 rates); explicit keys override the preset."""

    model: Literal["alpaca", "custom"] = "alpaca"
    per_share: float = Field(default=0.0, ge=0.0)  # USD per share
    min_fee: float = Field(default=0.0, ge=0.0)  # USD per order
    fee_bps: float = Field(default=0.0, ge=0.0)  # bps of notional
    slippage: Literal["fixed_bps", "half_spread", "sqrt_impact"] = "fixed_bps"
    slippage_bps: float = Field(default=1.0, ge=0.0)  # bps (fixed model)
    impact_coef: float = Field(default=1.0, ge=0.0)  # sqrt-impact multiplier of sigma
    sec_fee_rate: float | None = Field(default=None, ge=0.0)  # fraction of sell notional
    taf_per_share: float | None = Field(default=None, ge=0.0)  # USD per sold share
    taf_max: float | None = Field(default=None, ge=0.0)  # USD per trade
    borrow_rate: float = Field(default=0.0, ge=0.0)  # annual, fraction of short notional

    def as_array(self) -> np.ndarray:
        """The kernels' float64[N_COSTS] vector."""
        alpaca = self.model == "alpaca"
        sec = self.sec_fee_rate if self.sec_fee_rate is not None else (27.8e-6 if alpaca else 0.0)
        taf = self.taf_per_share if self.taf_per_share is not None else (1.66e-4 if alpaca else 0.0)
        taf_max = self.taf_max if self.taf_max is not None else (8.30 if alpaca else 0.0)
        return cost_array(per_share=self.per_share, min_fee=self.min_fee, fee_bps=self.fee_bps,
                          slippage_bps=self.slippage_bps, slip_model=_SLIP_MODELS[self.slippage],
                          impact_coef=self.impact_coef, sec_rate=sec, taf_per_share=taf,
                          taf_max=taf_max, borrow_rate=self.borrow_rate)


# No commission, fee or slippage: the vector engine's and the sweeps' default.
NO_COSTS = CostConfig(model="custom", slippage_bps=0.0)


def cost_array(*, per_share: float = 0.0, min_fee: float = 0.0, fee_bps: float = 0.0,
               slippage_bps: float = 0.0, slip_model: int = SLIP_FIXED, impact_coef: float = 0.0,
               sec_rate: float = 0.0, taf_per_share: float = 0.0, taf_max: float = 0.0,
               borrow_rate: float = 0.0) -> np.ndarray:
    """Build a cost vector (units as in the module docstring); raises ValueError if any
    entry is negative or not finite."""
    arr = np.zeros(N_COSTS)
    arr[PER_SHARE], arr[MIN_FEE], arr[FEE_BPS], arr[SLIP_BPS] = per_share, min_fee, fee_bps, slippage_bps
    arr[SLIP_MODEL], arr[IMPACT_COEF], arr[SEC_RATE] = slip_model, impact_coef, sec_rate
    arr[TAF_PER_SHARE], arr[TAF_MAX], arr[BORROW_RATE] = taf_per_share, taf_max, borrow_rate
    if np.any(~np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"cost parameters must be finite and >= 0, got {arr.tolist()}")
    return arr


@kernel(inline="always")
def slipped_price(price: float, side: int, costs: np.ndarray) -> float:
    """Fill price after fixed-bps slippage; ``side`` is +1 buy, -1 sell."""
    return price * (1.0 + side * costs[SLIP_BPS] * 1e-4)


@kernel
def fill_price(price: float, side: int, qty: float, high: float, low: float, volume: float,
               costs: np.ndarray) -> float:
    """Fill price (USD) of ``qty`` shares at reference ``price`` under the slippage model.

    ``high``/``low``: the bar's range, or ask/bid for quote data (USD); ``volume``: the
    bar's traded shares (sqrt impact). Missing inputs fall back to fixed bps.
    """
    model = int(costs[SLIP_MODEL])
    if model == SLIP_HALF_SPREAD and high > low > 0.0:
        return price + side * 0.5 * (high - low)
    if model == SLIP_SQRT_IMPACT and volume > 0.0 and high > low > 0.0:
        sigma = np.log(high / low)
        return price * (1.0 + side * costs[IMPACT_COEF] * sigma * np.sqrt(qty / volume))
    return slipped_price(price, side, costs)


@kernel(inline="always")
def commission(qty: float, fill_px: float, costs: np.ndarray) -> float:
    """Broker commission in USD for ``qty`` (> 0) shares at ``fill_px``."""
    per_share = qty * costs[PER_SHARE]
    if per_share < costs[MIN_FEE]:
        per_share = costs[MIN_FEE]
    return per_share + qty * fill_px * costs[FEE_BPS] * 1e-4


@kernel(inline="always")
def trade_fee(side: int, qty: float, fill_px: float, costs: np.ndarray) -> float:
    """All fees of one fill in USD: commission, plus SEC fee and FINRA TAF on sells."""
    fee = commission(qty, fill_px, costs)
    if side < 0:
        taf = qty * costs[TAF_PER_SHARE]
        if costs[TAF_MAX] > 0.0 and taf > costs[TAF_MAX]:
            taf = costs[TAF_MAX]
        fee += qty * fill_px * costs[SEC_RATE] + taf
    return fee


@kernel(inline="always")
def borrow_fee(short_notional: float, costs: np.ndarray) -> float:
    """One session's borrow fee in USD on ``short_notional`` (USD, >= 0)."""
    return short_notional * costs[BORROW_RATE] / SESSIONS_PER_YEAR


@kernel(inline="always")
def max_buy_qty(cash: float, fill_px: float, costs: np.ndarray) -> float:
    """Largest share quantity whose cost plus commission fits in ``cash`` (0 if none).

    Same arithmetic order as vectorbt's ``buy_nb`` (cash less fixed fee, over 1+fee, over
    price) so all-in buys agree with it to round-off.
    """
    f = costs[FEE_BPS] * 1e-4
    # Assume the per-share part binds; fall back to the minimum when it does not.
    q = cash / (fill_px * (1.0 + f) + costs[PER_SHARE])
    if q * costs[PER_SHARE] < costs[MIN_FEE]:
        q = (cash - costs[MIN_FEE]) / (1.0 + f) / fill_px
    if q < 0.0:
        return 0.0
    return q

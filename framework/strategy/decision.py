"""The path-dependent decision rule, compiled: what to do for one symbol at one bar's
close given the strategy's causal signals and the state of the book.

Both drivers call :func:`decide` per symbol per bar (the backtest from the numba event
loop, the live driver through the same loop one bar at a time). Strategies shape it
with ``[decision]`` parameters rather than code, so every compiled kernel is cached
once per machine (a per-strategy numba function would be recompiled on every cold
start: numba cannot cache a kernel that takes another kernel as an argument).

Signals per ``[time, symbol]``: ``entry`` +1 long / -1 short / 0 none, ``exit`` bool,
``size`` (NaN = the configured size; else overrides it, in the configured size unit),
``limit`` (NaN = the configured order type; else a limit price in USD), and the trade's
exits (``framework.strategy.signals``). In target mode (``mode = "target"``) the rule is
not used: the engine rebalances toward the strategy's targets
(``framework.execution.rebalance``).

Sizing: ``size_mode`` shares, value (USD) or equity_fraction resolves to shares at the
fill (``framework.execution.sizing``); the loop only estimates it at the decision close
for the pre-trade risk check.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from framework.config import FrozenModel
from framework.types.codes import Ignored, OrderType, SizeMode, TimeInForce
from framework.types.jit import kernel

# layout of the float64 decision-parameter vector
D_SIZE_MODE = 0  # SizeMode: shares, USD notional, fraction of equity
D_SIZE = 1
D_ORDER_TYPE = 2  # OrderType of entries when the signal gives no limit price
D_LIMIT_OFFSET_BPS = 3  # limit entries: bps better than the decision close
D_TIF = 4  # TimeInForce of entries
D_ALLOW_SHORT = 5
D_STOP_PCT = 6  # bracket stop-loss, fraction of the entry price (0 = none)
D_TAKE_PCT = 7  # bracket take-profit, fraction (0 = none)
D_MAX_HOLD = 8  # bars in a trade before a forced exit (0 = off)
D_COOLDOWN = 9  # bars after an exit before a new entry (0 = off)
D_ENTRY_TIMEOUT = 10  # bars an unfilled entry order may rest (0 = until its TIF ends)
D_FLAT_AT_CLOSE = 11  # 1: exit on the session's last bar, no entries there
D_WHOLE_SHARES = 12  # 1: round entry quantities down to whole shares
D_MODE = 13  # MODE_SIGNALS / MODE_TARGET / MODE_ON_BAR
D_TARGET_UNIT = 14  # SizeMode of the targets (set from the strategy's Signals)
D_BAND = 15  # targets: no-trade band, fraction of equity
D_MIN_ORDER = 16  # targets: smallest order worth sending, USD
D_TRAIL_PCT = 17  # trailing stop of each trade, fraction off its best mark (0 = none)
D_TRAIL_ATR = 18  # trailing stop of each trade, multiples of the ATR (0 = none)
N_DECISION = 19

MODE_SIGNALS = 0
MODE_TARGET = 1
MODE_ON_BAR = 2

NONE = 0
ENTER = 1
EXIT = 2
CANCEL_ENTRY = 3

SIZE_MODES = {"shares": SizeMode.SHARES.value, "value": SizeMode.VALUE.value,
               "equity_fraction": SizeMode.EQUITY.value}
_TIFS = {"day": TimeInForce.DAY.value, "gtc": TimeInForce.GTC.value,
         "ioc": TimeInForce.IOC.value, "fok": TimeInForce.FOK.value}
_TYPES = {"market": OrderType.MARKET.value, "limit": OrderType.LIMIT.value}


class DecisionConfig(FrozenModel):
    """``[decision]`` of a strategy TOML: sizing, entry orders, brackets and exits."""

    mode: Literal["signals", "target"] = "signals"  # entry/exit signals or target positions
    size_mode: Literal["shares", "value", "equity_fraction"] = "equity_fraction"
    size: float = Field(default=0.1, gt=0.0)  # shares, USD or fraction per size_mode
    order_type: Literal["market", "limit"] = "market"
    limit_offset_bps: float = Field(default=0.0, ge=0.0)  # limit entries vs the close, bps
    tif: Literal["day", "gtc", "ioc", "fok"] = "day"
    allow_short: bool = False
    stop_loss_pct: float = Field(default=0.0, ge=0.0)  # fraction of entry price
    take_profit_pct: float = Field(default=0.0, ge=0.0)  # fraction of entry price
    max_hold_bars: int = Field(default=0, ge=0)
    cooldown_bars: int = Field(default=0, ge=0)
    entry_timeout_bars: int = Field(default=0, ge=0)
    flat_at_close: bool = False  # intraday: flat before each session's close
    whole_shares: bool = False  # round order quantities down to whole shares
    trailing_pct: float = Field(default=0.0, ge=0.0)  # per-trade trailing stop, fraction
    trailing_atr: float = Field(default=0.0, ge=0.0)  # per-trade trailing stop, ATR multiples
    rebalance_band: float = Field(default=0.0, ge=0.0)  # targets: no-trade band, of equity
    min_order_value: float = Field(default=0.0, ge=0.0)  # targets: smallest order, USD

    def as_array(self) -> np.ndarray:
        """The kernels' float64[N_DECISION] vector."""
        d = np.zeros(N_DECISION)
        d[D_SIZE_MODE] = SIZE_MODES[self.size_mode]
        d[D_SIZE] = self.size
        d[D_ORDER_TYPE] = _TYPES[self.order_type]
        d[D_LIMIT_OFFSET_BPS] = self.limit_offset_bps
        d[D_TIF] = _TIFS[self.tif]
        d[D_ALLOW_SHORT] = float(self.allow_short)
        d[D_STOP_PCT] = self.stop_loss_pct
        d[D_TAKE_PCT] = self.take_profit_pct
        d[D_MAX_HOLD] = self.max_hold_bars
        d[D_COOLDOWN] = self.cooldown_bars
        d[D_ENTRY_TIMEOUT] = self.entry_timeout_bars
        d[D_FLAT_AT_CLOSE] = float(self.flat_at_close)
        d[D_WHOLE_SHARES] = float(self.whole_shares)
        d[D_MODE] = MODE_TARGET if self.mode == "target" else MODE_SIGNALS
        d[D_BAND] = self.rebalance_band
        d[D_MIN_ORDER] = self.min_order_value
        d[D_TRAIL_PCT] = self.trailing_pct
        d[D_TRAIL_ATR] = self.trailing_atr
        return d


@kernel
def decide(entry: int, exit_: bool, pos: float, entry_open: bool, exit_open: bool,
           entry_age: int, bars_in_trade: int, hold: int, bars_since_exit: int,
           closing: bool, paused: bool, dec: np.ndarray) -> tuple[int, int]:
    """What to do for one symbol at one bar close.

    Returns ``(action, ignored)``: ``action`` is NONE, ENTER, EXIT or CANCEL_ENTRY;
    ``ignored`` is the ``framework.types.codes.Ignored`` reason an entry signal was not
    acted on, -1 when there was none to ignore. An entry and an exit signal on the same
    bar cancel each other (vectorbt's rule).

    - ``entry``: this bar's entry signal (+1 long, -1 short, 0 none).
    - ``exit_``: this bar's exit signal.
    - ``pos``: shares held (signed).
    - ``entry_open``, ``exit_open``: an entry / exit order is working.
    - ``entry_age``: bars the working entry order has waited.
    - ``bars_in_trade``: bars since the position opened.
    - ``hold``: the most bars to hold a position (0 = no limit).
    - ``bars_since_exit``: bars since the position last closed (large if never).
    - ``closing``: the next bar is the session's last.
    - ``paused``: a circuit breaker or the kill switch refuses entries.
    - ``dec``: the decision vector (``DecisionConfig.as_array``, ``D_*`` layout).
    """
    conflict = entry != 0 and exit_
    if pos != 0.0:
        if exit_open:
            return NONE, Ignored.ENTRY_IN_POSITION.value if entry != 0 else -1
        if closing and dec[D_FLAT_AT_CLOSE] > 0.0:
            return EXIT, -1
        if hold > 0 and bars_in_trade >= hold:
            return EXIT, -1
        if exit_ and not conflict:
            return EXIT, -1
        if entry != 0 and (entry > 0) != (pos > 0.0) and not conflict:
            return EXIT, -1  # reversal signal: close first, re-enter on a later signal
        if conflict:
            return NONE, Ignored.ENTRY_EXIT_CONFLICT.value
        return NONE, Ignored.ENTRY_IN_POSITION.value if entry != 0 else -1
    if entry_open:
        if paused or (closing and dec[D_FLAT_AT_CLOSE] > 0.0):
            return CANCEL_ENTRY, -1
        if dec[D_ENTRY_TIMEOUT] > 0.0 and entry_age >= dec[D_ENTRY_TIMEOUT]:
            return CANCEL_ENTRY, -1
        return NONE, Ignored.ENTRY_WHILE_WORKING.value if entry != 0 else -1
    if entry == 0:
        return NONE, -1
    if conflict:
        return NONE, Ignored.ENTRY_EXIT_CONFLICT.value
    if paused:
        return NONE, Ignored.ENTRY_PAUSED.value
    if exit_open:
        return NONE, Ignored.ENTRY_WHILE_WORKING.value
    if entry < 0 and dec[D_ALLOW_SHORT] <= 0.0:
        return NONE, Ignored.SHORT_NOT_ALLOWED.value
    if closing and dec[D_FLAT_AT_CLOSE] > 0.0:
        return NONE, Ignored.ENTRY_AT_CLOSE.value
    if dec[D_COOLDOWN] > 0.0 and bars_since_exit < dec[D_COOLDOWN]:
        return NONE, Ignored.ENTRY_IN_COOLDOWN.value
    return ENTER, -1

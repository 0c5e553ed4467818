"""Risk-stage record layouts and integer codes.

Four arrays carry everything the risk kernels need, so the backtest loop and the live
driver hand the same arrays to the same ``@njit`` hooks:

* ``limits``     -- 1 record of ``RISK_LIMITS_DTYPE``: portfolio-wide thresholds;
* ``sym_limits`` -- n_symbols records of ``SYMBOL_LIMITS_DTYPE``, indexed by sym id;
* ``state``      -- 1 record of ``RISK_STATE_DTYPE``: cash, totals, breakers, order-rate
  ring, loss-rate ring, counters and the risk-event log;
* ``sym_state``  -- n_symbols records of ``SYMBOL_RISK_STATE_DTYPE``: position, lots,
  P&L under three lot methods, marks, stops, halt flag.

Units: timestamps and durations int64 ns (UTC); prices USD; quantities shares (float);
"pct" fields are fractions (0.02 = 2 %), never percent or bps. A threshold of 0 or
NaN disables its check (``_on`` in the kernels).

Codes are plain ``IntEnum``: numba folds members to constants. Never renumber; codes
are stored in run results.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

MAX_LOTS = 128  # open lots kept per symbol per method (FIFO queue, LIFO stack)
RATE_RING = 1024  # accepted-order timestamps kept for the order-rate throttle
LOSS_BUCKETS = 64  # resolution of the loss-rate sliding window
EVENT_CAP = 8192  # risk events kept in ``state``; later ones are counted as dropped
EVENT_RESERVE = 512  # of which slots rejections may not use (breakers, stops, kill)
N_REJECT_REASONS = 32  # size of the per-reason reject counter (>= len(RejectReason))
N_METHODS = 3  # lot methods, indexed by LotMethod


class LotMethod(IntEnum):
    """Which open lot a closing fill consumes. All three are kept side by side."""

    FIFO = 0
    LIFO = 1
    AVERAGE = 2


class MarkSource(IntEnum):
    """Price used to mark positions: the quote mid (fallback last) or last (fallback mid)."""

    MID = 0
    LAST = 1


class RiskAction(IntEnum):
    """What ``on_mark`` asks the driver to do now. Larger value = stronger action."""

    NONE = 0
    PAUSE_ENTRIES = 1  # a breaker tripped without flatten: cancel resting entry orders
    EXIT_POSITION = 2  # a stop fired for this symbol: read ``fired_stop(sym_state, sym)``
    FLATTEN_ALL = 3  # kill switch or a flattening breaker: cancel all orders, flatten all


class StopKind(IntEnum):
    """Which stop fired for a position (``sym_state['stop_fired']``); 0 = none."""

    NONE = 0
    STOP_LOSS = 1
    TAKE_PROFIT = 2
    TRAILING_PCT = 3
    TRAILING_ATR = 4
    TIME = 5


class Breaker(IntEnum):
    """Circuit breakers; bit ``1 << b`` in ``state['breakers']`` is set while tripped."""

    DAILY_LOSS = 0
    DRAWDOWN = 1
    LOSS_RATE = 2
    CONSECUTIVE_REJECTS = 3
    STALE_DATA = 4
    LATENCY = 5
    PRICE_DISCREPANCY = 6


BREAKER_NAMES = {b: b.name.lower() for b in Breaker}


class RiskEventKind(IntEnum):
    """Row kinds of the risk-event log (``RISK_EVENT_DTYPE['kind']``)."""

    REJECT = 1  # reason = RejectReason, value = qty, threshold = the limit hit
    BREAKER_TRIP = 2  # reason = Breaker, value = measured, threshold = limit
    BREAKER_RESET = 3  # reason = Breaker
    STOP = 4  # reason = StopKind, value = price, threshold = stop level
    KILL = 5
    KILL_RESET = 6
    HALT = 7  # value = 1 halted / 0 resumed
    LOT_OVERFLOW = 8  # reason = LotMethod, value = lots in use
    SESSION_START = 9  # value = equity at start


RISK_LIMITS_DTYPE = np.dtype(
    [
        # --- order-level (per order) ---
        ("max_order_qty", "f8"),  # shares per order; 0/NaN = off
        ("max_order_notional", "f8"),  # USD per order (qty * reference price); 0/NaN = off
        ("price_collar", "f8"),  # max |price / ref - 1|, ref = mid (else last); 0 = off
        ("max_orders_per_sec", "i8"),  # accepted entry orders in any 1 s; 0 = off, <= RATE_RING
        ("max_orders_per_min", "i8"),  # accepted entry orders in any 60 s; 0 = off, <= RATE_RING
        # --- portfolio (worst case over open orders) ---
        ("max_gross_exposure", "f8"),  # USD, sum |position| * price; 0/NaN = off
        ("max_net_exposure", "f8"),  # USD, |sum position * price|; 0/NaN = off
        ("max_open_positions", "i8"),  # symbols with a position or open order; 0 = off
        ("max_concentration", "f8"),  # |position| * price / equity, fraction; 0/NaN = off
        ("buying_power_multiple", "f8"),  # gross <= multiple * equity (1 cash, 2/4 Reg-T); 0 = off
        ("allow_short", "?"),  # global short-sale permission (AND with per-symbol)
        ("stale_data_ns", "i8"),  # order refused / breaker if no quote for this long; 0 = off
        ("mark_source", "i8"),  # MarkSource
        ("lot_method", "i8"),  # LotMethod reported as "the" realized P&L
        # --- default stops, armed when a position opens (0/NaN = off) ---
        ("stop_loss_pct", "f8"),  # fraction below (long) / above (short) entry price
        ("take_profit_pct", "f8"),  # fraction above (long) / below (short) entry price
        ("trailing_pct", "f8"),  # fraction off the best price since entry
        ("trailing_atr_mult", "f8"),  # multiples of the ATR passed via set_atr
        ("time_stop_ns", "i8"),  # max holding time from entry, ns
        # --- circuit breakers (0/NaN = off) ---
        ("max_daily_loss", "f8"),  # USD below the session-start equity
        ("max_drawdown", "f8"),  # fraction below the intraday equity high-water mark
        ("loss_window_ns", "i8"),  # sliding window for the loss-rate breaker, ns
        ("max_loss_in_window", "f8"),  # USD lost within loss_window_ns
        ("max_consecutive_rejects", "i8"),  # rejections in a row (breaker/kill rejects excluded)
        ("max_latency_ns", "i8"),  # one latency observation above this trips, ns
        ("max_price_discrepancy", "f8"),  # |other source / mark - 1|, fraction
        ("flatten_mask", "i8"),  # bit 1 << Breaker: that breaker also flattens
    ]
)

SYMBOL_LIMITS_DTYPE = np.dtype(
    [
        ("max_position_shares", "f8"),  # |position| incl. open orders, shares; 0/NaN = off
        ("max_position_notional", "f8"),  # |position| * price, USD; 0/NaN = off
        ("shortable", "?"),  # False: no order may take the worst-case position below 0
    ]
)

RISK_STATE_DTYPE = np.dtype(
    [
        ("initial_equity", "f8"),
        ("cash", "f8"),  # USD: initial - sum(signed qty * price) - fees
        ("mkt_value", "f8"),  # USD: sum position * mark
        ("equity", "f8"),  # cash + mkt_value
        ("fees", "f8"),  # USD paid in total
        ("realized", "f8", (N_METHODS,)),  # USD by LotMethod, before fees
        ("cost", "f8", (N_METHODS,)),  # USD signed cost basis of open lots, by LotMethod
        ("gross", "f8"),  # USD sum |position| * mark
        ("gross_worst", "f8"),  # USD sum max(|pos + open buys|, |pos - open sells|) * mark
        ("net_hi", "f8"),  # USD sum (pos + open buys) * mark
        ("net_lo", "f8"),  # USD sum (pos - open sells) * mark
        ("n_active", "i8"),  # symbols with a position or an open order
        ("n_positions", "i8"),  # symbols with a position
        ("hwm", "f8"),  # intraday equity high-water mark, USD
        ("drawdown", "f8"),  # (hwm - equity) / hwm, fraction
        ("max_drawdown", "f8"),  # largest drawdown seen this session, fraction
        ("day_start_equity", "f8"),
        ("session_open_ns", "i8"),  # 0 = no session set: always "in session"
        ("session_close_ns", "i8"),
        ("last_ts", "i8"),  # latest ts seen by any hook, ns
        ("breakers", "i8"),  # bitmask of tripped Breaker
        ("kill", "?"),
        ("flatten", "?"),  # a flattening breaker or the kill switch is active
        ("pending_action", "i8"),  # strongest RiskAction not yet returned by on_mark
        ("n_checks", "i8"),
        ("n_accepted", "i8"),
        ("n_rejected", "i8"),
        ("consecutive_rejects", "i8"),
        ("reject_counts", "i8", (N_REJECT_REASONS,)),  # by RejectReason
        ("rate_ring", "i8", (RATE_RING,)),  # ts of accepted entry orders
        ("rate_n", "i8"),  # entry orders recorded in rate_ring (total)
        ("loss_ring", "f8", (LOSS_BUCKETS,)),  # equity at each bucket start
        ("loss_bucket", "i8"),  # absolute index of the latest bucket, -1 before the first
        ("loss_last_eq", "f8"),  # equity at the latest loss-window update
        ("last_latency_ns", "i8"),
        ("ev_ts", "i8", (EVENT_CAP,)),
        ("ev_sym", "i4", (EVENT_CAP,)),
        ("ev_kind", "i2", (EVENT_CAP,)),
        ("ev_reason", "i2", (EVENT_CAP,)),
        ("ev_value", "f8", (EVENT_CAP,)),
        ("ev_threshold", "f8", (EVENT_CAP,)),
        ("ev_n", "i8"),  # events stored
        ("ev_dropped", "i8"),  # events not stored because the log was full
        ("ev_logged", "i8"),  # events already emitted as log lines (Python side)
    ]
)

SYMBOL_RISK_STATE_DTYPE = np.dtype(
    [
        ("position", "f8"),  # signed shares
        ("avg_cost", "f8"),  # USD per share (average-cost method), 0 when flat
        ("cost", "f8", (N_METHODS,)),  # signed USD cost of open lots, by LotMethod
        ("realized", "f8", (N_METHODS,)),  # USD by LotMethod, before fees
        ("fees", "f8"),
        ("n_fills", "i8"),
        ("bid", "f8"),
        ("ask", "f8"),
        ("last", "f8"),
        ("mark", "f8"),  # NaN until the first quote, trade, accepted order or fill
        ("last_md_ts", "i8"),  # ns of the latest market-data update, 0 = none yet
        ("open_buy", "f8"),  # shares reserved by accepted, unfilled buy orders
        ("open_sell", "f8"),
        ("c_mv", "f8"),  # this symbol's share of the state totals (see RISK_STATE_DTYPE)
        ("c_gross", "f8"),
        ("c_worst", "f8"),
        ("c_hi", "f8"),
        ("c_lo", "f8"),
        ("active", "?"),
        ("halted", "?"),
        ("entry_ts", "i8"),  # when the current position opened, ns
        ("entry_price", "f8"),
        ("peak", "f8"),  # best mark since entry: max (long) / min (short)
        ("stop_price", "f8"),  # NaN = none
        ("take_profit", "f8"),
        ("trail_pct", "f8"),
        ("trail_atr_mult", "f8"),
        ("atr", "f8"),  # USD, set by the strategy via set_atr
        ("time_stop_ns", "i8"),  # holding limit, 0 = none
        ("stop_fired", "i2"),  # StopKind of the stop that fired, 0 = armed / none
        ("stop_ts", "i8"),
        ("fifo_qty", "f8", (MAX_LOTS,)),  # ring buffer of open lots, oldest at fifo_head
        ("fifo_px", "f8", (MAX_LOTS,)),
        ("fifo_head", "i8"),
        ("fifo_n", "i8"),
        ("lifo_qty", "f8", (MAX_LOTS,)),  # stack of open lots, newest at lifo_n - 1
        ("lifo_px", "f8", (MAX_LOTS,)),
        ("lifo_n", "i8"),
        ("lot_overflow", "i8"),  # lots merged because a queue was full
    ]
)

RISK_EVENT_DTYPE = np.dtype(
    [
        ("ts", "i8"),  # ns UTC
        ("sym", "i4"),  # -1 = portfolio-wide
        ("kind", "i2"),  # RiskEventKind
        ("reason", "i2"),  # RejectReason / Breaker / StopKind / LotMethod by kind
        ("value", "f8"),  # what was measured
        ("threshold", "f8"),  # the limit it was compared with (NaN if none)
    ]
)

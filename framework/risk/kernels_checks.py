"""Pre-trade check kernel: one pass over the limits, first failing rule wins.

Worst case over open orders: accepted orders reserve their quantity in
``open_buy``/``open_sell`` until filled or released (``on_order_closed``), and the
position, notional, exposure and open-position limits are checked against the
position that would result if every open order on that side filled. So no sequence of
accepted orders can fill past a limit (at the check price).

Risk-reducing orders (they shrink |position| and, with the open orders on the same
side, cannot flip it) are always allowed through the size, exposure, breaker, kill and
throttle rules: a flatten must never be refused. They still meet the validity, halt
and price-collar rules.
"""

from __future__ import annotations

import numpy as np

from framework.risk.kernels_pnl import EPS, limit_set, reference_price
from framework.types.codes import RejectReason
from framework.types.jit import kernel

NS_PER_S = 1_000_000_000


@kernel(inline="always")
def is_reducing(s, side: int, qty: float) -> bool:
    """True when the order only shrinks the position, counting open orders on its side."""
    pos = s.position
    if side > 0:
        return pos < 0.0 and s.open_buy + qty <= -pos + EPS
    return pos > 0.0 and s.open_sell + qty <= pos + EPS


@kernel(inline="always")
def _rate_limited(st, n_max: int, window_ns: int, ts: int) -> bool:
    """True if ``n_max`` entry orders were already accepted in (ts - window, ts]."""
    if n_max <= 0 or st.rate_n < n_max:
        return False
    cap = st.rate_ring.shape[0]
    return st.rate_ring[(st.rate_n - n_max) % cap] > ts - window_ns


@kernel
def check_order(limits, sl, st, s, side: int, qty: float, price: float, ts: int):
    """Return ``(RejectReason, threshold)`` for one order; ``(0, nan)`` accepts it.

    ``price`` is the reference price of the order (limit price, or the mark for a
    market order), USD; ``qty`` shares > 0; ``ts`` ns.
    """
    nan = np.nan
    if not (qty > 0.0 and np.isfinite(qty) and price > 0.0 and np.isfinite(price)):
        return RejectReason.INVALID_ORDER.value, nan
    if side != 1 and side != -1:
        return RejectReason.INVALID_ORDER.value, nan
    if s.halted:
        return RejectReason.HALTED.value, nan
    if limit_set(limits.price_collar):
        ref = reference_price(s)
        if np.isfinite(ref) and abs(price / ref - 1.0) > limits.price_collar:
            return RejectReason.PRICE_COLLAR.value, limits.price_collar
    if is_reducing(s, side, qty):
        return RejectReason.NONE.value, nan
    # ---- entry / growing orders from here on ----
    if st.kill:
        return RejectReason.KILL_SWITCH.value, nan
    if st.breakers != 0:
        return RejectReason.CIRCUIT_BREAKER.value, nan
    if limits.stale_data_ns > 0 and s.last_md_ts > 0 and ts - s.last_md_ts > limits.stale_data_ns:
        return RejectReason.STALE_DATA.value, float(limits.stale_data_ns)
    if limit_set(limits.max_order_qty) and qty > limits.max_order_qty:
        return RejectReason.MAX_ORDER_QTY.value, limits.max_order_qty
    if limit_set(limits.max_order_notional) and qty * price > limits.max_order_notional:
        return RejectReason.MAX_ORDER_NOTIONAL.value, limits.max_order_notional
    pos = s.position
    hi = pos + s.open_buy
    lo = pos - s.open_sell
    if side > 0:
        hi += qty
        new = hi
    else:
        lo -= qty
        new = lo
        if lo < -EPS and not (limits.allow_short and sl.shortable):
            return RejectReason.SHORT_NOT_ALLOWED.value, 0.0
    if limit_set(sl.max_position_shares) and abs(new) > sl.max_position_shares + EPS:
        return RejectReason.MAX_POSITION_SHARES.value, sl.max_position_shares
    new_notional = abs(new) * price
    if limit_set(sl.max_position_notional) and new_notional > sl.max_position_notional:
        return RejectReason.MAX_POSITION_NOTIONAL.value, sl.max_position_notional
    if limits.max_open_positions > 0 and not s.active:
        if st.n_active >= limits.max_open_positions:
            return RejectReason.MAX_OPEN_POSITIONS.value, float(limits.max_open_positions)
    gross = st.gross_worst - s.c_worst + max(abs(hi), abs(lo)) * price
    if limit_set(limits.max_gross_exposure) and gross > limits.max_gross_exposure:
        return RejectReason.GROSS_EXPOSURE.value, limits.max_gross_exposure
    if limit_set(limits.max_net_exposure):
        if side > 0:
            if st.net_hi - s.c_hi + hi * price > limits.max_net_exposure:
                return RejectReason.NET_EXPOSURE.value, limits.max_net_exposure
        elif st.net_lo - s.c_lo + lo * price < -limits.max_net_exposure:
            return RejectReason.NET_EXPOSURE.value, limits.max_net_exposure
    eq = max(st.equity, 0.0)  # USD: a negative equity allows nothing
    if limit_set(limits.max_concentration) and new_notional > limits.max_concentration * eq:
        return RejectReason.CONCENTRATION.value, limits.max_concentration
    if limit_set(limits.buying_power_multiple) and gross > limits.buying_power_multiple * eq:
        return RejectReason.BUYING_POWER.value, limits.buying_power_multiple * eq
    if _rate_limited(st, limits.max_orders_per_sec, NS_PER_S, ts):
        return RejectReason.ORDER_RATE.value, float(limits.max_orders_per_sec)
    if _rate_limited(st, limits.max_orders_per_min, 60 * NS_PER_S, ts):
        return RejectReason.ORDER_RATE.value, float(limits.max_orders_per_min)
    return RejectReason.NONE.value, nan


@kernel(inline="always")
def record_rate(st, ts: int) -> None:
    """Remember an accepted entry order for the order-rate throttle (ring buffer)."""
    cap = st.rate_ring.shape[0]
    st.rate_ring[st.rate_n % cap] = ts
    st.rate_n += 1

"""Guard kernels: circuit breakers, equity high-water mark and stops; O(1) per call.

A tripped breaker sets its bit in ``state['breakers']``; while any bit is set,
``pre_trade_check`` refuses orders that open or grow a position (risk-reducing orders
still pass). Bits stay set until ``reset_breakers`` clears them explicitly. Whether a
breaker also flattens is ``limits['flatten_mask']``.
"""

from __future__ import annotations

import numpy as np

from framework.risk.dtypes import LOSS_BUCKETS, RiskAction, RiskEventKind, StopKind
from framework.risk.kernels_pnl import limit_set, log_event
from framework.types.jit import kernel


@kernel(inline="always")
def trip(limits, st, bit: int, sym: int, ts: int, value: float, threshold: float) -> int:
    """Trip breaker ``bit`` (no-op if already tripped); return the RiskAction it asks for."""
    m = np.int64(1) << bit
    if st.breakers & m:
        return RiskAction.NONE.value
    st.breakers |= m
    log_event(st, ts, sym, RiskEventKind.BREAKER_TRIP.value, bit, value, threshold)
    act = RiskAction.PAUSE_ENTRIES.value
    if limits.flatten_mask & m:
        st.flatten = True
        act = RiskAction.FLATTEN_ALL.value
    if act > st.pending_action:
        st.pending_action = act
    return act


@kernel(inline="always")
def _loss_rate(limits, st, ts: int) -> float:
    """Equity lost since the start of the oldest bucket of the sliding window (USD, >= 0 = loss).

    The window is cut into LOSS_BUCKETS buckets; each stores the equity at its first
    update, so the look-back is between (1 - 1/LOSS_BUCKETS) and 1 window long. Buckets
    skipped by a gap in updates get the last equity seen: at most LOSS_BUCKETS writes.
    """
    w = limits.loss_window_ns // LOSS_BUCKETS
    if w <= 0:
        w = 1
    b = ts // w
    if st.loss_bucket < 0:
        for k in range(LOSS_BUCKETS):
            st.loss_ring[k] = st.equity
    elif b > st.loss_bucket:
        # buckets skipped by a gap in updates began at the last equity seen
        for k in range(max(st.loss_bucket + 1, b - LOSS_BUCKETS + 1), b):
            st.loss_ring[k % LOSS_BUCKETS] = st.loss_last_eq
        st.loss_ring[b % LOSS_BUCKETS] = st.equity
    st.loss_bucket = max(b, st.loss_bucket)
    st.loss_last_eq = st.equity
    oldest = st.loss_ring[(st.loss_bucket + 1) % LOSS_BUCKETS]
    return oldest - st.equity


@kernel
def update_equity(limits, st, ts: int) -> int:
    """After equity moved: high-water mark, drawdown, daily-loss / drawdown / loss-rate breakers."""
    eq = st.equity
    if ts > st.last_ts:
        st.last_ts = ts
    if eq > st.hwm:
        st.hwm = eq
    dd = (st.hwm - eq) / st.hwm if st.hwm > 0.0 else 0.0
    st.drawdown = dd
    if dd > st.max_drawdown:
        st.max_drawdown = dd
    act = RiskAction.NONE.value
    if limit_set(limits.max_daily_loss):
        loss = st.day_start_equity - eq
        if loss >= limits.max_daily_loss:
            act = max(act, trip(limits, st, 0, -1, ts, loss, limits.max_daily_loss))
    if limit_set(limits.max_drawdown) and dd >= limits.max_drawdown:
        act = max(act, trip(limits, st, 1, -1, ts, dd, limits.max_drawdown))
    if limits.loss_window_ns > 0 and limit_set(limits.max_loss_in_window):
        lost = _loss_rate(limits, st, ts)
        if lost >= limits.max_loss_in_window:
            act = max(act, trip(limits, st, 2, -1, ts, lost, limits.max_loss_in_window))
    return act


@kernel(inline="always")
def arm_stops(limits, s, side: int, price: float, ts: int) -> None:
    """Arm the default stops of ``limits`` for a position just opened at ``price``."""
    d = float(side)
    s.entry_ts = ts
    s.entry_price = price
    s.peak = price
    s.stop_fired = StopKind.NONE.value
    s.stop_price = (
        price * (1.0 - d * limits.stop_loss_pct) if limit_set(limits.stop_loss_pct) else np.nan
    )
    s.take_profit = (
        price * (1.0 + d * limits.take_profit_pct) if limit_set(limits.take_profit_pct) else np.nan
    )
    s.trail_pct = limits.trailing_pct if limit_set(limits.trailing_pct) else np.nan
    s.trail_atr_mult = limits.trailing_atr_mult if limit_set(limits.trailing_atr_mult) else np.nan
    s.time_stop_ns = limits.time_stop_ns if limits.time_stop_ns > 0 else 0


@kernel(inline="always")
def disarm_stops(s) -> None:
    """Clear every stop of a symbol (position closed)."""
    s.stop_price = np.nan
    s.take_profit = np.nan
    s.trail_pct = np.nan
    s.trail_atr_mult = np.nan
    s.time_stop_ns = 0
    s.stop_fired = StopKind.NONE.value


@kernel
def eval_stops(st, s, sym: int, ts: int) -> int:
    """Check the armed stops of one position at its current mark; return the StopKind fired.

    Long (short mirrored): stop-loss fires when mark <= stop, take-profit when mark >=
    target, trailing when mark <= peak * (1 - pct) or <= peak - mult * ATR, with the
    peak including this mark; time stop when ts - entry_ts >= limit. Once one fires the
    others are disarmed with it (OCO) until the position changes or ``rearm`` is called.
    """
    pos = s.position
    if pos == 0.0 or s.stop_fired != 0:
        return StopKind.NONE.value
    p = s.mark
    if not np.isfinite(p):
        return StopKind.NONE.value
    d = 1.0 if pos > 0.0 else -1.0
    if d > 0.0:
        if p > s.peak:
            s.peak = p
    elif p < s.peak:
        s.peak = p
    kind = StopKind.NONE.value
    level = np.nan
    if np.isfinite(s.stop_price) and d * (p - s.stop_price) <= 0.0:
        kind = StopKind.STOP_LOSS.value
        level = s.stop_price
    elif np.isfinite(s.take_profit) and d * (p - s.take_profit) >= 0.0:
        kind = StopKind.TAKE_PROFIT.value
        level = s.take_profit
    elif np.isfinite(s.trail_pct) and d * (p - s.peak * (1.0 - d * s.trail_pct)) <= 0.0:
        kind = StopKind.TRAILING_PCT.value
        level = s.peak * (1.0 - d * s.trail_pct)
    elif (
        np.isfinite(s.trail_atr_mult)
        and np.isfinite(s.atr)
        and s.atr > 0.0
        and d * (p - (s.peak - d * s.trail_atr_mult * s.atr)) <= 0.0
    ):
        kind = StopKind.TRAILING_ATR.value
        level = s.peak - d * s.trail_atr_mult * s.atr
    elif s.time_stop_ns > 0 and ts - s.entry_ts >= s.time_stop_ns:
        kind = StopKind.TIME.value
        level = float(s.entry_ts + s.time_stop_ns)
    if kind != StopKind.NONE.value:
        s.stop_fired = kind
        s.stop_ts = ts
        log_event(st, ts, sym, RiskEventKind.STOP.value, kind, p, level)
    return kind

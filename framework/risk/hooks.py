"""The risk hooks both drivers call: one definition, compiled once, no Python per call.

Lifecycle (backtest loop and live driver alike)::

    limits, sym_limits, state, sym_state = make_risk(cfg, n_symbols, initial_equity)
    start_session(limits, state, sym_state, open_ns, close_ns)        # each session
    on_mark(...)            # every quote / trade / bar close of a symbol -> RiskAction
    pre_trade_check(...)    # every new order (entries, exits, flattens) -> RejectReason
    on_fill(...)            # every fill
    on_order_closed(...)    # order canceled / expired / rejected by the venue: release
                            # its unfilled quantity (reserved by pre_trade_check)
    on_timer(...)           # periodically (e.g. once a second): stale-data breaker
    on_latency(...), on_reference_price(...), set_halt(...)          # when measured / seen
    kill_switch(state); reset_kill(state, ts); reset_breakers(limits, state, mask, ts)

All ``@kernel`` (``framework.types.jit``): call them from numba code or from Python
(the live driver).
Arrays are those of ``framework.risk.dtypes``; ``limits`` and ``state`` have length 1.
Units: ``ts_ns`` int64 ns UTC, ``qty`` shares > 0, ``side`` +1 buy / -1 sell
(``framework.types.Side``), prices and fees USD.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from framework.risk.config import RiskConfig
from framework.risk.dtypes import (
    RISK_STATE_DTYPE,
    SYMBOL_RISK_STATE_DTYPE,
    Breaker,
    RiskAction,
    RiskEventKind,
    StopKind,
)
from framework.risk.kernels_checks import check_order, is_reducing, record_rate
from framework.risk.kernels_guard import (
    arm_stops,
    disarm_stops,
    eval_stops,
    trip,
    update_equity,
)
from framework.risk.kernels_pnl import (
    apply_fill,
    choose_mark,
    limit_set,
    log_event,
    refresh_sym,
    set_mark,
)
from framework.types.codes import RejectReason
from framework.types.jit import kernel

_DAILY_MASK = (1 << Breaker.DAILY_LOSS) | (1 << Breaker.DRAWDOWN) | (1 << Breaker.LOSS_RATE)


def make_risk(
    config: RiskConfig,
    n_symbols: int,
    initial_equity: float,
    symbols: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Allocate ``(limits, sym_limits, state, sym_state)`` for a run.

    ``initial_equity`` USD (cash, no positions). ``symbols`` (ticker per sym id) is needed
    only when ``config.symbols`` has per-ticker overrides.
    """
    if n_symbols < 1:
        raise ValueError(f"n_symbols must be >= 1, got {n_symbols}")
    limits, sym_limits = config.to_arrays(n_symbols, symbols)
    state = np.zeros(1, RISK_STATE_DTYPE)
    st = state[0]
    st["initial_equity"] = initial_equity
    st["cash"] = initial_equity
    st["equity"] = initial_equity
    st["hwm"] = initial_equity
    st["day_start_equity"] = initial_equity
    st["loss_bucket"] = -1
    st["loss_last_eq"] = initial_equity
    sym_state = np.zeros(n_symbols, SYMBOL_RISK_STATE_DTYPE)
    for f in (
        "bid",
        "ask",
        "last",
        "mark",
        "entry_price",
        "peak",
        "stop_price",
        "take_profit",
        "trail_pct",
        "trail_atr_mult",
        "atr",
    ):
        sym_state[f] = np.nan
    return limits, sym_limits, state, sym_state


@kernel
def pre_trade_check(limits, sym_limits, state, sym_state, sym, side, qty, price, ts_ns) -> int:
    """Check one new order; return a ``RejectReason`` code (0 = accepted).

    ``price``: reference price, USD (limit price, or the current mark for a market
    order). Accepted orders reserve ``qty`` until ``on_fill``/``on_order_closed``.
    Rejections are counted per reason, logged as events, and count toward the
    consecutive-rejects breaker (except breaker/kill rejections).
    """
    st = state[0]
    lim = limits[0]
    st.n_checks += 1
    if ts_ns > st.last_ts:
        st.last_ts = ts_ns
    if sym < 0 or sym >= sym_state.shape[0]:
        reason = RejectReason.INVALID_ORDER.value
        thr = np.nan
    else:
        s = sym_state[sym]
        reducing = is_reducing(s, side, qty)
        reason, thr = check_order(lim, sym_limits[sym], st, s, side, qty, price, ts_ns)
        if reason == RejectReason.NONE.value:
            st.n_accepted += 1
            st.consecutive_rejects = 0
            if not reducing:
                record_rate(st, ts_ns)
            if side > 0:
                s.open_buy += qty
            else:
                s.open_sell += qty
            if not np.isfinite(s.mark):
                s.mark = price
            refresh_sym(st, s)
            return 0
    st.n_rejected += 1
    st.reject_counts[reason] += 1
    log_event(st, ts_ns, sym, RiskEventKind.REJECT.value, reason, qty, thr)
    if reason != RejectReason.CIRCUIT_BREAKER.value and reason != RejectReason.KILL_SWITCH.value:
        st.consecutive_rejects += 1
        n = lim.max_consecutive_rejects
        if n > 0 and st.consecutive_rejects >= n:
            trip(
                lim,
                st,
                Breaker.CONSECUTIVE_REJECTS.value,
                sym,
                ts_ns,
                float(st.consecutive_rejects),
                float(n),
            )
    return reason


@kernel
def on_fill(limits, sym_limits, state, sym_state, sym, side, qty, price, fee, ts_ns) -> None:
    """Book a fill of ``qty`` shares at ``price`` USD with ``fee`` USD.

    Updates position, cash, lots (FIFO, LIFO, average cost), realized P&L, fees,
    releases the order's reservation, arms default stops when a position opens and
    re-evaluates the equity breakers (their action is returned by the next ``on_mark``).
    """
    st = state[0]
    lim = limits[0]
    s = sym_state[sym]
    if side > 0:
        s.open_buy = max(0.0, s.open_buy - qty)
    else:
        s.open_sell = max(0.0, s.open_sell - qty)
    opened = apply_fill(st, s, sym, side, qty, price, fee, ts_ns)
    # a fill is a trade print, the symbol's newest last price: without it a position just
    # bought at a gapped open would count at the previous close, and the equity a later
    # fill meets (the buying-power floor, the breakers) would hold a gain that never was.
    # The data clock (last_md_ts, the stale-data rule) is the feed's, not moved here.
    s.last = price
    choose_mark(lim, s)
    if s.position == 0.0:
        disarm_stops(s)
    elif opened:
        arm_stops(lim, s, 1 if s.position > 0.0 else -1, price, ts_ns)
    refresh_sym(st, s)
    update_equity(lim, st, ts_ns)


@kernel
def on_order_resized(limits, sym_limits, state, sym_state, sym, side, delta_qty, ts_ns) -> None:
    """An accepted order's quantity changed by ``delta_qty`` shares (sized at its fill):
    move its reservation with it. The limits were checked on the estimate at the decision;
    the buying-power rule is applied again at every fill."""
    st = state[0]
    s = sym_state[sym]
    if side > 0:
        s.open_buy = max(0.0, s.open_buy + delta_qty)
    else:
        s.open_sell = max(0.0, s.open_sell + delta_qty)
    refresh_sym(st, s)


@kernel
def on_order_closed(limits, sym_limits, state, sym_state, sym, side, remaining_qty, ts_ns) -> None:
    """Release the unfilled ``remaining_qty`` shares of an order that will not fill any more."""
    st = state[0]
    s = sym_state[sym]
    if side > 0:
        s.open_buy = max(0.0, s.open_buy - remaining_qty)
    else:
        s.open_sell = max(0.0, s.open_sell - remaining_qty)
    refresh_sym(st, s)


@kernel(inline="always")  # per bar in the engine loop: a call cost 15 % of the loop
def on_mark(limits, sym_limits, state, sym_state, sym, bid, ask, last, ts_ns) -> int:
    """Market-data update for ``sym`` (USD; NaN = side not in this update) at ``ts_ns``.

    Re-marks the position (mid or last per ``limits.mark_source``), updates equity,
    high-water mark and drawdown, evaluates the equity breakers and this symbol's stops.
    Returns the strongest ``RiskAction`` due: FLATTEN_ALL (kill switch or a flattening
    breaker, reported once), EXIT_POSITION (a stop fired: ``fired_stop``),
    PAUSE_ENTRIES (a breaker tripped), else NONE.
    """
    st = state[0]
    lim = limits[0]
    s = sym_state[sym]
    set_mark(lim, s, bid, ask, last, ts_ns)
    kind = StopKind.NONE.value
    if s.active:
        refresh_sym(st, s)
        update_equity(lim, st, ts_ns)
        kind = eval_stops(st, s, sym, ts_ns)
    elif ts_ns > st.last_ts:
        # flat, nothing working: its contributions are zero before and after, so equity
        # and every equity breaker are unchanged, and there is no stop to evaluate
        st.last_ts = ts_ns
    act = st.pending_action
    st.pending_action = RiskAction.NONE.value
    if kind != StopKind.NONE.value and act < RiskAction.EXIT_POSITION.value:
        act = RiskAction.EXIT_POSITION.value
    return act


@kernel
def on_timer(limits, sym_limits, state, sym_state, ts_ns) -> int:
    """Clock tick: trip the stale-data breaker if a symbol had no update for too long.

    Only inside the session set by ``start_session`` (always, if none set). Costs
    O(n_symbols); call it on a timer (e.g. 1 s), not per event. Returns the RiskAction.
    """
    st = state[0]
    lim = limits[0]
    if ts_ns > st.last_ts:
        st.last_ts = ts_ns
    if lim.stale_data_ns <= 0:
        return RiskAction.NONE.value
    if st.session_close_ns > 0 and not (st.session_open_ns <= ts_ns < st.session_close_ns):
        return RiskAction.NONE.value
    act = RiskAction.NONE.value
    for i in range(sym_state.shape[0]):
        seen = max(sym_state[i].last_md_ts, st.session_open_ns)
        if seen > 0 and ts_ns - seen > lim.stale_data_ns:
            act = max(
                act,
                trip(
                    lim,
                    st,
                    Breaker.STALE_DATA.value,
                    i,
                    ts_ns,
                    float(ts_ns - seen),
                    float(lim.stale_data_ns),
                ),
            )
            break
    return act


@kernel
def on_latency(limits, state, latency_ns, ts_ns) -> int:
    """One latency observation (ns, e.g. receive time - exchange time); trips on a spike."""
    st = state[0]
    lim = limits[0]
    st.last_latency_ns = latency_ns
    if lim.max_latency_ns > 0 and latency_ns > lim.max_latency_ns:
        return trip(
            lim, st, Breaker.LATENCY.value, -1, ts_ns, float(latency_ns), float(lim.max_latency_ns)
        )
    return RiskAction.NONE.value


@kernel
def on_reference_price(limits, sym_limits, state, sym_state, sym, price, ts_ns) -> int:
    """A second source's price for ``sym`` (USD); trips if it disagrees with the mark."""
    st = state[0]
    lim = limits[0]
    m = sym_state[sym].mark
    if limit_set(lim.max_price_discrepancy) and np.isfinite(m) and m > 0.0 and price > 0.0:
        gap = abs(price / m - 1.0)
        if gap > lim.max_price_discrepancy:
            return trip(
                lim, st, Breaker.PRICE_DISCREPANCY.value, sym, ts_ns, gap, lim.max_price_discrepancy
            )
    return RiskAction.NONE.value


@kernel
def set_halt(state, sym_state, sym, halted, ts_ns) -> None:
    """Set / clear the trading halt of ``sym`` (LOBSTER/ITCH halt, venue status)."""
    s = sym_state[sym]
    if s.halted != halted:
        s.halted = halted
        log_event(state[0], ts_ns, sym, RiskEventKind.HALT.value, 0, 1.0 if halted else 0.0, np.nan)


@kernel
def on_halt_message(state, sym_state, sym, price, ts_ns) -> None:
    """Apply a halt message (``BookEvent.HALT``) using LOBSTER's price convention.

    LOBSTER type-7 messages carry price -1 (halt), 0 (quoting resumes, trading still
    halted) or 1 (trading resumes); the sign survives any price scaling. An ITCH 'H'
    trading-action message maps to the same codes: 'H'/'P' -> -1, 'Q' -> 0, 'T' -> 1.
    """
    set_halt(state, sym_state, sym, not (price > 0.0), ts_ns)


@kernel
def kill_switch(state) -> None:
    """Engage the kill switch: entries refused; next ``on_mark`` returns FLATTEN_ALL."""
    st = state[0]
    if not st.kill:
        st.kill = True
        st.flatten = True
        st.pending_action = RiskAction.FLATTEN_ALL.value
        log_event(st, st.last_ts, -1, RiskEventKind.KILL.value, 0, st.equity, np.nan)


@kernel
def reset_kill(state, ts_ns) -> None:
    """Release the kill switch (explicit operator action)."""
    st = state[0]
    if st.kill:
        st.kill = False
        st.flatten = st.flatten and st.breakers != 0
        log_event(st, ts_ns, -1, RiskEventKind.KILL_RESET.value, 0, st.equity, np.nan)


@kernel
def reset_breakers(limits, state, mask, ts_ns) -> None:
    """Clear the tripped breakers in bitmask ``mask`` (``1 << Breaker``; -1 = all)."""
    st = state[0]
    for b in range(8):
        m = np.int64(1) << b
        if (st.breakers & m) and (mask & m):
            st.breakers &= ~m
            log_event(st, ts_ns, -1, RiskEventKind.BREAKER_RESET.value, b, 0.0, np.nan)
            if b == Breaker.CONSECUTIVE_REJECTS.value:
                st.consecutive_rejects = 0
            if b == Breaker.LOSS_RATE.value:
                st.loss_bucket = -1
    if (st.breakers & limits[0].flatten_mask) == 0 and not st.kill:
        st.flatten = False


@kernel
def start_session(limits, state, sym_state, open_ns, close_ns) -> None:
    """Begin a trading session [open_ns, close_ns): new day-start equity and intraday
    high-water mark; the daily breakers (daily loss, drawdown, loss rate) are reset."""
    st = state[0]
    reset_breakers(limits, state, _DAILY_MASK, open_ns)
    st.session_open_ns = open_ns
    st.session_close_ns = close_ns
    st.day_start_equity = st.equity
    st.hwm = st.equity
    st.drawdown = 0.0
    st.max_drawdown = 0.0
    st.loss_bucket = -1
    if open_ns > st.last_ts:
        st.last_ts = open_ns
    log_event(st, open_ns, -1, RiskEventKind.SESSION_START.value, 0, st.equity, np.nan)


@kernel
def set_bracket(
    sym_state, sym, stop_price, take_profit, trail_pct, trail_atr_mult, time_stop_ns
) -> None:
    """Set (and re-arm) the stops of the open position of ``sym``; NaN / 0 leaves a leg off.

    Prices USD, ``trail_pct`` fraction, ``trail_atr_mult`` ATR multiples, ``time_stop_ns``
    holding time from entry (ns). The legs are one OCO group: the first to fire
    disarms the others.
    """
    s = sym_state[sym]
    s.stop_price = stop_price if stop_price > 0.0 else np.nan
    s.take_profit = take_profit if take_profit > 0.0 else np.nan
    s.trail_pct = trail_pct if trail_pct > 0.0 else np.nan
    s.trail_atr_mult = trail_atr_mult if trail_atr_mult > 0.0 else np.nan
    s.time_stop_ns = time_stop_ns if time_stop_ns > 0 else 0
    s.stop_fired = 0
    if np.isfinite(s.mark) and s.position != 0.0:
        s.peak = s.mark if not np.isfinite(s.peak) else s.peak


@kernel(inline="always")
def set_trailing(sym_state, sym, trail_pct, trail_atr_mult) -> None:
    """Trailing stops of the open position of ``sym`` for this trade: ``trail_pct``
    (fraction off the best mark), ``trail_atr_mult`` (ATR multiples); NaN or 0 keeps what
    is armed (the ``[risk]`` defaults)."""
    s = sym_state[sym]
    if trail_pct > 0.0:
        s.trail_pct = trail_pct
    if trail_atr_mult > 0.0:
        s.trail_atr_mult = trail_atr_mult


@kernel
def set_atr(sym_state, sym, atr) -> None:
    """Latest ATR of ``sym`` in USD, used by the ATR trailing stop."""
    sym_state[sym].atr = atr


@kernel
def fired_stop(sym_state, sym) -> int:
    """``StopKind`` of the stop that fired for ``sym`` (0 = none since the position opened)."""
    return sym_state[sym].stop_fired


@kernel
def entries_paused(state) -> bool:
    """True while the kill switch or any breaker refuses new entries."""
    return state[0].kill or state[0].breakers != 0

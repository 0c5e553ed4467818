"""Accounting kernels: lots (FIFO, LIFO, average cost side by side), marks, totals.

All functions take records (``state[0]``, ``sym_state[sym]``) and update them in
place. Portfolio totals are kept incrementally: each symbol stores its last
contribution (``c_*``) and a refresh replaces it in the total, so a fill or a mark
costs O(1) whatever the number of symbols. Lot queues cost O(1) amortised per fill
(each lot is pushed once and consumed once).

The P&L identity holds under every method by construction: for each method,
realized + (position * mark - cost of open lots) = sum(position * mark) - sum(signed
qty * price), which is the equity change before fees.
"""

from __future__ import annotations

import numpy as np

from framework.risk.dtypes import EVENT_CAP, EVENT_RESERVE, MAX_LOTS, RiskEventKind
from framework.types.jit import kernel

EPS = 1e-9  # shares: a position smaller than this is flat (float dust from partial fills)


@kernel(inline="always")
def limit_set(x: float) -> bool:
    """A float threshold is enabled when it is a positive number (0 / NaN = disabled)."""
    return x > 0.0


@kernel(inline="always")
def log_event(st, ts: int, sym: int, kind: int, reason: int, value: float, threshold: float):
    """Append one row to the state's risk-event log (counted as dropped when full).

    Rejections may fill the log only up to EVENT_CAP - EVENT_RESERVE rows, so a flood
    of rejections never hides a later breaker, stop or kill event.
    """
    n = st.ev_n
    cap = EVENT_CAP - EVENT_RESERVE if kind == RiskEventKind.REJECT.value else EVENT_CAP
    if n >= cap:
        st.ev_dropped += 1
        return
    st.ev_ts[n] = ts
    st.ev_sym[n] = sym
    st.ev_kind[n] = kind
    st.ev_reason[n] = reason
    st.ev_value[n] = value
    st.ev_threshold[n] = threshold
    st.ev_n = n + 1


@kernel(inline="always")
def refresh_sym(st, s) -> None:
    """Recompute one symbol's exposure contributions at its mark and fold them into totals."""
    m = s.mark
    if not np.isfinite(m):
        m = 0.0
    pos = s.position
    hi = pos + s.open_buy
    lo = pos - s.open_sell
    mv = pos * m
    gross = abs(pos) * m
    worst = max(abs(hi), abs(lo)) * m
    st.mkt_value += mv - s.c_mv
    st.gross += gross - s.c_gross
    st.gross_worst += worst - s.c_worst
    st.net_hi += hi * m - s.c_hi
    st.net_lo += lo * m - s.c_lo
    s.c_mv = mv
    s.c_gross = gross
    s.c_worst = worst
    s.c_hi = hi * m
    s.c_lo = lo * m
    has_pos = pos != 0.0
    active = has_pos or s.open_buy > 0.0 or s.open_sell > 0.0
    if active != s.active:
        st.n_active += 1 if active else -1
        s.active = active
    st.equity = st.cash + st.mkt_value


@kernel(inline="always")
def _push_lot(qty_arr, px_arr, start: int, n: int, qty: float, px: float) -> int:
    """Append a lot at the logical end of a ring starting at ``start``; merge if full.

    Returns 1 when the ring was full and the lot was merged into the newest one (the
    merge keeps total quantity and total cost, so the P&L identity still holds).
    """
    if n < MAX_LOTS:
        j = (start + n) % MAX_LOTS
        qty_arr[j] = qty
        px_arr[j] = px
        return 0
    j = (start + n - 1) % MAX_LOTS
    q = qty_arr[j] + qty
    px_arr[j] = (qty_arr[j] * px_arr[j] + qty * px) / q
    qty_arr[j] = q
    return 1


@kernel
def _close_fifo(s, close: float, price: float, sgn: float) -> float:
    """Consume ``close`` shares from the oldest lots; return realized USD (before fees)."""
    pnl = 0.0
    while close > EPS and s.fifo_n > 0:
        h = s.fifo_head
        take = min(close, s.fifo_qty[h])
        pnl += take * (price - s.fifo_px[h]) * sgn
        s.cost[0] -= sgn * take * s.fifo_px[h]
        s.fifo_qty[h] -= take
        close -= take
        if s.fifo_qty[h] <= EPS:
            s.fifo_head = (h + 1) % MAX_LOTS
            s.fifo_n -= 1
    return pnl


@kernel
def _close_lifo(s, close: float, price: float, sgn: float) -> float:
    """Consume ``close`` shares from the newest lots; return realized USD (before fees)."""
    pnl = 0.0
    while close > EPS and s.lifo_n > 0:
        t = s.lifo_n - 1
        take = min(close, s.lifo_qty[t])
        pnl += take * (price - s.lifo_px[t]) * sgn
        s.cost[1] -= sgn * take * s.lifo_px[t]
        s.lifo_qty[t] -= take
        close -= take
        if s.lifo_qty[t] <= EPS:
            s.lifo_n -= 1
    return pnl


@kernel
def _open_lots(st, s, sym: int, ts: int, qty: float, price: float, sgn: float) -> None:
    """Add ``qty`` shares at ``price`` in direction ``sgn`` to every method's book."""
    s.cost[0] += sgn * qty * price
    s.cost[1] += sgn * qty * price
    if _push_lot(s.fifo_qty, s.fifo_px, s.fifo_head, s.fifo_n, qty, price) == 0:
        s.fifo_n += 1
    else:
        s.lot_overflow += 1
        log_event(st, ts, sym, RiskEventKind.LOT_OVERFLOW.value, 0, MAX_LOTS, MAX_LOTS)
    if _push_lot(s.lifo_qty, s.lifo_px, 0, s.lifo_n, qty, price) == 0:
        s.lifo_n += 1
    else:
        s.lot_overflow += 1
        log_event(st, ts, sym, RiskEventKind.LOT_OVERFLOW.value, 1, MAX_LOTS, MAX_LOTS)


@kernel
def apply_fill(st, s, sym: int, side: int, qty: float, price: float, fee: float, ts: int) -> bool:
    """Book one fill: cash, fees, position, lots and realized P&L under all methods.

    Returns True when the fill opened a new position (from flat or by flipping sides),
    so the caller arms stops from ``entry_price``.
    """
    d = side * qty
    pos = s.position
    st.cash -= d * price + fee
    st.fees += fee
    s.fees += fee
    s.n_fills += 1
    c0 = s.cost[0]
    c1 = s.cost[1]
    c2 = s.cost[2]
    r0 = s.realized[0]
    r1 = s.realized[1]
    r2 = s.realized[2]
    opened = False
    if pos == 0.0 or (pos > 0.0) == (side > 0):
        new = pos + d
        s.avg_cost = (pos * s.avg_cost + d * price) / new
        _open_lots(st, s, sym, ts, qty, price, float(side))
        opened = pos == 0.0
    else:
        sgn = 1.0 if pos > 0.0 else -1.0
        close = min(qty, abs(pos))
        s.realized[0] += _close_fifo(s, close, price, sgn)
        s.realized[1] += _close_lifo(s, close, price, sgn)
        s.realized[2] += close * (price - s.avg_cost) * sgn
        new = pos + d
        rest = qty - close
        if abs(new) <= EPS:
            new = 0.0
        if rest > EPS and new != 0.0:
            s.avg_cost = price
            _open_lots(st, s, sym, ts, rest, price, float(side))
            opened = True
    if new == 0.0:
        # flat: whatever dust the queues hold has no economic meaning; drop it
        s.fifo_n = 0
        s.fifo_head = 0
        s.lifo_n = 0
        s.cost[0] = 0.0
        s.cost[1] = 0.0
        s.avg_cost = 0.0
    s.position = new
    s.cost[2] = new * s.avg_cost
    st.cost[0] += s.cost[0] - c0
    st.cost[1] += s.cost[1] - c1
    st.cost[2] += s.cost[2] - c2
    st.realized[0] += s.realized[0] - r0
    st.realized[1] += s.realized[1] - r1
    st.realized[2] += s.realized[2] - r2
    was_pos = pos != 0.0
    if was_pos != (new != 0.0):
        st.n_positions += 1 if new != 0.0 else -1
    return opened


@kernel(inline="always")
def set_mark(limits, s, bid: float, ask: float, last: float, ts: int) -> None:
    """Store a market-data update and choose the mark (mid or last, with fallback)."""
    if np.isfinite(bid) and bid > 0.0:
        s.bid = bid
    if np.isfinite(ask) and ask > 0.0:
        s.ask = ask
    if np.isfinite(last) and last > 0.0:
        s.last = last
    choose_mark(limits, s)
    s.last_md_ts = ts


@kernel(inline="always")
def choose_mark(limits, s) -> None:
    """Mark the symbol at its quote mid or its last price (``limits.mark_source``, the
    other as fallback); unchanged while neither is known."""
    mid = np.nan
    if np.isfinite(s.bid) and np.isfinite(s.ask) and s.ask >= s.bid:
        mid = 0.5 * (s.bid + s.ask)
    m = np.nan
    if limits.mark_source == 1:
        m = s.last if np.isfinite(s.last) else mid
    else:
        m = mid if np.isfinite(mid) else s.last
    if np.isfinite(m):
        s.mark = m


@kernel(inline="always")
def reference_price(s) -> float:
    """Price an order is collared against: the quote mid if both sides are known, else last."""
    if np.isfinite(s.bid) and np.isfinite(s.ask) and s.ask >= s.bid:
        return 0.5 * (s.bid + s.ask)
    return s.last

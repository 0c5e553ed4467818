"""Numba kernels of trade-to-bar aggregation: one step rule, a batch loop and a stream entry.

Every bar kind (time, tick, volume, dollar, tick-imbalance) is one function, ``step``,
that consumes ONE trade and updates per-symbol state held in two plain arrays
(``st_i`` int64 ``[n_sym, NI]``, ``st_f`` float64 ``[n_sym, NF]``), writing any bar it
completes into a BAR_DTYPE output buffer. ``step`` is two halves, ``_step_fast`` (a
trade that only adds to an open bar) then ``_step_full`` (everything else);
``run_batch`` loops the two halves over arrays (so LLVM inlines the small one), and
``stream_push`` calls ``step`` for one trade (the live driver's path). Both forms run the
very same code, so they emit identical bars; the property tests in
``tests/marketdata/bars`` check it anyway.

Sale conditions reach the kernels as one role per trade (``sale_conditions.role_of``):
which of high/low, last (open/close) and volume it updates, and the auction marks. A bar
opened by a trade that may not set its prices starts from the symbol's last close and
takes its first eligible price when one arrives (see ``_emit``). The listing market's
closing print and official close, stamped after the close, are moved to the session's
last instant before they reach ``step`` (``close_window_of`` / ``release_order``).

Sessions: ``opens``/``closes`` (ns UTC, sorted, one row per XNYS session) define when
trades count; ``slot_off[d]`` is the global index of session d's first time-bar slot
(slots are ``interval`` ns long from the session open, the last one cut at the close).
"""

from __future__ import annotations

import numpy as np

from framework.marketdata.sale_conditions import first_close_after
from framework.types.jit import njit

# bar kinds (params int row P_KIND)
TIME = 0
TICK = 1
VOLUME = 2
DOLLAR = 3
TICK_IMBALANCE = 4

# int params
P_KIND, P_INTERVAL, P_TICKS, P_RESET, P_FFILL = 0, 1, 2, 3, 4
NP_I = 5
# float params
Q_THRESHOLD, Q_ET0, Q_ALPHA_T, Q_ALPHA_B, Q_MIN_IMB, Q_ET_MIN, Q_ET_MAX = 0, 1, 2, 3, 4, 5, 6
NP_F = 7

# counters
C_ACCEPTED, C_BAD, C_OUT_OF_ORDER, C_OUT_OF_SESSION, C_BARS, C_FILLED, C_EXCLUDED = range(7)
N_COUNTERS = 7

# int state per symbol (S_PX: bit 1 = the open bar has a last-sale price, bit 2 = a
# high/low price; until then its prices are placeholders)
S_OPEN, S_KEY, S_N, S_FIRST, S_LAST, S_WATER, S_CUR, S_START, S_END, S_LASTKEY, S_HASCLOSE = (
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
S_PX = 11
NI = 12

# trade roles (framework.marketdata.sale_conditions): what a trade updates
U_HL, U_LAST, U_VOL, R_OPEN, R_CLOSE, R_HELD = 1, 2, 4, 8, 16, 32
FULL = U_HL | U_LAST | U_VOL
# float state per symbol
F_O, F_H, F_L, F_C, F_V, F_PV, F_CUM, F_PREVPX, F_PREVB, F_ET, F_EB, F_LASTCLOSE = (
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
NF = 12

INT64_MIN = np.iinfo(np.int64).min


@njit(cache=True)
def init_state(n_sym, pf):
    """Fresh per-symbol state for ``n_sym`` symbols."""
    st_i = np.zeros((n_sym, NI), np.int64)
    st_f = np.zeros((n_sym, NF), np.float64)
    for s in range(n_sym):
        st_i[s, S_WATER] = INT64_MIN
        st_i[s, S_LASTKEY] = -1
        st_f[s, F_PREVPX] = np.nan
        st_f[s, F_ET] = pf[Q_ET0]
    return st_i, st_f


@njit(cache=True)
def slot_offsets(opens, closes, interval):
    """Global index of each session's first time-bar slot (length n_sessions + 1)."""
    n = opens.shape[0]
    off = np.zeros(n + 1, np.int64)
    for d in range(n):
        off[d + 1] = off[d] + (closes[d] - opens[d] + interval - 1) // interval
    return off


@njit(cache=True)
def _write(out, j, ts, sym, o, h, lo, c, v, vwap, n, first, last):
    r = out[j]
    r["ts"] = ts
    r["sym"] = sym
    r["open"] = o
    r["high"] = h
    r["low"] = lo
    r["close"] = c
    r["volume"] = v
    r["vwap"] = vwap
    r["n"] = n
    r["first_ts"] = first
    r["last_ts"] = last
    return j + 1


@njit(cache=True)
def _emit(s, label, st_i, st_f, out, j, cnt):
    """Write symbol ``s``'s open bar (label ``label`` ns) and mark it closed.

    A bar whose trades may not set its open/close (or high/low) keeps the symbol's last
    close there; with no earlier close, its VWAP. High/low then widen to hold open and
    close, so every bar has low <= open, close <= high."""
    v = st_f[s, F_V]
    vwap = st_f[s, F_PV] / v if v > 0.0 else st_f[s, F_C]
    px = st_i[s, S_PX]
    if px != 3:
        base = st_f[s, F_LASTCLOSE] if st_i[s, S_HASCLOSE] == 1 else vwap
        if (px & 1) == 0:
            st_f[s, F_O] = base
            st_f[s, F_C] = base
        if (px & 2) == 0:
            st_f[s, F_H] = max(st_f[s, F_O], st_f[s, F_C])
            st_f[s, F_L] = min(st_f[s, F_O], st_f[s, F_C])
        st_f[s, F_H] = max(st_f[s, F_H], st_f[s, F_O], st_f[s, F_C])
        st_f[s, F_L] = min(st_f[s, F_L], st_f[s, F_O], st_f[s, F_C])
        if v == 0.0:
            vwap = st_f[s, F_C]
    j = _write(out, j, label, s, st_f[s, F_O], st_f[s, F_H], st_f[s, F_L], st_f[s, F_C], v,
               vwap, st_i[s, S_N], st_i[s, S_FIRST], st_i[s, S_LAST])
    st_i[s, S_OPEN] = 0
    st_i[s, S_LASTKEY] = st_i[s, S_KEY]
    st_i[s, S_HASCLOSE] = 1
    st_f[s, F_LASTCLOSE] = st_f[s, F_C]
    cnt[C_BARS] += 1
    return j


@njit(cache=True)
def _fill(s, hi_slot, opens, slot_off, interval, st_i, st_f, out, j, cnt):
    """Forward-filled time bars for symbol ``s`` on slots (LASTKEY, hi_slot): price = last
    close, volume 0, n 0, first_ts = last_ts = 0. Nothing before the symbol's first bar."""
    if st_i[s, S_HASCLOSE] == 0:
        return j
    slot = st_i[s, S_LASTKEY] + 1
    if slot >= hi_slot:
        return j
    p = st_f[s, F_LASTCLOSE]
    d = 0
    while slot_off[d + 1] <= slot:
        d += 1
    while slot < hi_slot:
        while slot_off[d + 1] <= slot:
            d += 1
        label = opens[d] + (slot - slot_off[d]) * interval
        j = _write(out, j, label, s, p, p, p, p, 0.0, p, 0, 0, 0)
        cnt[C_FILLED] += 1
        slot += 1
    st_i[s, S_LASTKEY] = hi_slot - 1
    return j


@njit(cache=True)
def _session_of(ts, cur, opens, closes):
    """Index of the session holding ``ts`` searching forward from ``cur``; -1 if none.
    Also returns the advanced cursor (first session whose close is after ts)."""
    n = opens.shape[0]
    while cur < n and ts >= closes[cur]:
        cur += 1
    if cur < n and ts >= opens[cur]:
        return cur, cur
    return -1, cur


@njit(cache=True)
def _open_bar(s, ts, st_i, st_f):
    st_i[s, S_OPEN] = 1
    st_i[s, S_N] = 0
    st_i[s, S_FIRST] = ts
    st_i[s, S_PX] = 0
    st_f[s, F_V] = 0.0
    st_f[s, F_PV] = 0.0
    st_f[s, F_CUM] = 0.0


@njit(cache=True, inline="always")
def _add_role(s, ts, price, size, role, st_i, st_f):
    """Add a trade to the open bar: the fields its role lets it update (a bar's first
    high/low or last-sale price replaces the placeholders ``_open_bar`` left)."""
    px = st_i[s, S_PX]
    if role & U_LAST:
        if (px & 1) == 0:
            st_f[s, F_O] = price
        st_f[s, F_C] = price
        px |= 1
    if role & U_HL:
        if (px & 2) == 0:
            st_f[s, F_H] = price
            st_f[s, F_L] = price
            px |= 2
        elif price > st_f[s, F_H]:
            st_f[s, F_H] = price
        elif price < st_f[s, F_L]:
            st_f[s, F_L] = price
    st_i[s, S_PX] = px
    if role & U_VOL:
        st_f[s, F_V] += size
        st_f[s, F_PV] += price * size
        st_i[s, S_N] += 1
    st_i[s, S_LAST] = ts
    st_i[s, S_WATER] = ts


@njit(cache=True, inline="always")
def _add(s, ts, price, size, st_i, st_f):
    """Fast form of ``_add_role`` for a regular trade on a bar that already has prices."""
    if price > st_f[s, F_H]:
        st_f[s, F_H] = price
    if price < st_f[s, F_L]:
        st_f[s, F_L] = price
    st_f[s, F_C] = price
    st_f[s, F_V] += size
    st_f[s, F_PV] += price * size
    st_i[s, S_N] += 1
    st_i[s, S_LAST] = ts
    st_i[s, S_WATER] = ts


@njit(cache=True)
def _step_fast(ts, s, price, size, role, pi, pf, st_i, st_f, cnt):
    """The common case of ``step``, kept small so LLVM inlines it into loops: a valid,
    in-order regular trade (role ``FULL``) before ``S_END`` (time bars: the open bar's
    end; other kinds: the close of the session of the symbol's last accepted trade) that
    adds to an open bar with prices without completing it. Returns True when it consumed
    the trade, False to defer to ``_step_full``. (With the whole rule, or session arrays,
    in the loop LLVM's code for the batch loop ran ~10x slower.)"""
    if not (size > 0.0 and price > 0.0 and ts >= st_i[s, S_WATER] and st_i[s, S_OPEN] == 1
            and ts < st_i[s, S_END] and role == FULL and st_i[s, S_PX] == 3):
        return False
    kind = pi[P_KIND]
    if kind == TICK:
        if st_i[s, S_N] + 1 >= pi[P_TICKS]:
            return False
    elif kind == VOLUME:
        if st_f[s, F_CUM] + size >= pf[Q_THRESHOLD]:
            return False
        st_f[s, F_CUM] += size
    elif kind == DOLLAR:
        if st_f[s, F_CUM] + price * size >= pf[Q_THRESHOLD]:
            return False
        st_f[s, F_CUM] += price * size
    elif kind != TIME:
        return False
    _add(s, ts, price, size, st_i, st_f)
    cnt[C_ACCEPTED] += 1
    return True


@njit(cache=True)
def step(ts, s, price, size, role, pi, pf, opens, closes, slot_off, open_slot, st_i, st_f,
         out, j, cnt):
    """Consume one trade (ts ns UTC, symbol index s, price USD, size shares, ``role`` from
    ``sale_conditions.role_of``, ``FULL`` for a regular trade); return the new number of
    bars in ``out`` (bars completed by this trade are written at ``out[j:]``).

    Rejections, in this order, each counted once: size <= 0 or price <= 0 or NaN (C_BAD);
    ts earlier than the symbol's last accepted trade or last ``advance`` (C_OUT_OF_ORDER);
    ts outside every session [open, close) (C_OUT_OF_SESSION); a role that updates
    nothing (C_EXCLUDED). ``open_slot[d]`` is the global slot holding session d's regular
    open (the bar whose open a listing market's opening print sets).
    ``step`` is ``_step_fast`` (common case) else ``_step_full`` (the whole rule); loops
    call the two directly, in the same order, so they inline the fast part.
    """
    if _step_fast(ts, s, price, size, role, pi, pf, st_i, st_f, cnt):
        return j
    return _step_full(ts, s, price, size, role, pi, pf, opens, closes, slot_off, open_slot,
                      st_i, st_f, out, j, cnt)


@njit(cache=True)
def _step_full(ts, s, price, size, role, pi, pf, opens, closes, slot_off, open_slot, st_i,
               st_f, out, j, cnt):
    """``step`` for every case but the in-bar fast path (see ``step``)."""
    if not (size > 0.0 and price > 0.0):  # also catches NaN
        cnt[C_BAD] += 1
        return j
    if ts < st_i[s, S_WATER]:
        cnt[C_OUT_OF_ORDER] += 1
        return j
    kind = pi[P_KIND]
    d, cur = _session_of(ts, st_i[s, S_CUR], opens, closes)
    if d < 0:
        cnt[C_OUT_OF_SESSION] += 1
        return j
    st_i[s, S_CUR] = cur
    if (role & FULL) == 0:
        cnt[C_EXCLUDED] += 1
        return j
    cnt[C_ACCEPTED] += 1
    if kind == TIME:
        interval = pi[P_INTERVAL]
        k = (ts - opens[d]) // interval
        slot = slot_off[d] + k
        if st_i[s, S_OPEN] == 0 or st_i[s, S_KEY] != slot:
            if st_i[s, S_OPEN] == 1:
                j = _emit(s, st_i[s, S_START], st_i, st_f, out, j, cnt)
            if pi[P_FFILL] != 0:
                j = _fill(s, slot, opens, slot_off, interval, st_i, st_f, out, j, cnt)
            _open_bar(s, ts, st_i, st_f)
            st_i[s, S_KEY] = slot
            start = opens[d] + k * interval
            st_i[s, S_START] = start
            st_i[s, S_END] = min(start + interval, closes[d])
        _add_role(s, ts, price, size, role, st_i, st_f)
        if role & R_OPEN and slot == open_slot[d]:  # the opening auction sets the open
            st_f[s, F_O] = price
        return j
    # information-driven bars: the bar's key is its session (reset at session change);
    # trades that add no volume do not move their clock
    st_i[s, S_END] = closes[d]
    if st_i[s, S_OPEN] == 1 and pi[P_RESET] != 0 and st_i[s, S_KEY] != d:
        j = _emit(s, st_i[s, S_FIRST], st_i, st_f, out, j, cnt)
    if st_i[s, S_OPEN] == 0:
        _open_bar(s, ts, st_i, st_f)
        st_i[s, S_KEY] = d
    _add_role(s, ts, price, size, role, st_i, st_f)
    if (role & U_VOL) == 0:
        return j
    done = False
    if kind == TICK:
        done = st_i[s, S_N] >= pi[P_TICKS]
    elif kind == VOLUME:
        st_f[s, F_CUM] += size
        done = st_f[s, F_CUM] >= pf[Q_THRESHOLD]
    elif kind == DOLLAR:
        st_f[s, F_CUM] += price * size
        done = st_f[s, F_CUM] >= pf[Q_THRESHOLD]
    else:  # TICK_IMBALANCE (Lopez de Prado, AFML 2.3.2.1); the tick rule reads last sales
        prev = st_f[s, F_PREVPX]
        b = st_f[s, F_PREVB]
        if role & U_LAST:
            if prev == prev:  # not NaN: a previous last-sale price exists
                if price > prev:
                    b = 1.0
                elif price < prev:
                    b = -1.0
            st_f[s, F_PREVPX] = price
        st_f[s, F_PREVB] = b
        st_f[s, F_CUM] += b
        thr = st_f[s, F_ET] * max(abs(st_f[s, F_EB]), pf[Q_MIN_IMB])
        st_f[s, F_EB] += pf[Q_ALPHA_B] * (b - st_f[s, F_EB])
        done = abs(st_f[s, F_CUM]) >= thr
        if done:
            et = st_f[s, F_ET] + pf[Q_ALPHA_T] * (st_i[s, S_N] - st_f[s, F_ET])
            st_f[s, F_ET] = min(max(et, pf[Q_ET_MIN]), pf[Q_ET_MAX])
    if done:
        j = _emit(s, st_i[s, S_FIRST], st_i, st_f, out, j, cnt)
    return j


@njit(cache=True)
def ended_slots(now, opens, closes, slot_off, interval):
    """Number of global time-bar slots whose end is <= ``now`` (ns UTC)."""
    n = opens.shape[0]
    d = 0
    while d < n and now >= closes[d]:
        d += 1
    if d == n:
        return slot_off[n]
    if now < opens[d]:
        return slot_off[d]
    return slot_off[d] + (now - opens[d]) // interval


@njit(cache=True)
def advance(now, pi, opens, closes, slot_off, st_i, st_f, out, j, cnt):
    """Clock tick at ``now`` ns UTC: emit every bar whose end is <= now (time bars: the
    slot end; other kinds: the session close when they reset per session) and, with
    ffill, the empty slots ended by now. Later trades with ts < now count as out of order."""
    n_sym = st_i.shape[0]
    kind = pi[P_KIND]
    for s in range(n_sym):
        if now > st_i[s, S_WATER]:
            st_i[s, S_WATER] = now
        if st_i[s, S_OPEN] == 1:
            if kind == TIME:
                if now >= st_i[s, S_END]:
                    j = _emit(s, st_i[s, S_START], st_i, st_f, out, j, cnt)
            elif pi[P_RESET] != 0 and now >= closes[st_i[s, S_KEY]]:
                j = _emit(s, st_i[s, S_FIRST], st_i, st_f, out, j, cnt)
        if kind == TIME and pi[P_FFILL] != 0:
            hi = ended_slots(now, opens, closes, slot_off, pi[P_INTERVAL])
            j = _fill(s, hi, opens, slot_off, pi[P_INTERVAL], st_i, st_f, out, j, cnt)
    return j


@njit(cache=True)
def flush(pi, opens, slot_off, st_i, st_f, out, j, cnt):
    """End of data: emit every open bar (symbol order) and, with ffill, fill each symbol's
    time-bar slots to the end of the session table."""
    kind = pi[P_KIND]
    for s in range(st_i.shape[0]):
        if st_i[s, S_OPEN] == 1:
            label = st_i[s, S_START] if kind == TIME else st_i[s, S_FIRST]
            j = _emit(s, label, st_i, st_f, out, j, cnt)
        if kind == TIME and pi[P_FFILL] != 0:
            j = _fill(s, slot_off[slot_off.shape[0] - 1], opens, slot_off, pi[P_INTERVAL],
                      st_i, st_f, out, j, cnt)
    return j


@njit(cache=True)
def run_batch(ts, sym, price, size, role, pi, pf, opens, closes, slot_off, open_slot, st_i,
              st_f, out, cnt, do_flush):
    """Batch form: ``step`` over every trade in array order, then ``flush`` if asked.
    ``role`` has one entry per trade, or a single entry used for all of them. Returns the
    number of bars written to ``out``."""
    j = 0
    one = role.shape[0] == 1
    for i in range(ts.shape[0]):
        t, s, p, z = ts[i], sym[i], price[i], size[i]
        r = role[0] if one else role[i]
        if not _step_fast(t, s, p, z, r, pi, pf, st_i, st_f, cnt):
            j = _step_full(t, s, p, z, r, pi, pf, opens, closes, slot_off, open_slot, st_i,
                           st_f, out, j, cnt)
    if do_flush:
        j = flush(pi, opens, slot_off, st_i, st_f, out, j, cnt)
    return j


@njit(cache=True)
def stream_push(ts, s, price, size, role, pi, pf, opens, closes, slot_off, open_slot, st_i,
                st_f, out, cnt):
    """Streaming form: one trade through ``step``; returns how many bars it completed."""
    return step(ts, s, price, size, role, pi, pf, opens, closes, slot_off, open_slot, st_i,
                st_f, out, 0, cnt)


@njit(cache=True, inline="always")
def close_window_of(ts, reg_closes, window, d=0):
    """Index of the regular session whose close-auction window [close, close + window)
    holds ``ts`` (ns UTC), else -1; and the first session closing after ``ts`` (pass it
    back as ``d`` for the next, later trade)."""
    d = first_close_after(ts, d, reg_closes)
    if d > 0 and ts < reg_closes[d - 1] + window:
        return d - 1, d
    return -1, d


@njit(cache=True)
def release_order(role, ts, close):
    """A buffered close-auction window, in the order ``step`` consumes it: the listing
    market's closing prints first (restamped to ``close - 1`` ns, the session's last
    instant, so they land in its last bar), then every other trade; each group keeps its
    arrival order. Returns (order, new ts)."""
    n = role.shape[0]
    order = np.empty(n, np.int64)
    new_ts = np.empty(n, np.int64)
    k = 0
    for first in (True, False):
        for i in range(n):
            if ((role[i] & R_CLOSE) != 0) == first:
                order[k] = i
                new_ts[k] = close - 1 if first else ts[i]
                k += 1
    return order, new_ts


@njit(cache=True)
def auction_order(ts, role, reg_closes, window):
    """Batch form of the streaming buffer (``BarAggregator``): trades stamped in a close
    window (role ``R_HELD``) are held until the first trade at or past the window's end
    (or the end of the data) and then released by ``release_order``; other trades pass
    through. Returns (order, new ts, moved): moved is False when the order is the
    identity and no time changed (then the trades can be used as they are)."""
    n = ts.shape[0]
    held = 0
    for i in range(n):
        held += (role[i] & R_HELD) != 0
    if held == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), False
    order = np.empty(n, np.int64)
    new_ts = np.empty(n, np.int64)
    buf = np.empty(held, np.int64)
    nb = 0
    wb = -1
    k = 0
    moved = False
    d = 0
    for i in range(n + 1):
        w = -1
        if i < n and role[i] & R_HELD:
            w, d = close_window_of(ts[i], reg_closes, window, d)
        if nb > 0 and (i == n or (w != wb and (w >= 0 or ts[i] >= reg_closes[wb] + window))):
            o, t = release_order(role[buf[:nb]], ts[buf[:nb]], reg_closes[wb])
            for q in range(nb):
                order[k] = buf[o[q]]
                new_ts[k] = t[q]
                moved = moved or order[k] != k or t[q] != ts[order[k]]
                k += 1
            nb = 0
        if i == n:
            break
        if w >= 0:
            buf[nb] = i
            nb += 1
            wb = w
        else:
            order[k] = i
            new_ts[k] = ts[i]
            moved = moved or k != i
            k += 1
    return order, new_ts, moved


@njit(cache=True)
def sym_range(sym):
    """(min, max) of the symbol column in one pass ((0, -1) when empty)."""
    if sym.shape[0] == 0:
        return 0, -1
    lo = sym[0]
    hi = sym[0]
    for i in range(1, sym.shape[0]):
        v = sym[i]
        if v < lo:
            lo = v
        elif v > hi:
            hi = v
    return lo, hi

"""Pure numba kernels of the vectorized engine (no Python objects inside).

Conventions shared by every kernel here:

* arrays are ``[time, symbol]`` float64; ``open_``/``close`` are prices in USD;
* a signal observed at bar ``t``'s close fills at bar ``t+1``'s open (bar fill model,
  the event engine's convention); a NaN open skips (drops) that order;
* one cash balance shared by all symbols of a run (or of a combo), a cash account:
  buys that grow a long position never spend below zero cash; symbols are processed in
  column order within a bar (vectorbt's default call sequence);
* sizes follow the event engine's rule (``framework.execution.sizing``): shares, or a USD
  amount fixed at the decision (``value``, or a fraction of the equity at the decision
  close) whose shares follow at the fill (the amount over the unslipped open), then
  capped by the cash; targets become shares at the decision close;
* positions are valued at the forward-filled close (``value_px``).

Actions (signals, long-only): ``ENTER`` buys when flat, ``EXIT`` sells the whole position
when long; an entry and an exit on the same bar cancel (vectorbt's default
``upon_long_conflict='ignore'``). Targets may be long or short.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from framework.execution.costs import commission, slipped_price, trade_fee
from framework.execution.sizing import (
    SIZE_SHARES,
    affordable,
    decision_amount,
    shares_for,
    target_lot,
    whole_shares,
)
from framework.types.jit import njit

NONE = 0
ENTER = 1
EXIT = 2

# Per-combo metric accumulators (columns of the ``acc`` state array).
A_CASH = 0
A_PEAK = 1
A_MAXDD = 2
A_PREV_EQ = 3
A_SUM_R = 4
A_SUM_R2 = 5
A_N_R = 6
A_N_FILLS = 7
A_N_ENTRIES = 8
A_EXPO_BARS = 9
A_FEES = 10
A_EQ = 11
N_ACC = 12


@njit(cache=True, inline="always")
def action_of(entry: bool, exit_: bool) -> int:
    """Map one bar's entry/exit booleans to an action (conflicts cancel)."""
    if entry and not exit_:
        return ENTER
    if exit_ and not entry:
        return EXIT
    return NONE


@njit(cache=True, inline="always")
def exec_action(cash, pos, action, px, equity, size_mode, size, whole, costs):
    """Execute ``action`` at reference price ``px`` (the open, USD); ``equity`` is the
    equity at the decision (the previous close), USD.

    Returns ``(cash, pos, signed_qty, fill_price, fee)``; ``signed_qty == 0`` when nothing
    filled (no position to exit, already long, NaN price, or no affordable quantity).
    """
    if np.isnan(px) or action == NONE:
        return cash, pos, 0.0, 0.0, 0.0
    if action == EXIT:
        if pos <= 0.0:
            return cash, pos, 0.0, 0.0, 0.0
        fpx = slipped_price(px, -1, costs)
        fee = trade_fee(-1, pos, fpx, costs)
        return cash + pos * fpx - fee, 0.0, -pos, fpx, fee
    if pos != 0.0:
        return cash, pos, 0.0, 0.0, 0.0
    fpx = slipped_price(px, 1, costs)
    if size_mode == SIZE_SHARES:
        q = whole_shares(size, whole)
    else:
        q = whole_shares(decision_amount(size_mode, size, equity) / px, whole)
    if q > 0.0:
        q = affordable(q, fpx, cash, costs, whole)
    if q <= 0.0:
        return cash, pos, 0.0, 0.0, 0.0
    fee = commission(q, fpx, costs)
    return cash - (q * fpx + fee), q, q, fpx, fee


@njit(cache=True, inline="always")
def mark_equity(acc, eq, exposed):
    """Fold one bar's closing equity into the streaming metric accumulators."""
    prev = acc[A_PREV_EQ]
    if prev > 0.0:
        # Plain sums (no division in the hot loop): per-bar returns are small, mean^2 << var,
        # so the one-pass variance loses no meaningful precision for a Sharpe ratio.
        r = eq / prev - 1.0
        acc[A_SUM_R] += r
        acc[A_SUM_R2] += r * r
        acc[A_N_R] += 1.0
    acc[A_PREV_EQ] = eq
    if eq > acc[A_PEAK]:
        acc[A_PEAK] = eq
    dd = 1.0 - eq / acc[A_PEAK]
    if dd > acc[A_MAXDD]:
        acc[A_MAXDD] = dd
    if exposed:
        acc[A_EXPO_BARS] += 1.0
    acc[A_EQ] = eq


@njit(cache=True, inline="always")
def count_fill(acc: np.ndarray, signed_qty: float, fee: float) -> None:
    """Fill counters of one execution: ``signed_qty`` shares (+ buy, - sell, 0 = none),
    ``fee`` USD; a buy counts as an entry (the vector engine is long-only)."""
    if signed_qty != 0.0:
        acc[A_N_FILLS] += 1.0
        acc[A_FEES] += fee
        if signed_qty > 0.0:
            acc[A_N_ENTRIES] += 1.0


@njit(cache=True)
def init_acc(n_combos: int, init_cash: float) -> np.ndarray:
    """Fresh accumulators for ``n_combos`` combos starting with ``init_cash`` USD."""
    acc = np.zeros((n_combos, N_ACC))
    acc[:, A_CASH] = init_cash
    acc[:, A_PEAK] = init_cash
    acc[:, A_PREV_EQ] = 0.0  # no return before the first bar's close
    acc[:, A_EQ] = init_cash
    return acc


@njit(cache=True)
def simulate_signals(open_, close, value_px, entries, exits, init_cash, size_mode, size, whole,
                     costs):
    """One run over ``[T, S]`` signals; keeps the equity curve and every fill.

    Returns ``(equity[T], cash[T], fill_t, fill_s, fill_qty, fill_px, fill_fee, acc)``;
    fills are in execution order, ``fill_qty`` signed (+ buy, - sell).
    """
    T, S = close.shape
    equity = np.empty(T)
    cash_curve = np.empty(T)
    cap = T * S
    f_t = np.empty(cap, np.int64)
    f_s = np.empty(cap, np.int64)
    f_q = np.empty(cap)
    f_p = np.empty(cap)
    f_f = np.empty(cap)
    n = 0
    acc = init_acc(1, init_cash)[0]
    pos = np.zeros(S)
    cash = init_cash
    for t in range(T):
        if t > 0:
            eq_prev = equity[t - 1]
            for s in range(S):
                a = action_of(entries[t - 1, s], exits[t - 1, s])
                cash, pos[s], q, fpx, fee = exec_action(
                    cash, pos[s], a, open_[t, s], eq_prev, size_mode, size, whole, costs
                )
                count_fill(acc, q, fee)
                if q != 0.0:
                    f_t[n] = t
                    f_s[n] = s
                    f_q[n] = q
                    f_p[n] = fpx
                    f_f[n] = fee
                    n += 1
        eq = cash
        exposed = False
        for s in range(S):
            if pos[s] != 0.0:
                eq += pos[s] * value_px[t, s]
                exposed = True
        mark_equity(acc, eq, exposed)
        equity[t] = eq
        cash_curve[t] = cash
    acc[A_CASH] = cash
    return equity, cash_curve, f_t[:n], f_s[:n], f_q[:n], f_p[:n], f_f[:n], acc


@njit(cache=True, parallel=True)
def sweep_cross_block(
    t0, open_, value_px, table, fast_idx, slow_idx, size_mode, size, whole, costs, acc, pos,
    rel, pend
):
    """Advance every combo over one time block ``[t0, t0 + B)``; parallel over combos.

    ``table[w, i, s]`` is the indicator of unique parameter ``w`` at block bar ``i``;
    combo ``c`` goes long when ``table[fast_idx[c]]`` crosses above ``table[slow_idx[c]]``
    and exits when it crosses below. Carried state (all updated in place): ``acc[C, N_ACC]``
    metric accumulators, ``pos[C, S]`` shares, ``rel[C, S]`` last fast-vs-slow relation
    (-1 unknown, 0 below-or-equal, 1 above), ``pend[C, S]`` action waiting for the next open.
    Memory is O(C*S) whatever the number of bars.
    """
    B, S = value_px.shape
    for c in prange(fast_idx.shape[0]):
        a = acc[c]
        fi = fast_idx[c]
        si = slow_idx[c]
        cash = a[A_CASH]
        for i in range(B):
            if t0 + i > 0:
                eq_prev = a[A_PREV_EQ]  # the previous close's equity: the decision's
                for s in range(S):
                    if pend[c, s] != NONE:
                        cash, pos[c, s], q, fpx, fee = exec_action(
                            cash, pos[c, s], pend[c, s], open_[i, s], eq_prev, size_mode, size,
                            whole, costs
                        )
                        pend[c, s] = NONE
                        count_fill(a, q, fee)
            eq = cash
            exposed = False
            for s in range(S):
                f = table[fi, i, s]
                sl = table[si, i, s]
                r = -1
                if not (np.isnan(f) or np.isnan(sl)):
                    r = 1 if f > sl else 0
                pr = rel[c, s]
                if pr == 0 and r == 1:
                    pend[c, s] = ENTER
                elif pr == 1 and r == 0:
                    pend[c, s] = EXIT
                rel[c, s] = r
                if pos[c, s] != 0.0:
                    eq += pos[c, s] * value_px[i, s]
                    exposed = True
            mark_equity(a, eq, exposed)
        a[A_CASH] = cash


@njit(cache=True)
def simulate_targets(open_, close, value_px, targets, unit, init_cash, band, min_value, whole,
                     costs):
    """Rebalance toward targets (the event engine's rule, ``framework.execution.sizing``
    and ``framework.execution.rebalance``): a target set at bar t's close becomes shares at
    that close (``unit`` SizeMode: a weight of the equity then, shares, or USD; negative =
    short) and trades at the first later open its symbol prints, as the difference to the
    position then, unless that is worth less than ``band`` (fraction of equity) or
    ``min_value`` (USD) at the decision price. NaN = no change; ``whole`` whole shares.
    Sells go before buys so freed cash funds the buys; buys that grow a long position are
    capped by cash. Returns ``(equity[T], positions[T, S], acc)``.
    """
    T, S = close.shape
    equity = np.empty(T)
    positions = np.zeros((T, S))
    acc = init_acc(1, init_cash)[0]
    pos = np.zeros(S)
    want = np.full(S, np.nan)
    lot = np.zeros(S)
    cash = init_cash
    for t in range(T):
        if t > 0:
            eq_prev = equity[t - 1]
            for s in range(S):
                tg = targets[t - 1, s]
                px = value_px[t - 1, s]
                if np.isnan(tg) or (unit != SIZE_SHARES and not px > 0.0):
                    continue
                want[s] = whole_shares(shares_for(unit, tg, px, eq_prev), whole)
                lot[s] = target_lot(px, eq_prev, band, min_value) if px > 0.0 else 0.0
            for side in (-1, 1):
                for s in range(S):
                    px = open_[t, s]
                    if np.isnan(want[s]) or np.isnan(px):
                        continue
                    delta = want[s] - pos[s]
                    if delta * side < 0.0:
                        continue  # the other pass trades it
                    want[s] = np.nan
                    if delta == 0.0 or abs(delta) < lot[s]:
                        continue
                    if delta < 0.0:
                        fpx = slipped_price(px, -1, costs)
                        q = -delta
                        fee = trade_fee(-1, q, fpx, costs)
                        cash += q * fpx - fee
                        pos[s] -= q
                        count_fill(acc, -q, fee)
                    else:
                        fpx = slipped_price(px, 1, costs)
                        q = delta
                        if pos[s] >= 0.0:
                            q = affordable(q, fpx, cash, costs, whole)
                        if q <= 0.0:
                            continue
                        fee = commission(q, fpx, costs)
                        cash -= q * fpx + fee
                        pos[s] += q
                        count_fill(acc, q, fee)
        eq = cash
        exposed = False
        for s in range(S):
            positions[t, s] = pos[s]
            if pos[s] != 0.0:
                eq += pos[s] * value_px[t, s]
                exposed = True
        mark_equity(acc, eq, exposed)
        equity[t] = eq
    acc[A_CASH] = cash
    return equity, positions, acc


@njit(cache=True, parallel=True)
def grid_signals(open_, close, value_px, entries, exits, init_cash, size_mode, size, whole,
                 costs):
    """:func:`simulate_signals` of every combo ``c`` of ``entries[c]``/``exits[c]``
    (``[C, T, S]``), in parallel over combos. Returns ``(equity[C, T], acc[C, N_ACC])``."""
    C = entries.shape[0]
    equity = np.empty((C, close.shape[0]))
    acc = np.empty((C, N_ACC))
    for c in prange(C):
        res = simulate_signals(open_, close, value_px, entries[c], exits[c], init_cash,
                               size_mode, size, whole, costs)
        equity[c] = res[0]
        acc[c] = res[7]
    return equity, acc


@njit(cache=True, parallel=True)
def grid_targets(open_, close, value_px, targets, unit, init_cash, band, min_value, whole,
                 costs):
    """:func:`simulate_targets` of every combo ``c`` of ``targets[c]`` (``[C, T, S]``),
    in parallel over combos. Returns ``(equity[C, T], acc[C, N_ACC])``."""
    C = targets.shape[0]
    equity = np.empty((C, close.shape[0]))
    acc = np.empty((C, N_ACC))
    for c in prange(C):
        eq, _, a = simulate_targets(open_, close, value_px, targets[c], unit, init_cash, band,
                                    min_value, whole, costs)
        equity[c] = eq
        acc[c] = a
    return equity, acc

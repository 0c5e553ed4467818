"""The event engine's state, grouped by what it is: named tuples of arrays that the
compiled loop and every step it calls take by name, and their builders.

``Market``  the bars the loop walks (``[T, S]`` prices, sessions, decision times);
``Orders``  the order and fill tables, their counters, each order's plan and each
            symbol's slots (working entry/exit order, trade bars);
``Params``  the decision, execution and cost vectors, order-entry latencies;
``Risk``    the risk stage's limits and ledger (``framework.risk.make_risk``);
``Work``    per-run scratch: the clock, last closes, the bar's volume used, pending
            targets, counters of ignored signals, the on_bar
            intents buffer;
``Curves``  equity, cash, gross exposure and positions at each bar's close.

Numba compiles a tuple's fields as plain struct members: a group costs nothing at run
time, and a step takes the groups it needs instead of 20 positional arrays. Units: ns
UTC, shares, USD.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from framework.execution.algos.params import N_PCOUNT, PARENT_DTYPE
from framework.strategy.intents import INTENT_CAP, INTENT_DTYPE
from framework.types import FILL_DTYPE, ORDER_DTYPE
from framework.types.codes import Ignored

# Orders.tally: one record of counters and capacity flags
TALLY_DTYPE = np.dtype([
    ("n_orders", "i8"),  # rows used in the order table
    ("n_fills", "i8"),  # rows used in the fill table
    ("overflow", "i8"),  # 1 if an order or fill did not fit (the run must be redone bigger)
    ("fees", "f8"),  # USD, commissions + regulatory + borrow
    ("borrow", "f8"),  # USD, borrow fees (also in ``fees``)
    ("first_open", "i8"),  # every order before this index is done (scan start)
    ("n_working", "i8"),  # ids in Orders.working (open venue orders at the last index)
    ("working_end", "i8"),  # n_orders when Orders.working was built: later rows not in it
])

# Orders.plan: what each order is for and how it resolves at its fill
PLAN_DTYPE = np.dtype([
    ("role", "i1"),  # ROLE_*
    ("size_mode", "i1"),  # SizeMode.VALUE: ``amount`` becomes shares at the first fill
    ("amount", "f8"),  # USD the decision fixed (NaN for an order in shares)
    ("stop_loss", "f8"),  # bracket stop leg, fraction of the fill price (NaN / 0 = none)
    ("take_profit", "f8"),  # bracket take-profit leg, fraction (NaN / 0 = none)
    ("trail_pct", "f8"),  # trailing stop of the trade, fraction off the best mark
    ("trail_atr", "f8"),  # trailing stop of the trade, multiples of the ATR
    ("max_hold", "i8"),  # bars in the trade before a forced exit (0 = none)
    ("algo", "i1"),  # an algo parent: its ``execution.algos.params.Algo`` code (0 = none)
    ("algo_parent", "i8"),  # an algo child: 1 + its parent's order id (0 = none)
])

# numpy integers, not Python ints: numba compiles a callee once per *literal* argument
# value, so a Python-int code passed to a kernel would compile it once per code
ROLE_ENTRY = np.int64(0)  # opens a trade: per-trade exits arm when it fills
ROLE_EXIT = np.int64(1)  # flattens a symbol
ROLE_LEG = np.int64(2)  # a bracket leg (stop-loss or take-profit of an entry)
ROLE_TARGET = np.int64(3)  # part of a rebalance toward a target
ROLE_ORDER = np.int64(4)  # an on_bar order without exits attached
ROLE_CHILD = np.int64(5)  # a child of an algo parent (``framework.execution.algos``)
ROLE_NAMES = {int(ROLE_ENTRY): "entry", int(ROLE_EXIT): "exit", int(ROLE_LEG): "bracket_leg",
              int(ROLE_TARGET): "target", int(ROLE_ORDER): "order",
              int(ROLE_CHILD): "algo_child"}

# Orders.slot[s, k]: per-symbol bookkeeping of the decision rule
SLOT_ENTRY = 0  # working entry order id (-1 none)
SLOT_EXIT = 1  # working exit order id
SLOT_OPENED = 2  # bar the position opened
SLOT_CLOSED = 3  # bar the position last closed (-1 never)
SLOT_HOLD = 4  # max bars of the current trade (0 = none)
N_SLOTS = 5

# Work.flags
F_STOP = 0  # the on_bar hook failed: the loop stopped at the bar it was in
F_PENDING = 1  # symbols with a pending target
N_FLAGS = 2

# Work.ignored is indexed by framework.types.codes.Ignored
N_IGNORED = len(Ignored)

class Market(NamedTuple):
    """The bars: ``ts``/``dec_ts``/``session``/``session_open``/``session_close`` ``[T]``
    int64 ns UTC (``dec_ts`` = when each bar's decision is taken), prices ``[T, S]`` USD,
    ``volume`` shares, ``bar_ns`` the bar length (ns)."""

    ts: np.ndarray
    dec_ts: np.ndarray
    session: np.ndarray
    session_open: np.ndarray
    session_close: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    bar_ns: int


class Orders(NamedTuple):
    """Order and fill tables (``ORDER_DTYPE``/``FILL_DTYPE`` rows), their ``tally``, each
    order's ``plan`` (``PLAN_DTYPE``), per-symbol ``slot`` ``[S, N_SLOTS]``, and for the
    book fill model each order's queue ahead (shares) and queue sequence; the algo
    ``parents`` table (``algos.params.PARENT_DTYPE``) and its counters ``pcount``
    (``algos.params.PC_*``); ``working``: the ids of the open orders that can reach the
    venue (algo parents never do), ascending, as of the last
    ``orders.advance_first_open`` — the fill models scan these and the rows added
    since, so a long-lived order does not make every scan start at it."""

    orders: np.ndarray
    fills: np.ndarray
    tally: np.ndarray
    plan: np.ndarray
    slot: np.ndarray
    queue_ahead: np.ndarray
    queue_seq: np.ndarray
    parents: np.ndarray
    pcount: np.ndarray
    working: np.ndarray


class Params(NamedTuple):
    """``dec`` (``strategy.decision`` layout), ``exe`` (X_* below), ``costs``
    (``execution.costs``), ``lat`` per-order entry latencies ns (order k uses
    ``lat[k % len]``); the parent-order algorithm (``framework.execution.algos``):
    ``algo`` its parameters (``algos.params.A_*``), ``algo_sym`` ``[S, N_ASYM]`` its
    per-symbol estimates (sigma, eta, gamma, ADV), ``vprof`` ``[2, buckets]`` the
    intraday volume profile of full and half days."""

    dec: np.ndarray
    exe: np.ndarray
    costs: np.ndarray
    lat: np.ndarray
    algo: np.ndarray
    algo_sym: np.ndarray
    vprof: np.ndarray


class Risk(NamedTuple):
    """The risk stage's arrays (``framework.risk.make_risk``)."""

    limits: np.ndarray
    sym_limits: np.ndarray
    rstate: np.ndarray
    rsym: np.ndarray


class Work(NamedTuple):
    """Scratch carried between bars: ``clock`` [session of the previous bar, its close],
    ``last_close[S]``, ``used[S]`` shares of the bar's volume taken, pending targets
    ``tgt[S]`` (shares; NaN none) active from ``tgt_ts[S]``, traded when the difference
    is at least ``tgt_lot[S]`` shares, ``flags`` (F_*), ``ignored`` (by ``Ignored``),
    on_bar ``intents``."""

    clock: np.ndarray
    last_close: np.ndarray
    used: np.ndarray
    tgt: np.ndarray
    tgt_lot: np.ndarray
    tgt_ts: np.ndarray
    flags: np.ndarray
    ignored: np.ndarray
    intents: np.ndarray


class Curves(NamedTuple):
    """At each bar's close: ``equity``/``cash``/``gross`` ``[T]`` USD, ``positions``
    ``[T, S]`` shares."""

    equity: np.ndarray
    cash: np.ndarray
    gross: np.ndarray
    positions: np.ndarray


# a fill model's step returns STEP_OK, or a code >= 1 that stops the loop before the bar
# to grow a table (the book model's NEED_SLOTS / NEED_GRID / NEED_TABLES)
STEP_OK = 0

X_PARTICIPATION = 0  # Params.exe: fraction of bar volume an order may take (0 = off)
X_TICK = 1  # Params.exe: 1 = limit / stop prices on the tick (``execution.ticks``)
N_EXEC = 2


def zeroed(n: int, dtype: np.dtype) -> np.ndarray:
    """``n`` zero records of a structured ``dtype``: zeroed bytes viewed as records (the
    same array type to numba). ``np.zeros`` of a packed record dtype fills it field by
    field: 16 ms for a 240,000-row order table against 9.5 ms for its bytes."""
    return np.zeros(n * dtype.itemsize, np.uint8).view(dtype)


def new_orders(n_symbols: int, capacity: int, parents: int = 1024) -> Orders:
    """Empty order/fill tables for ``capacity`` orders (``2 * capacity`` fills) and up
    to ``parents`` algo parents."""
    slot = np.full((n_symbols, N_SLOTS), -1, np.int64)
    slot[:, SLOT_HOLD] = 0
    return Orders(zeroed(capacity, ORDER_DTYPE), zeroed(2 * capacity, FILL_DTYPE),
                  np.zeros(1, TALLY_DTYPE), zeroed(capacity, PLAN_DTYPE), slot,
                  np.zeros(capacity), np.zeros(capacity, np.int64),
                  np.zeros(max(parents, 1), PARENT_DTYPE), np.zeros(N_PCOUNT, np.int64),
                  np.zeros(capacity, np.int64))


def grown(o: Orders) -> Orders:
    """The same tables at twice the capacity (rows kept)."""
    n = 2 * o.orders.shape[0]
    parts = []
    for a, size in ((o.orders, n), (o.fills, 2 * n), (o.plan, n), (o.queue_ahead, n),
                    (o.queue_seq, n), (o.working, n)):
        b = zeroed(size, a.dtype)
        b[: a.shape[0]] = a
        parts.append(b)
    orders, fills, plan, qa, qs, working = parts
    return Orders(orders, fills, o.tally, plan, o.slot, qa, qs, o.parents, o.pcount, working)


def new_work(n_symbols: int) -> Work:
    """Fresh scratch for ``n_symbols`` symbols."""
    flags = np.zeros(N_FLAGS, np.int64)
    return Work(np.array([-1, 0], np.int64), np.full(n_symbols, np.nan), np.zeros(n_symbols),
                np.full(n_symbols, np.nan), np.zeros(n_symbols),
                np.zeros(n_symbols, np.int64), flags,
                np.zeros(N_IGNORED, np.int64), np.zeros(INTENT_CAP, INTENT_DTYPE))


def new_curves(n_bars: int, n_symbols: int) -> Curves:
    """Curves for ``n_bars`` bars; the loop writes each row it advances (only those are
    read), so equity/cash/gross need no fill."""
    return Curves(np.empty(n_bars), np.empty(n_bars), np.empty(n_bars),
                  np.zeros((n_bars, n_symbols)))

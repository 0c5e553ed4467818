"""Python edge of the event engine: allocate the state arrays, run the numba loop,
turn the arrays into Polars frames.

``EngineState`` is shared with the live driver (``live.driver``), which advances the
same state one bar at a time with :func:`advance`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from pydantic import Field

from framework.config import FrozenModel
from framework.engine.event import kernels as K
from framework.engine.event.book_tape import BookTape
from framework.engine.event.quotes import QuoteTape
from framework.execution.costs import CostConfig
from framework.execution.orders import BOOK_DTYPE
from framework.marketdata.book import kernels as BK
from framework.marketdata.book.book import OrderBooks
from framework.risk import RiskConfig, make_risk
from framework.risk.report import events_frame, summary
from framework.strategy.decision import DecisionConfig
from framework.strategy.panel import BarPanel
from framework.strategy.signals import Signals
from framework.types import (
    FILL_DTYPE,
    ORDER_DTYPE,
    OrderStatus,
    OrderType,
    RejectReason,
    TimeInForce,
)
from framework.types.errors import FwError
from framework.types.labels import code_names, enum_names

MAX_START_CAPACITY = 1 << 21  # orders sized up front at most (~200 MB of address space)


class EngineError(FwError):
    """The event engine could not run (capacity, shapes)."""


class ExecutionConfig(FrozenModel):
    """``[execution]`` of a strategy TOML: fill model, participation cap, latency."""

    fill_model: Literal["bar", "quote", "book"] = "bar"  # OHLC bars, NBBO quotes, L3 book
    participation: float = Field(default=0.0, ge=0.0, le=1.0)  # of bar volume; 0 = no cap
    latency_ms: float = Field(default=0.0, ge=0.0)  # order entry, constant part
    latency_jitter_ms: float = Field(default=0.0, ge=0.0)  # mean of an exponential draw
    seed: int = 7

    def latencies(self, n: int) -> np.ndarray:
        """Per-order entry latencies in ns, seeded (order k uses draw k mod n)."""
        base = np.full(max(n, 1), self.latency_ms * 1e6)
        if self.latency_jitter_ms > 0:
            rng = np.random.default_rng(self.seed)
            base += rng.exponential(self.latency_jitter_ms * 1e6, base.shape[0])
        return base.astype(np.int64)

    def as_array(self) -> np.ndarray:
        """The kernels' execution vector."""
        x = np.zeros(K.N_EXEC)
        x[K.X_PARTICIPATION] = self.participation
        return x


@dataclass
class EngineState:
    """Every array the loop mutates; ``capacity`` orders/fills preallocated."""

    symbols: tuple[str, ...]
    fill_model: str  # ExecutionConfig.fill_model: which feed advance() hands the loop
    dec: np.ndarray
    exe: np.ndarray
    costs: np.ndarray
    lat: np.ndarray
    orders: np.ndarray
    fills: np.ndarray
    book: np.ndarray
    role: np.ndarray
    ctr: np.ndarray
    clock: np.ndarray
    last_close: np.ndarray
    used: np.ndarray
    limits: np.ndarray
    sym_limits: np.ndarray
    rstate: np.ndarray
    rsym: np.ndarray
    equity: np.ndarray
    cash: np.ndarray
    gross: np.ndarray
    positions: np.ndarray
    init_cash: float
    queue_ahead: np.ndarray  # per order: shares ahead of it at its price (book model)
    queue_seq: np.ndarray  # per order: the book's arrival sequence when it came to rest
    books: OrderBooks  # the L3 books the book model replays (empty under other models)
    bcur: np.ndarray  # [next book event to apply, status of the last stop]


def new_state(symbols: tuple[str, ...], n_bars: int, *, decision: DecisionConfig,
              costs: CostConfig, risk: RiskConfig, execution: ExecutionConfig,
              init_cash: float, capacity: int | None = None) -> EngineState:
    """Fresh state for ``n_bars`` bars of ``symbols`` with ``init_cash`` USD."""
    S = len(symbols)
    cap = capacity or 4096
    limits, sym_limits, rstate, rsym = make_risk(risk, S, init_cash, list(symbols))
    ctr = np.full((S, 4), -1, np.int64)
    return EngineState(symbols, execution.fill_model, decision.as_array(),
                       execution.as_array(), costs.as_array(),
                       execution.latencies(4096), np.zeros(cap, ORDER_DTYPE),
                       np.zeros(2 * cap, FILL_DTYPE), np.zeros(1, BOOK_DTYPE),
                       np.zeros(cap, np.int8), ctr, np.array([-1, 0], np.int64),
                       np.full(S, np.nan), np.zeros(S), limits, sym_limits, rstate, rsym,
                       # equity, cash, gross: the loop writes each bar it advances,
                       # and only those rows are read (``result_of``)
                       np.empty(n_bars), np.empty(n_bars), np.empty(n_bars),
                       np.zeros((n_bars, S)), float(init_cash), np.zeros(cap),
                       np.zeros(cap, np.int64), OrderBooks(max(S, 1), max_orders=1 << 10),
                       np.zeros(2, np.int64))


def order_capacity(panel: BarPanel, signals: Signals, decision: DecisionConfig) -> int:
    """Order-table rows a run of ``signals`` will most likely need (the tables still grow
    if a run needs more; sized up front, a busy run skips the stop-copy-resume of each
    doubling: ~10 ms of a 50 ms, 1 M-bar run with 47,000 fills).

    Each signal bar sends at most one order per symbol; an entry may add two bracket
    legs and later one timed exit (max hold, timeout); a flat-at-close run one exit per
    symbol and session. Rows are untouched memory until written, so the bound is cheap.
    """
    entries = int(np.count_nonzero(signals.entry))
    legs = int(decision.stop_loss_pct > 0.0) + int(decision.take_profit_pct > 0.0)
    need = entries * (2 + legs) + int(np.count_nonzero(signals.exit)) + 1024
    if decision.flat_at_close:
        need += len(panel.symbols) * (int(np.count_nonzero(np.diff(panel.session))) + 1)
    return int(min(max(need, 4096), MAX_START_CAPACITY))


def advance(state: EngineState, panel: BarPanel, signals: Signals, t0: int, t1: int,
            quotes: QuoteTape | None = None, windows: tuple | None = None,
            book_tape: BookTape | None = None, book_ends: np.ndarray | None = None) -> None:
    """Run bars ``t0 .. t1-1`` of ``panel`` (rows of ``signals`` aligned with it);
    ``quotes`` (and their per-bar ``windows``) for the quote fill model, ``book_tape``
    (and its per-bar ``book_ends``, see ``BookTape.ends``) for the book fill model."""
    st = state
    quote_feed = None
    if st.fill_model == "quote":
        q = quotes or QuoteTape.empty()
        q_lo, q_hi = windows if windows is not None else q.windows(panel)
        quote_feed = (q_lo, q_hi, q.ts, q.sym, q.bid, q.bid_size, q.ask, q.ask_size)
    if st.fill_model == "book":
        bt = book_tape or BookTape.empty()
        b_hi = book_ends if book_ends is not None else bt.ends(panel)
        lvl = np.zeros(64), np.zeros(64)
    dec_ts = panel.decision_ts()
    t = t0
    while t < t1:
        book_feed = None
        if st.fill_model == "book":  # rebuilt per call: growing replaces these arrays
            book_feed = (b_hi, bt.ts, bt.sym, bt.kind, bt.side, bt.order_id, bt.price, bt.size,
                         bt.new_order_id, st.books.state, st.bcur, st.queue_ahead,
                         st.queue_seq, *lvl)
        t = K.run_bars(t, t1, panel.ts, dec_ts, panel.session, panel.session_open,
                       panel.session_close, panel.bar_ns, panel.open, panel.high, panel.low,
                       panel.close, panel.volume, quote_feed, book_feed, signals.entry,
                       signals.exit, signals.size, signals.limit, st.dec, st.exe, st.costs,
                       st.lat, st.orders, st.fills, st.book, st.role, st.ctr, st.clock,
                       st.last_close, st.used, st.limits, st.sym_limits, st.rstate, st.rsym,
                       st.equity, st.cash, st.gross, st.positions)
        if t < t1:
            if st.bcur[1] in (BK.NEED_SLOTS, BK.NEED_GRID):
                st.books.grow(int(st.bcur[1]))
            else:
                grow_tables(st)
            st.bcur[1] = BK.OK
    if st.book[0]["overflow"]:  # the kernel stops before a bar could overflow: a bug if seen
        raise EngineError(f"order/fill capacity {st.orders.shape[0]} exceeded")


def grow_tables(state: EngineState) -> None:
    """Double the order and fill tables (kept rows unchanged)."""
    n = 2 * state.orders.shape[0]
    orders, fills, role = (np.zeros(n, ORDER_DTYPE), np.zeros(2 * n, FILL_DTYPE),
                           np.zeros(n, np.int8))
    orders[: state.orders.shape[0]] = state.orders
    fills[: state.fills.shape[0]] = state.fills
    role[: state.role.shape[0]] = state.role
    qa, qs = np.zeros(n), np.zeros(n, np.int64)
    qa[: state.queue_ahead.shape[0]] = state.queue_ahead
    qs[: state.queue_seq.shape[0]] = state.queue_seq
    state.orders, state.fills, state.role = orders, fills, role
    state.queue_ahead, state.queue_seq = qa, qs


@dataclass(frozen=True)
class EventResult:
    """A finished run: frames for the tearsheet plus the raw state."""

    equity: pl.DataFrame  # ts, equity, cash, gross_exposure (USD, at each bar's close)
    positions: pl.DataFrame  # ts, one column per symbol: shares held at each bar's close
    orders: pl.DataFrame
    fills: pl.DataFrame
    risk_events: pl.DataFrame
    risk_summary: dict
    state: EngineState


def _symbols(state: EngineState, sym: np.ndarray) -> pl.Series:
    return code_names(sym, dict(enumerate(state.symbols)))


def orders_frame(state: EngineState) -> pl.DataFrame:
    """Every order with readable symbol, side, type, tif, status and reject reason."""
    od = state.orders[: state.book[0]["n_orders"]]
    roles = {K.ROLE_ENTRY: "entry", K.ROLE_EXIT: "exit", K.ROLE_LEG: "bracket_leg"}
    return pl.DataFrame({
        "order_id": od["id"], "ts": od["ts_created"], "ts_active": od["ts_active"],
        "ts_done": od["ts_done"], "symbol": _symbols(state, od["sym"]),
        "side": od["side"].astype(np.int64),
        "type": enum_names(od["type"], OrderType),
        "tif": enum_names(od["tif"], TimeInForce),
        "role": code_names(state.role[: od.shape[0]], roles),
        "qty": od["qty"], "limit_price": od["limit_price"], "stop_price": od["stop_price"],
        "status": enum_names(od["status"], OrderStatus),
        "filled_qty": od["filled_qty"], "avg_price": od["avg_price"],
        "parent_id": od["parent_id"],
        "reject_reason": enum_names(od["reject_reason"], RejectReason, none=""),
    })


def fills_frame(state: EngineState) -> pl.DataFrame:
    """Every fill: ts (ns), symbol, side (+1/-1), qty (shares), price, fee (USD), maker."""
    f = state.fills[: state.book[0]["n_fills"]]
    return pl.DataFrame({
        "ts": f["ts"], "order_id": f["order_id"], "symbol": _symbols(state, f["sym"]),
        "side": f["side"].astype(np.int64), "qty": f["qty"], "price": f["price"],
        "fee": f["fee"], "maker": f["maker"].astype(np.int64),
    })


def result_of(state: EngineState, panel: BarPanel, n: int | None = None) -> EventResult:
    """Frames of a state advanced over the first ``n`` bars of ``panel`` (all by default)."""
    n = panel.n_bars if n is None else n
    ts = panel.decision_ts()[:n]
    equity = pl.DataFrame({"ts": ts, "equity": state.equity[:n],
                           "cash": state.cash[:n], "gross_exposure": state.gross[:n]})
    positions = pl.DataFrame({"ts": ts,
                              **{sym: state.positions[:n, j] for j, sym in
                                 enumerate(state.symbols)}})
    return EventResult(equity, positions, orders_frame(state), fills_frame(state),
                       events_frame(state.rstate, list(state.symbols)), summary(state.rstate),
                       state)


def run_event(panel: BarPanel, signals: Signals, *, decision: DecisionConfig,
              costs: CostConfig, risk: RiskConfig, execution: ExecutionConfig,
              init_cash: float = 100_000.0, quotes: QuoteTape | None = None,
              book_tape: BookTape | None = None) -> EventResult:
    """Backtest ``signals`` over ``panel`` in one numba call; ``init_cash`` USD.
    ``quotes`` is required by ``execution.fill_model == "quote"``, ``book_tape`` by
    ``"book"``."""
    signals.check(panel)
    if execution.fill_model == "quote" and (quotes is None or quotes.ts.shape[0] == 0):
        raise EngineError("fill_model 'quote' needs a QuoteTape (the lake's quotes)")
    if execution.fill_model == "book" and (book_tape is None or book_tape.ts.shape[0] == 0):
        raise EngineError("fill_model 'book' needs a BookTape (the lake's book_events)")
    state = new_state(panel.symbols, panel.n_bars, decision=decision, costs=costs, risk=risk,
                      execution=execution, init_cash=init_cash,
                      capacity=order_capacity(panel, signals, decision))
    advance(state, panel, signals, 0, panel.n_bars, quotes, book_tape=book_tape)
    return result_of(state, panel)

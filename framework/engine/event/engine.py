"""Python edge of the event engine: allocate the state groups, run the numba loop, turn
the arrays into Polars frames.

``EngineState`` is shared with the live driver (``live.driver``), which advances the
same state one bar at a time with :func:`advance`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from framework.engine.event import kernels as K
from framework.engine.event.book_tape import BookTape
from framework.engine.event.quotes import QuoteTape
from framework.execution import state as X
from framework.execution.algos.calibrate import AlgoInputs
from framework.execution.algos.params import A_KIND
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig
from framework.execution.fill_models import FillModel
from framework.execution.fill_models.bar import BarFeed
from framework.execution.fill_models.book import BookFeed
from framework.execution.fill_models.broker import BrokerFeed
from framework.execution.fill_models.quote import QuoteFeed
from framework.marketdata.book import kernels as BK
from framework.marketdata.book.book import OrderBooks
from framework.risk import RiskConfig, make_risk
from framework.risk.report import events_frame, summary
from framework.strategy import decision as D
from framework.strategy.decision import DecisionConfig
from framework.strategy.panel import BarPanel
from framework.strategy.signals import TARGET_UNITS, SignalError, Signals
from framework.types import OrderStatus, OrderType, RejectReason, TimeInForce
from framework.types.codes import Ignored
from framework.types.errors import FwError
from framework.types.labels import code_names, enum_names

MAX_START_CAPACITY = 1 << 21  # orders sized up front at most (~200 MB of address space)


class EngineError(FwError):
    """The event engine could not run (capacity, shapes)."""


@dataclass
class EngineState:
    """Everything the loop mutates, by group (``framework.execution.state``), plus the
    L3 books the book model replays and its event cursor ``book_cur`` = [next event,
    status of the last stop]."""

    symbols: tuple[str, ...]
    model: FillModel
    params: X.Params
    orders: X.Orders
    risk: X.Risk
    work: X.Work
    curves: X.Curves
    init_cash: float
    books: OrderBooks
    book_cur: np.ndarray

    @property
    def tally(self) -> np.void:
        """The order table's counters (``TALLY_DTYPE`` record): fees, borrow, counts."""
        return self.orders.tally[0]


def new_state(symbols: tuple[str, ...], n_bars: int, *, decision: DecisionConfig,
              costs: CostConfig, risk: RiskConfig, execution: ExecutionConfig,
              init_cash: float, capacity: int | None = None,
              algo_inputs: AlgoInputs | None = None) -> EngineState:
    """Fresh state for ``n_bars`` bars of ``symbols`` with ``init_cash`` USD;
    ``algo_inputs``: the algo's profile and estimates (``framework.execution.algos.
    calibrate``; default: a flat profile, no impact estimates)."""
    S = len(symbols)
    ai = algo_inputs or AlgoInputs.flat(S, execution.vwap_bucket_min)
    params = X.Params(decision.as_array(), execution.as_array(), costs.as_array(),
                      execution.latencies(4096), execution.algo_array(), ai.algo_sym,
                      ai.vprof)
    return EngineState(symbols, execution.model, params,
                       X.new_orders(S, capacity or 4096, execution.max_parents),
                       X.Risk(*make_risk(risk, S, init_cash, list(symbols))), X.new_work(S),
                       X.new_curves(n_bars, S), float(init_cash),
                       OrderBooks(max(S, 1), max_orders=1 << 10), np.zeros(2, np.int64))


def bind_signals(state: EngineState, signals: Signals, decision: DecisionConfig,
                 who: str = "strategy") -> None:
    """Check that ``signals`` are of the form ``[decision] mode`` asks for and set the
    target unit the loop reads."""
    if decision.mode == "target" and not signals.is_target:
        raise SignalError(f"{who}: [decision] mode = \"target\" but signals() returned "
                          "entry/exit signals (use Signals.target_weights / target_shares "
                          "/ target_values)")
    if decision.mode != "target" and signals.is_target:
        raise SignalError(f"{who}: signals() returned targets; set [decision] mode = "
                          "\"target\"")
    if signals.is_target:
        state.params.dec[D.D_TARGET_UNIT] = TARGET_UNITS[signals.target_unit]


def order_capacity(panel: BarPanel, signals: Signals, decision: DecisionConfig) -> int:
    """Order-table rows a run of ``signals`` will most likely need (the tables still grow
    if a run needs more; sized up front, a busy run skips the stop-copy-resume of each
    doubling: ~10 ms of a 50 ms, 1 M-bar run with 47,000 fills).

    Each signal bar sends at most one order per symbol; an entry may add two bracket
    legs and later one timed exit (max hold, timeout); a flat-at-close run one exit per
    symbol and session; a target at most one order. Rows are untouched memory until
    written, so the bound is cheap.
    """
    if signals.is_target:
        need = int(np.count_nonzero(np.isfinite(signals.target))) + 1024
    else:
        entries = int(np.count_nonzero(signals.entry))
        legs = int(decision.stop_loss_pct > 0.0 or np.any(signals.stop_loss > 0.0)) + int(
            decision.take_profit_pct > 0.0 or np.any(signals.take_profit > 0.0))
        need = entries * (2 + legs) + int(np.count_nonzero(signals.exit)) + 1024
    if decision.flat_at_close:
        need += len(panel.symbols) * (int(np.count_nonzero(np.diff(panel.session))) + 1)
    return int(min(max(need, 4096), MAX_START_CAPACITY))


def market_of(panel: BarPanel) -> X.Market:
    """The loop's view of a panel."""
    return X.Market(panel.ts, panel.decision_ts(), panel.session, panel.session_open,
                    panel.session_close, panel.open, panel.high, panel.low, panel.close,
                    panel.volume, int(panel.bar_ns))


def advance(state: EngineState, panel: BarPanel, signals: Signals, t0: int, t1: int,
            quotes: QuoteTape | None = None, windows: tuple | None = None,
            book_tape: BookTape | None = None, book_ends: np.ndarray | None = None,
            hook=None, broker: BrokerFeed | None = None) -> None:
    """Run bars ``t0 .. t1-1`` of ``panel`` (rows of ``signals`` aligned with it);
    ``quotes`` (and their per-bar ``windows``) for the quote fill model, ``book_tape``
    (and its per-bar ``book_ends``, see ``BookTape.ends``) for the book fill model;
    ``hook``: an on_bar strategy's runner (``framework.engine.event.on_bar``);
    ``broker``: live trading, fills are a broker's executions instead of the model's
    (``framework.execution.fill_models.broker``)."""
    st = state
    mkt = market_of(panel)
    sig = signals.arrays()
    feed = BarFeed(int(FillModel.BAR))
    if broker is not None:
        feed = broker
    elif st.model == FillModel.QUOTE:
        q = quotes or QuoteTape.empty()
        lo, hi = windows if windows is not None else q.windows(panel)
        feed = QuoteFeed(lo, hi, q.ts, q.sym, q.bid, q.bid_size, q.ask, q.ask_size)
    elif st.model == FillModel.BOOK:
        bt = book_tape or BookTape.empty()
        b_hi = book_ends if book_ends is not None else bt.ends(panel)
        lvl = np.zeros(64), np.zeros(64)
    callback = None if hook is None else hook.callback
    par, wk = loop_view(st, hook, broker)
    t = t0
    while t < t1:
        if st.model == FillModel.BOOK and broker is None:  # growing replaces these arrays
            feed = BookFeed(b_hi, bt.ts, bt.sym, bt.kind, bt.side, bt.order_id, bt.price,
                            bt.size, bt.new_order_id, st.books.state, st.book_cur, *lvl)
        t = K.run_bars(t, t1, feed, mkt, sig, par, st.orders, st.risk, wk, st.curves,
                       callback)
        if t < t1:
            if st.work.flags[X.F_STOP]:
                hook.raise_failure()
            if st.book_cur[1] in (BK.NEED_SLOTS, BK.NEED_GRID):
                st.books.grow(int(st.book_cur[1]))
            else:
                st.orders = X.grown(st.orders)
            st.book_cur[1] = BK.OK
    if st.tally["overflow"]:  # the kernel stops before a bar could overflow: a bug if seen
        raise EngineError(f"order/fill capacity {st.orders.orders.shape[0]} exceeded")


def loop_view(state: EngineState, hook=None,
              broker: BrokerFeed | None = None) -> tuple[X.Params, X.Work]:
    """The parameter and scratch groups ``run_bars`` is given for a run of ``state`` with
    ``hook`` and ``broker`` (see :func:`advance`): the state's own, with the fields of a
    feature the run cannot use set to None, so that numba compiles (and caches) a
    specialisation of the loop without that feature's code (``framework.types.jit.needs``; the state keeps its arrays):

    * no parent-order algorithm (``[execution] algo = "now"``): ``Params.algo``,
      ``algo_sym``, ``vprof``;
    * no target can be set (signals mode and no on_bar hook) under the bar or broker
      model: ``Work.tgt``, ``tgt_lot``, ``tgt_ts`` (the quote and book models test every
      event for a due target, so they keep the one loop that has them).

    A default or flagship run (signals, no algo, bar model) gets the loop without either.
    """
    par, wk = state.params, state.work
    if not par.algo[A_KIND] > 0.0:
        par = par._replace(algo=None, algo_sym=None, vprof=None)
    if (hook is None and par.dec[D.D_MODE] != D.MODE_TARGET
            and (broker is not None or state.model == FillModel.BAR)):
        wk = wk._replace(tgt=None, tgt_lot=None, tgt_ts=None)
    return par, wk


class EventResult:
    """A finished run: frames for the tearsheet plus the raw state.

    ``equity`` (ts, equity, cash, gross_exposure: USD at each bar's close), ``positions``
    (ts, one column per symbol: shares held at each bar's close), ``orders``, ``fills``
    and ``risk_events`` are Polars frames built from the state's arrays on first access
    (a caller that reads only the fills does not pay for the orders frame: a third of a
    busy 8-symbol run); ``risk_summary``, ``ignored`` (what the strategy asked for and the
    engine did not do), ``borrow`` (USD of borrow fees on shorts, also in the equity
    curve) are read at once. Frames read the state when first accessed: a state that
    goes on advancing needs :meth:`built` first (``result_of`` does it).
    """

    def __init__(self, state: EngineState, panel: BarPanel, n: int) -> None:
        self.state = state
        self._panel, self._n = panel, n
        self.risk_summary: dict = summary(state.risk.rstate)
        self.ignored: dict[str, int] = ignored_counts(state)
        self.borrow = float(state.tally["borrow"])

    @cached_property
    def equity(self) -> pl.DataFrame:
        cur, n = self.state.curves, self._n
        return pl.DataFrame({"ts": self._panel.decision_ts()[:n], "equity": cur.equity[:n],
                             "cash": cur.cash[:n], "gross_exposure": cur.gross[:n]})

    @cached_property
    def positions(self) -> pl.DataFrame:
        n = self._n
        return pl.DataFrame({"ts": self._panel.decision_ts()[:n],
                             **{sym: self.state.curves.positions[:n, j] for j, sym in
                                enumerate(self.state.symbols)}})

    @cached_property
    def orders(self) -> pl.DataFrame:
        return orders_frame(self.state)

    @cached_property
    def fills(self) -> pl.DataFrame:
        return fills_frame(self.state)

    @cached_property
    def risk_events(self) -> pl.DataFrame:
        return events_frame(self.state.risk.rstate, list(self.state.symbols))

    def built(self) -> EventResult:
        """This result with every frame built now (a snapshot of a state still running)."""
        for frame in ("equity", "positions", "orders", "fills", "risk_events"):
            getattr(self, frame)
        return self


def _symbols(state: EngineState, sym: np.ndarray) -> pl.Series:
    return code_names(sym, dict(enumerate(state.symbols)))


def orders_frame(state: EngineState) -> pl.DataFrame:
    """Every order with readable symbol, side, type, tif, role, status and reject reason;
    ``amount``: the USD the decision fixed for an order whose shares follow at its fill
    (NaN for one decided in shares)."""
    n = int(state.tally["n_orders"])
    od = state.orders.orders[:n]
    return pl.DataFrame({
        "order_id": od["id"], "ts": od["ts_created"], "ts_active": od["ts_active"],
        "ts_done": od["ts_done"], "symbol": _symbols(state, od["sym"]),
        "side": od["side"].astype(np.int64),
        "type": enum_names(od["type"], OrderType),
        "tif": enum_names(od["tif"], TimeInForce),
        "role": code_names(state.orders.plan["role"][:n], X.ROLE_NAMES),
        "qty": od["qty"], "amount": state.orders.plan["amount"][:n],
        "limit_price": od["limit_price"], "stop_price": od["stop_price"],
        "status": enum_names(od["status"], OrderStatus),
        "filled_qty": od["filled_qty"], "avg_price": od["avg_price"],
        "parent_id": od["parent_id"],
        "reject_reason": enum_names(od["reject_reason"], RejectReason, none=""),
    })


def fills_frame(state: EngineState) -> pl.DataFrame:
    """Every fill: ts (ns), symbol, side (+1/-1), qty (shares), price, fee (USD), maker."""
    f = state.orders.fills[: int(state.tally["n_fills"])]
    return pl.DataFrame({
        "ts": f["ts"], "order_id": f["order_id"], "symbol": _symbols(state, f["sym"]),
        "side": f["side"].astype(np.int64), "qty": f["qty"], "price": f["price"],
        "fee": f["fee"], "maker": f["maker"].astype(np.int64),
    })


def ignored_counts(state: EngineState) -> dict[str, int]:
    """What the strategy asked for that the engine did not do, by reason (non-zero only)."""
    return {r.name.lower(): int(state.work.ignored[r]) for r in Ignored
            if state.work.ignored[r]}


def result_of(state: EngineState, panel: BarPanel, n: int | None = None) -> EventResult:
    """Frames of a state advanced over the first ``n`` bars of ``panel`` (all by default)."""
    return EventResult(state, panel, panel.n_bars if n is None else n).built()


def run_event(panel: BarPanel, signals: Signals, *, decision: DecisionConfig,
              costs: CostConfig, risk: RiskConfig, execution: ExecutionConfig,
              init_cash: float = 100_000.0, quotes: QuoteTape | None = None,
              book_tape: BookTape | None = None, hook=None,
              algo_inputs: AlgoInputs | None = None) -> EventResult:
    """Backtest ``signals`` over ``panel`` in one numba call; ``init_cash`` USD; the
    result's frames are built when first read.
    ``quotes`` is required by ``execution.fill_model == "quote"``, ``book_tape`` by
    ``"book"``; ``hook`` runs an on_bar strategy (``framework.engine.event.on_bar``);
    ``algo_inputs`` see :func:`new_state`."""
    signals.check(panel)
    if execution.fill_model == "quote" and (quotes is None or quotes.ts.shape[0] == 0):
        raise EngineError("fill_model 'quote' needs a QuoteTape (the lake's quotes)")
    if execution.fill_model == "book" and (book_tape is None or book_tape.ts.shape[0] == 0):
        raise EngineError("fill_model 'book' needs a BookTape (the lake's book_events)")
    state = new_state(panel.symbols, panel.n_bars, decision=decision, costs=costs, risk=risk,
                      execution=execution, init_cash=init_cash,
                      capacity=order_capacity(panel, signals, decision),
                      algo_inputs=algo_inputs)
    bind_signals(state, signals, decision)
    if hook is not None:
        hook.bind(state, panel)
    advance(state, panel, signals, 0, panel.n_bars, quotes, book_tape=book_tape, hook=hook)
    return EventResult(state, panel, panel.n_bars)  # finished: frames built when read

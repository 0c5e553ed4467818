"""The live driver for bar strategies: bars arrive one at a time (replay feed now, the
Alpaca stream later); each completed bar row runs the strategy's ``signals`` on a
trailing window and advances the *same* compiled event loop as the backtest by one bar.

Nothing here re-implements a rule: signals come from the strategy, decisions, risk and
fills from ``framework.engine.event.kernels.run_bars`` (venue = the bar, quote or book
fill model); the book levels a strategy reads come from the same ``BookSampler`` the
backtest uses, fed the book events as they arrive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from framework.data.schemas import TIMEFRAME_NS
from framework.engine.event.book_tape import GrowingTape
from framework.engine.event.engine import (
    EngineState,
    EventResult,
    advance,
    bind_signals,
    market_of,
    new_state,
    result_of,
)
from framework.engine.event.on_bar import OnBarRunner
from framework.engine.event.quotes import QuoteTape
from framework.engine.run_config import StrategyConfig
from framework.execution import state as X
from framework.execution.algos.calibrate import AlgoInputs, learn_before
from framework.execution.fill_models.broker import (
    BROKER_EVENT_DTYPE,
    EV_FILL,
    BrokerFeed,
    settle,
    trade_targets,
)
from framework.execution.state import Curves
from framework.features.incremental import Incremental
from framework.marketdata.book.sampler import BookLevels, BookSampler
from framework.marketdata.replay import EventBatch, EventKind
from framework.strategy import BarPanel, Signals, Strategy
from framework.strategy.panel import FIELDS, session_bounds
from framework.types.errors import FwError
from framework.types.nytime import iso_ny


class LiveFeedError(FwError):
    """A bar arrived out of order or for an unknown symbol."""


_BLANK = {f: np.nan for f in Signals.ARRAYS} | {"entry": 0, "exit": False}


def _blank_signals(n: int, n_symbols: int) -> Signals:
    """``n`` rows of no signal (every override NaN), to be filled as bars close."""
    return Signals(*(np.full((n, n_symbols), _BLANK[f],
                             np.int8 if f == "entry" else bool if f == "exit" else np.float64)
                     for f in Signals.ARRAYS))


def _grow(a: np.ndarray, n: int, fill: float) -> np.ndarray:
    out = np.full((n, *a.shape[1:]), fill, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


class BarSession:
    """One strategy, bar by bar. ``on_bars(batch)`` takes BAR_DTYPE rows (``sym`` = index
    into ``config.symbols``) in time order; a row of bars is processed once a later bar
    start arrives (or at ``flush``)."""

    def __init__(self, config: StrategyConfig, strategy: Strategy, capacity: int = 1024,
                 broker: bool = False):
        """``broker``: fills are a broker's (``framework.execution.fill_models.broker``),
        handed in by ``on_broker`` before the row they belong to closes; else the
        strategy's simulated fill model fills."""
        self.config = config
        self.strategy = strategy
        self.symbols = tuple(config.symbols)
        self.bar_ns = TIMEFRAME_NS[config.data.timeframe]
        S = len(self.symbols)
        self.n = 0
        self._ts = np.zeros(capacity, np.int64)
        self._so = np.zeros(capacity, np.int64)  # session open of each row, ns UTC
        self._sc = np.zeros(capacity, np.int64)  # session close
        self._px = {f: np.full((capacity, S), np.nan) for f in FIELDS}
        self._px["volume"][:] = 0.0
        self._sig = _blank_signals(capacity, S)
        self._quotes = GrowingTape(QuoteTape.empty(), QuoteTape.from_quotes)
        self._dts = np.zeros(capacity, np.int64)  # decision time of each row, ns UTC
        self._q_lo = np.zeros(capacity, np.int64)  # quotes of bar t: [q_lo[t], q_hi[t])
        self._q_hi = np.zeros(capacity, np.int64)
        self._pending_ts: int | None = None
        self._bounds = (0, 0)  # the session of the last row: [open, close) ns UTC
        self._tape = GrowingTape()  # book events received so far
        self._b_hi = np.zeros(capacity, np.int64)  # book events before bar t's close
        levels = config.data.book_levels
        self._sampler = BookSampler(S, levels) if levels > 0 else None
        self._levels = BookLevels(*(np.full((capacity, S, max(levels, 1)), np.nan)
                                    for _ in range(4)))
        self._hook = OnBarRunner(strategy) if strategy.event_driven else None
        self._incremental = Incremental()
        self._broker = broker
        self._inbox: list[np.ndarray] = []
        self.algo_inputs: AlgoInputs | None = None  # learnt at the first bar (VWAP, IS)
        self.state: EngineState = new_state(
            self.symbols, capacity, decision=config.decision, costs=config.costs,
            risk=config.risk, execution=config.execution, init_cash=config.backtest.initial_cash)

    # ------------------------------------------------------------------ buffers
    def _ensure(self, n: int) -> None:
        cap = self._ts.shape[0]
        if n <= cap:
            return
        new = max(n, 2 * cap)
        self._ts, self._so, self._sc, self._q_lo, self._q_hi, self._b_hi, self._dts = (
            _grow(a, new, 0) for a in (self._ts, self._so, self._sc, self._q_lo, self._q_hi,
                                       self._b_hi, self._dts))
        self._levels = BookLevels(*(_grow(a, new, np.nan) for a in self._levels))
        for f in FIELDS:
            self._px[f] = _grow(self._px[f], new, 0.0 if f == "volume" else np.nan)
        self._sig = replace(self._sig, **{
            f: _grow(getattr(self._sig, f), new, _BLANK[f]) for f in Signals.ARRAYS})
        cur = self.state.curves
        self.state.curves = Curves(*(_grow(a, new, np.nan) for a in cur[:3]),
                                   _grow(cur.positions, new, 0.0))

    def panel(self, lo: int = 0, hi: int | None = None) -> BarPanel:
        """The bars seen so far (rows ``lo .. hi-1``) as a panel (views, no copy)."""
        hi = self.n if hi is None else hi
        book = None if self._sampler is None else BookLevels(*(a[lo:hi] for a in self._levels))
        return BarPanel(self.symbols, self.config.data.timeframe, self.bar_ns, self._ts[lo:hi],
                        *(self._px[f][lo:hi] for f in FIELDS), self._so[lo:hi],
                        self._so[lo:hi], self._sc[lo:hi], book, self._dts[lo:hi])

    # ------------------------------------------------------------------ events
    def on_bars(self, bars: np.ndarray) -> None:
        """Feed a batch of BAR_DTYPE rows (time-ordered; equal starts may span batches)."""
        for b in bars:
            ts = int(b["ts"])
            if not 0 <= b["sym"] < len(self.symbols):
                raise LiveFeedError(f"bar for unknown symbol index {int(b['sym'])}")
            if self._pending_ts is not None and ts < self._pending_ts:
                raise LiveFeedError(f"bar at {iso_ny(ts)} arrived after "
                                    f"{iso_ny(self._pending_ts)}")
            if self._pending_ts is not None and ts > self._pending_ts:
                self._close_row()
            self._pending_ts = ts
            t = self.n  # the open row's prices go straight into its slot of the buffers
            self._ensure(t + 1)
            s = int(b["sym"])
            for f in FIELDS:
                self._px[f][t, s] = b[f]

    def on_quotes(self, quotes: np.ndarray) -> None:
        """Feed NBBO quotes (QUOTE_DTYPE, time-ordered). They must follow the bars of the
        previous interval: a pending bar row is complete once later events arrive."""
        if self._pending_ts is not None:
            self._close_row()
        self._quotes.append(quotes)

    def on_book(self, events: np.ndarray) -> None:
        """Feed L3 book events (BOOK_EVENT_DTYPE, time-ordered); like quotes, they follow
        the bars of the interval before them."""
        if self._pending_ts is not None:
            self._close_row()
        self._tape.append(events)

    def on_batch(self, batch: EventBatch) -> None:
        """Feed one ``EventBatch`` of the replay feed (or of the live stream): bars, book
        events and quotes in stream order; trades are not used by bar strategies."""
        kind = batch.kind
        edges = np.flatnonzero(np.diff(kind)) + 1
        for lo, hi in zip(np.r_[0, edges], np.r_[edges, len(batch)], strict=True):
            rows = batch.row[lo:hi]
            if kind[lo] == EventKind.BAR:
                self.on_bars(batch.bars[rows])
            elif kind[lo] == EventKind.QUOTE:
                self.on_quotes(batch.quotes[rows])
            elif kind[lo] == EventKind.BOOK:
                self.on_book(batch.book[rows])

    @property
    def pending_ts(self) -> int | None:
        """Start (ns UTC) of the row of bars still open, None when none is."""
        return self._pending_ts

    def decision_ts(self, start_ns: int) -> int:
        """When the row of bars starting at ``start_ns`` is decided (ns UTC): its end, or
        the session's close when that comes first (``BarPanel.decision_ts``)."""
        return min(start_ns + self.bar_ns, int(session_bounds(np.array([start_ns]))[1][0]))

    def on_broker(self, events: np.ndarray) -> None:
        """Hand in broker events (``BROKER_EVENT_DTYPE``; ``bar`` is set here): the step of
        the next row that closes books them."""
        self._inbox.append(events)

    def settle(self) -> int:
        """Book the broker events handed in after the last row closed (the session ended:
        no later row's step will) into that row, whose equity, cash and positions are
        marked again; returns how many were booked. Only executions: an order the broker
        closed at the session's end (a DAY order's expiry) stays open in the loop, as at
        the end of a backtest."""
        events = (np.concatenate(self._inbox) if self._inbox
                  else np.zeros(0, BROKER_EVENT_DTYPE))
        self._inbox = []
        events = events[events["kind"] == EV_FILL]
        if not self._broker or self.n == 0 or not len(events):
            return 0
        t = self.n - 1
        events["bar"] = t
        st = self.state
        k = len(events)
        while True:  # each execution may place two legs; leave the loop's usual margin
            b = st.orders.tally[0]
            if (b["n_orders"] + 2 * k + 8 <= st.orders.orders.shape[0]
                    and b["n_fills"] + k + 8 <= st.orders.fills.shape[0]):
                break
            st.orders = X.grown(st.orders)
        settle(t, BrokerFeed(events), market_of(self.panel()), st.orders, st.risk, st.params,
               st.work, st.curves)
        return k

    def quotes(self) -> QuoteTape:
        """The NBBO quotes received so far (views)."""
        return self._quotes.tape()

    def flush(self) -> None:
        """Process the last, still open row of bars (end of the feed)."""
        if self._pending_ts is not None:
            self._close_row()

    def _close_row(self) -> None:
        t = self.n
        self._ensure(t + 1)
        start = self._pending_ts
        self._ts[t] = start
        if not self._bounds[0] <= start < self._bounds[1]:  # a new session: the calendar
            opens, closes = session_bounds(self._ts[t : t + 1], self.config.data.session)
            self._bounds = (int(opens[0]), int(closes[0]))
        self._so[t], self._sc[t] = self._bounds
        self._dts[t] = min(start + self.bar_ns, self._bounds[1])  # BarPanel.decision_ts
        self._pending_ts = None
        self.n = t + 1
        if t == 0:
            self._learn()
        # the tapes' views only when something arrived (a bar strategy on the stream has
        # neither book events nor quotes: two dataclasses a row saved)
        tape = self._tape.tape() if self._tape.n or self._sampler is not None else None
        end = int(self._ts[t]) + self.bar_ns
        self._b_hi[t] = 0 if tape is None else np.searchsorted(tape.ts, end, side="left")
        if self._sampler is not None:
            row = self._sampler.sample(*tape.columns(), self.panel(t, t + 1).decision_ts())
            for dst, src in zip(self._levels, row, strict=True):
                dst[t] = src[0]
        window = self.panel()
        if self._hook is None:
            self._signal_row(t, window)
        else:
            self._hook.bind(self.state, window)
        quotes = self._quotes.tape() if self._quotes.n else None
        if quotes is not None:
            self._q_lo[t] = np.searchsorted(quotes.ts, start, side="left")
            self._q_hi[t] = np.searchsorted(quotes.ts, start + self.bar_ns, side="left")
        broker = None
        if self._broker:
            events = (np.concatenate(self._inbox) if self._inbox
                      else np.zeros(0, BROKER_EVENT_DTYPE))
            events["bar"] = t
            self._inbox = []
            broker = BrokerFeed(events)
        advance(self.state, window, self._sig, t, t + 1, quotes,
                (self._q_lo[: self.n], self._q_hi[: self.n]), tape, self._b_hi[: self.n],
                hook=self._hook, broker=broker)
        st = self.state
        if self._broker and st.work.flags[X.F_PENDING] > 0:  # targets: out with the row
            if int(st.tally["n_orders"]) + 2 * len(self.symbols) + 8 > st.orders.orders.shape[0]:
                st.orders = X.grown(st.orders)
            trade_targets(t, market_of(window), st.orders, st.risk, st.params, st.work)

    def _learn(self) -> None:
        """The algo's profile and estimates, from the lake's sessions before the first
        bar's (``calibrate.learn_before``, the backtest's own call), into the loop's
        parameters (same shapes as the flat ones ``new_state`` put there)."""
        self.algo_inputs = learn_before(self.strategy.context.lake_root,
                                        list(self.symbols), self.config.execution,
                                        int(self._so[0]))
        if self.algo_inputs is not None:
            self.state.params.algo_sym[:] = self.algo_inputs.algo_sym
            self.state.params.vprof[:] = self.algo_inputs.vprof

    def _signal_row(self, t: int, panel: BarPanel) -> None:
        """Row ``t`` of the strategy's signals: from the last ``live_bars()`` bars, with
        the framework indicators carried across bars (``framework.features.incremental``:
        the backtest's values bit for bit, at a cost independent of the session's
        length), or from every bar seen so far when the strategy asks for that."""
        n = self.strategy.live_bars()
        if n is None:
            window = panel
            sig = self.strategy.signals(window)
        else:
            lo = max(0, self.n - max(int(n), 2))
            window = self.panel(lo, self.n)
            with self._incremental.window(lo, self.n - lo):
                sig = self.strategy.signals(window)
        sig.check(window, self.strategy.name, last=1)  # only its last row is kept
        if t == 0:
            bind_signals(self.state, sig, self.config.decision, self.strategy.name)
            self._sig = replace(self._sig, target_unit=sig.target_unit)
        for name in Signals.ARRAYS:
            getattr(self._sig, name)[t] = getattr(sig, name)[-1]  # a [1, 1] one broadcasts

    def run(self, batches: Iterable[EventBatch]) -> EventResult:
        """Consume a whole feed (``EventBatch`` es in stream order) and return the frames."""
        for batch in batches:
            self.on_batch(batch)
        self.flush()
        return result_of(self.state, self.panel(), self.n)

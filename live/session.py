"""One live run: market data in, the backtest's compiled loop deciding, orders out to the
broker, the broker's executions back into the same loop.

The parts, each from its own module: ``live.driver.bar_session.BarSession`` (the
strategy and the event loop, fills booked by ``framework.execution.fill_models.broker``),
``live.adapter`` (alpaca-py's clients, the gateway with its four outcomes, the bucket),
``live.journal`` (every bar, intent and broker event, durable) and ``live.reconcile``.

Flow per row of bars (every symbol's bar of one minute):

1. bars arrive on the market-data stream; fills and closes on ``trade_updates`` are
   journalled (fills once per ``execution_id``; nothing after a terminal state but a
   late fill) and queued for the loop;
2. the row closes (lockstep: the venue's step is fully read; streaming: a later bar,
   every symbol reported, or ``ROW_GRACE_S`` with the data socket up and no backfill
   due): the queued broker events are booked in
   the loop's fill step, then the strategy decides, exactly as in a backtest;
3. the loop's new orders are journalled and sent, the orders it closed are cancelled at
   the broker.

With a local venue in lockstep (``Endpoint.control`` and the venue's ``step``) the
session moves the venue's clock itself, one step at a time, and reads every message of a
step before the next: the replay is deterministic and gives the backtest's orders and
fills. Against Alpaca the clock is the market's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import numpy as np
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.enums import DataFeed
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame

from framework.analytics.tca import parent_tca
from framework.engine.event.engine import EventResult, result_of
from framework.engine.run_config import StrategyConfig
from framework.execution.algos.params import PC_USED
from framework.execution.fill_models.broker import BROKER_EVENT_DTYPE, EV_CLOSE, EV_FILL
from framework.execution.orders import is_open
from framework.monitoring import SessionMetrics
from framework.risk.dtypes import BREAKER_NAMES
from framework.strategy import Strategy
from framework.types.codes import OrderStatus, RejectReason
from framework.types.errors import FwError
from live.adapter.clients import (
    Endpoint,
    HookedDataStream,
    HookedTradingStream,
    data_client,
    endpoint_of,
    trading_client,
)
from live.adapter.gateway import TYPES, Gateway, order_body
from live.adapter.messages import TradeEvent, bar_row, ns_of
from live.adapter.ratelimit import TokenBucket
from live.adapter.stream_thread import StreamThread
from live.driver.bar_session import BarSession
from live.journal import TERMINAL, Journal, JournalError
from live.reconcile import Report, reconcile

ROW_GRACE_S = 2.0  # streaming: a row of bars closes this long after its first bar
STEP_TIMEOUT_S = 30.0  # lockstep: a step's messages must all arrive within this
STALE_S = 90.0  # streaming, market hours: no bar for this long is an alarm + reconnect
RECONCILE_EVERY_ROWS = 15  # also reconcile this often: a silent socket loses updates
VENUE_DOWN_S = 60.0  # lockstep: how long the venue's control API may be unreachable
CLOSES = {"canceled": OrderStatus.CANCELED, "expired": OrderStatus.EXPIRED,
          "rejected": OrderStatus.REJECTED, "done_for_day": OrderStatus.EXPIRED}
# the broker's close -> the metrics' final status (a rejection is counted as a reject)
CLOSED_AS = {"canceled": "canceled", "expired": "expired", "done_for_day": "expired"}


def _int_header(r, name: str) -> int | None:
    """Header ``name`` of reply ``r`` as an int; None when absent or not an integer."""
    try:
        return int(r.headers[name])
    except (KeyError, ValueError):
        return None


class LiveError(FwError):
    """The live session cannot go on (venue unreachable, a step never completed)."""


@dataclass
class Stop:
    """A request to stop: ``kill`` blocks new orders and cancels every open one,
    ``flatten`` also closes every position; ``reason`` is recorded."""

    kill: bool = False
    flatten: bool = False
    reason: str = "stopped"


@dataclass
class Stats:
    """Counters and figures of the run (written to ``live.json``)."""

    bars: int = 0
    backfilled_bars: int = 0  # bars fetched by REST after a market-data reconnect
    duplicate_bars: int = 0  # bars already seen (a backfilled bar streamed again)
    late_bars: int = 0  # bars whose row had closed without them (streaming only)
    backfill_errors: int = 0  # bar fetches that failed (tried again at the next tick)
    fills: int = 0  # executions booked (each execution_id once)
    updates: int = 0
    duplicates: int = 0
    ignored_after_terminal: int = 0
    foreign_updates: int = 0
    submitted: int = 0
    cancels: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    reconciliations: list[dict] = field(default_factory=list)
    # per row that sent orders: last bar in -> 1st POST, less its cancels' round trips
    latency_ns: list[int] = field(default_factory=list)
    latency_row_ns: list[int] = field(default_factory=list)  # each one's row start, ns UTC
    # per row that sent orders, perf_counter_ns at: last bar received, row close started
    # (lockstep: after the step's other messages were read), decided, the row's cancels
    # answered (network), intents on disk, first POST started
    phases_ns: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)
    # per such row: this thread's CPU time in the decide phase (what the wall time of a
    # shared box adds waiting for a core is not in it)
    decide_cpu_ns: list[int] = field(default_factory=list)
    reconnects: int = 0
    stale_alarms: int = 0
    stopped: dict | None = None
    journal_error: str | None = None  # the journal could not be written: trading stopped


class LiveSession:
    """A strategy trading through ``ep`` (see the module docstring)."""

    def __init__(self, cfg: StrategyConfig, strategy: Strategy, ep: Endpoint,
                 journal: Journal, run_id: str, *, request_timeout_s: float = 10.0,
                 stop_file: Path | None = None, metrics: SessionMetrics | None = None):
        """``stop_file``: ``fw live stop`` writes a ``Stop`` there as JSON; ``metrics``:
        where the session reports (``docs/monitoring.md``; default one of its own, no
        event log)."""
        self.cfg = cfg
        self.stop_file = stop_file
        self.ep = ep
        self.journal = journal
        self.run_id = run_id
        self.symbols = tuple(cfg.symbols)
        self.index = {s: i for i, s in enumerate(self.symbols)}
        self.driver = BarSession(cfg, strategy, broker=True)
        self.bucket = TokenBucket()
        self.m = metrics or SessionMetrics(run_id, strategy=cfg.name, mode="paper",
                                           drawdown_limit=cfg.risk.max_drawdown)
        self.client = trading_client(ep, self.bucket, request_timeout_s, self._on_http)
        self.data = data_client(  # the data API's own rate limit is not the trading one's
            ep, request_timeout_s, lambda r: self.m.http_response(
                r.request.method, endpoint_of(r.url), r.status_code))
        self.gw = Gateway(self.client, self.bucket, journal, run_id)
        self.stats = Stats()
        self.cid_of: dict[int, str] = {}  # loop order id -> client order id
        self.order_of: dict[str, int] = {}  # client order id -> loop order id
        self.working: set[int] = set()  # sent, not known closed at the broker
        self.done: set[str] = set()  # client order ids in a terminal state at the broker
        self.seen = 0  # loop orders already dispatched (index into the order table)
        self.inbox: list[np.ndarray] = []  # broker events not yet handed to the loop
        self.stop_request: Stop | None = None
        self._row_bars = 0  # bars in the open row
        self._row_t0 = 0.0  # monotonic s of the open row's first bar
        self._bar_recv_ns = 0  # perf_counter_ns when the last bar arrived
        self._md_received = 0  # market-data messages on the current connection
        self._tu_received = 0  # trade updates on the current connection
        self._last_bar_s = time.monotonic()
        self._reconcile_due = True
        self._rows_since_reconcile = 0
        self._periodic_due = False  # RECONCILE_EVERY_ROWS passed (acted on between steps)
        self._t_row = self._t_decided = self._decide_cpu_ns = 0
        self.step_hooks: list = []  # lockstep: called with the step count after each
        self.panel = None  # a live.panel.Panel: the terminal line, refreshed from the loops
        self._md_rx_ns = 0  # wall ns when the last bar arrived (the metrics' clock)
        self._risk_seen = (0, False)  # breakers bitmask, kill: last reported to metrics
        self._connects = dict.fromkeys(("market_data", "trade_updates"), 0)
        self._seen_ts = np.full(len(self.symbols), -1, np.int64)  # last bar start per symbol
        self._backfill_due = False  # a market-data reconnect: fetch what it missed first
        self._md_up = False  # the market-data socket is connected
        self._held: list[dict] = []  # bars streamed while the backfill is due
        self._tca_open: list[int] = []  # algo parents (rows) not finished when last seen
        self._tca_seen = 0  # parent rows looked at so far
        self._send_failed = False  # a send ended unresolved since the last reconciliation
        self._drops_reconciled = 0  # the streams' socket closes the last one had seen
        self.streams = StreamThread()  # the sockets' thread (started by run)

    # ------------------------------------------------------------------ broker events
    def _event_row(self, kind: int, cid: str, ts: int, qty: float = 0.0,
                   price: float = np.nan, order_qty: float = np.nan,
                   status: int = 0) -> None:
        i = self.order_of[cid]
        row = np.zeros(1, BROKER_EVENT_DTYPE)
        r = row[0]
        r["kind"], r["order"], r["ts"], r["qty"], r["price"] = kind, i, ts, qty, price
        r["order_qty"], r["status"] = order_qty, status
        r["reason"] = int(RejectReason.BROKER) if status == OrderStatus.REJECTED else 0
        self.inbox.append(row)

    def book_fill(self, cid: str, execution_id: str, ts: int, qty: float, price: float,
                  order_qty: float, final: bool | None = None) -> bool:
        """Journal and queue one execution; False for a known ``execution_id``.
        ``final``: the order is now completely filled (None: judged by quantity)."""
        if cid not in self.order_of:
            return False
        if not self.journal.add_event(execution_id, cid, "fill", ts, self.driver.n, qty,
                                      price, order_qty):
            self.stats.duplicates += 1
            return False
        self._event_row(EV_FILL, cid, ts, qty, price, order_qty)
        self.stats.fills += 1
        self.m.fill(cid, qty, price, final=final,
                    order_qty=order_qty if order_qty == order_qty else None)  # NaN: unknown
        return True

    def book_close(self, cid: str, status: str, ts: int) -> bool:
        """Journal and queue the broker closing an order (once per order)."""
        if cid not in self.order_of or status not in CLOSES:
            return False
        self.done.add(cid)
        self.working.discard(self.order_of[cid])
        if not self.journal.add_event(f"close:{cid}", cid, "close", ts, self.driver.n,
                                      status=status):
            return False
        self._event_row(EV_CLOSE, cid, ts, status=int(CLOSES[status]))
        if status in CLOSED_AS:
            self.m.order_closed(cid, CLOSED_AS[status])
        elif cid in self.m.orders:  # rejected after it was acknowledged
            self.m.order_rejected(cid, "broker")
        return True

    async def on_trade_update(self, msg: dict) -> None:
        """A ``trade_updates`` message (alpaca-py handler, raw dict)."""
        self._tu_received += 1
        self.stats.updates += 1
        ev = TradeEvent.parse(msg)
        if ev.cid not in self.order_of:
            self.stats.foreign_updates += 1
            return
        if ev.is_fill:  # a late fill still lands; a duplicate one is ignored
            self.book_fill(ev.cid, ev.execution_id, ev.ts, ev.qty, ev.price, ev.order_qty,
                           final=ev.event == "fill")
            if ev.event == "fill":
                self.done.add(ev.cid)
                self.working.discard(self.order_of[ev.cid])
            self.journal.set_status(ev.cid, ev.status)
            return
        if ev.cid in self.done:
            self.stats.ignored_after_terminal += 1
            return
        if ev.event in CLOSES:
            self.book_close(ev.cid, ev.event, ev.ts)
        self.journal.set_status(ev.cid, ev.status)

    # ------------------------------------------------------------------ bars
    async def on_bar(self, msg: dict) -> None:
        """A market-data bar (alpaca-py handler, raw dict)."""
        self._md_received += 1
        self._bar_recv_ns = time.perf_counter_ns()
        self._last_bar_s = time.monotonic()
        if self._backfill_due:  # the bars missed across a reconnect go first
            self._held.append(msg)
            return
        self._take_bar(msg)

    def _take_bar(self, msg: dict) -> None:
        """One bar into the open row (a later one closes it first); a bar already seen
        for its symbol is dropped, one whose row has closed is counted late."""
        s = self.index.get(msg.get("S"))
        if s is None:
            return
        row = bar_row(msg, s)
        ts = int(row["ts"][0])
        if ts <= self._seen_ts[s]:
            self.stats.duplicate_bars += 1
            return
        pending, d = self.driver.pending_ts, self.driver
        if (ts < pending) if pending is not None else (d.n and ts <= d._ts[d.n - 1]):
            self.stats.late_bars += 1
            return
        self._seen_ts[s] = ts
        self._md_rx_ns = self.m.market_data("bar", event_ns=ts)
        if pending is not None and ts > pending:
            self.close_row()
        self.journal.add_bars(row)
        self.driver.on_bars(row)
        self.stats.bars += 1
        if self._row_bars == 0:
            self._row_t0 = time.monotonic()
        self._row_bars += 1
        if not self.lockstep and self._row_bars == len(self.symbols):
            self.close_row()

    def backfill(self) -> int:
        """After a market-data reconnect: fetch every bar after the last one seen (per
        symbol) from the broker's bars endpoint (Alpaca's data API, or ``fw venue``'s
        ``/v2/stocks/bars``), then take them and the bars streamed meanwhile in time
        order; returns the bars fetched. A failed fetch leaves it due (next tick)."""
        seen = self._seen_ts[self._seen_ts >= 0]
        fetched: list[dict] = []
        if seen.size:
            start = dt.datetime.fromtimestamp((int(seen.min()) + self.driver.bar_ns) / 1e9,
                                              dt.UTC)
            try:
                raw = self.data.get_stock_bars(StockBarsRequest(
                    symbol_or_symbols=list(self.symbols), timeframe=TimeFrame.Minute,
                    start=start, feed=DataFeed.IEX))
            except (APIError, requests.RequestException):
                self.stats.backfill_errors += 1
                return 0
            fetched = [{"S": sym, **b} for sym, bars in (raw or {}).items() for b in bars]
        rest = {id(m) for m in fetched}
        msgs, self._held, self._backfill_due = fetched + self._held, [], False
        msgs.sort(key=lambda m: (ns_of(m["t"]), self.index.get(m.get("S"), -1)))
        for m in msgs:
            before = self.stats.bars
            self._take_bar(m)
            self.stats.backfilled_bars += id(m) in rest and self.stats.bars > before
        return len(fetched)

    def close_row(self) -> None:
        """Book the queued broker events, let the loop decide on the open row, send."""
        if self.driver.pending_ts is None:
            return
        self._t_row, cpu0 = time.perf_counter_ns(), time.thread_time_ns()
        booked = self._hand_inbox()
        self.driver.flush()
        self._t_decided = time.perf_counter_ns()
        self._decide_cpu_ns = time.thread_time_ns() - cpu0
        decided_ns = self.m.decision(self._md_rx_ns) if self._md_rx_ns else None
        self._row_bars = 0
        self._rows_since_reconcile += 1
        if self._rows_since_reconcile >= RECONCILE_EVERY_ROWS:
            self._periodic_due = True
        self.dispatch(decided_ns)  # commits before its 1st POST: the row's bars, events, intents
        self.journal.commit()
        self._report_row(booked)

    def _report_row(self, booked: bool) -> None:
        """The row's account, positions (when fills were booked), market hours and risk
        state to the metrics: a few microseconds, after the row's orders went out."""
        d, t = self.driver, self.driver.n - 1
        cur = d.state.curves
        self.m.mark(float(cur.equity[t]), cash=float(cur.cash[t]),
                    ts_ns=int(d._ts[t]) + d.bar_ns)
        if booked:
            self.m.positions(self.positions())
        self.m.market_open(bool(d._so[t] <= d._ts[t] < d._sc[t]))
        self._report_risk()
        self._report_tca()

    def _report_tca(self) -> None:
        """The TCA of each algo parent that finished in this row (the backtest's
        ``parent_tca`` over the bars so far) to the metrics."""
        od = self.driver.state.orders
        used = int(od.pcount[PC_USED])
        self._tca_open.extend(range(self._tca_seen, used))
        self._tca_seen = used
        done = [k for k in self._tca_open if od.parents[k]["active"] == 0]
        if not done:
            return
        self._tca_open = [k for k in self._tca_open if od.parents[k]["active"] != 0]
        tca = parent_tca(self.driver.state, self.driver.panel(), done)
        for r in tca.iter_rows(named=True):
            self.m.algo_parent(r["order_id"], r["symbol"], r["algo"], r["is_usd"],
                               r["is_bps"], r["participation"])

    def _report_risk(self) -> None:
        st = self.driver.state.risk.rstate[0]
        now = (int(st["breakers"]), bool(st["kill"]) or bool(self.gw.blocked and
                                                           self.gw.blocked.startswith("kill")))
        if now != self._risk_seen:
            self._risk_seen = now
            self.m.risk_state(breakers=[n for b, n in BREAKER_NAMES.items() if now[0] & 1 << b],
                              kill_switch=now[1])

    def positions(self) -> dict[str, float]:
        """The loop's position per symbol, shares (signed)."""
        rsym = self.driver.state.risk.rsym
        return {s: float(rsym[k]["position"]) for k, s in enumerate(self.symbols)}

    def _hand_inbox(self) -> bool:
        """Hand the loop the queued events from before the open row's decision instant;
        later ones (an expiry at the close, a fill at the decision's own instant) belong
        to the next row, as in the backtest's fill models. True when any was handed."""
        if not self.inbox:
            return False
        rows = np.concatenate(self.inbox)
        early = rows["ts"] < self.driver.decision_ts(self.driver.pending_ts)
        now = rows[early]
        # the fill models' order: by time, then by order id (a venue may report the
        # executions of one instant in another order; cash is summed in this one)
        self.driver.on_broker(now[np.lexsort((now["order"], now["ts"]))])
        self.inbox = [rows[~early]] if not early.all() else []
        return bool(len(now))

    # ------------------------------------------------------------------ orders
    def _register(self, i: int) -> str:
        st = self.driver.state
        o = st.orders.orders[i]
        cid = self.gw.cid(int(o["ts_created"]), self.symbols[o["sym"]], i)
        self.cid_of[i] = cid
        self.order_of[cid] = i
        return cid

    def dispatch(self, decided_ns: int | None = None) -> None:
        """Send the loop's new orders and cancel at the broker what the loop closed;
        ``decided_ns``: wall ns of the decision (the metrics' send latency)."""
        st = self.driver.state
        od, plan = st.orders.orders, st.orders.plan
        for i in list(self.working):  # cancels first: they free buying power
            if not is_open(od[i]["status"]) and self.cid_of[i] not in self.done:
                self.working.discard(i)
                if self.gw.cancel(self.cid_of[i]):
                    self.stats.cancels += 1
        t_cancelled = time.perf_counter_ns()  # the DELETEs' round trips: network
        n = int(st.tally["n_orders"])
        if n > self.seen and self._reconcile_due:  # a reconnect not yet reconciled: first
            self.reconcile()  # that, before this row's intents exist (it would look them
            # up, find them missing at the broker and close them as rejected)
        sends = []
        for i in range(self.seen, n):
            cid = self._register(i)
            o = od[i]
            if o["status"] == OrderStatus.REJECTED:  # the risk stage refused it here
                if self.journal.intend(cid, i, "submit", {"symbol": self.symbols[o["sym"]]},
                                       int(o["ts_created"])):
                    reason = RejectReason(int(o["reject_reason"])).name.lower()
                    self.journal.resolve(cid, "denied", detail=reason)
                    self.m.order_rejected(None, reason, symbol=self.symbols[o["sym"]])
                self._count("denied")
                continue
            if not is_open(o["status"]) or plan[i]["algo"] > 0:
                continue  # placed and closed in one step, or an algo parent (its
                # children are sent, never the parent itself)
            body = order_body(o, plan[i], self.symbols[o["sym"]], cid)
            if self.gw.prepare(i, body, int(o["ts_created"])):
                sends.append((i, body))
                continue
            it = self.journal.intent(cid)  # journalled by the run this one resumes
            if it.status not in TERMINAL:
                self.working.add(i)
            else:
                self.done.add(cid)
        self.seen = n
        self.journal.commit()  # every intent on disk before its POST
        t_journal = time.perf_counter_ns()
        px = self.driver._px["close"][self.driver.n - 1] if self.driver.n else None
        for k, (i, body) in enumerate(sends):
            if self._gap_since_reconcile():  # a socket dropped, a send failed: the broker
                # is read back before the next order (the row's rest not yet sent)
                self.reconcile(unsent={b["client_order_id"] for _, b in sends[k:]})
            # reported to the metrics once it is out: the event log and histograms are
            # not on the order's path (stamped before the POST all the same)
            report, sent_wall = not self.gw.blocked, self.m.clock()
            out = self.gw.send(body)
            if report:
                self._report_sent(body, od[i], px, decided_ns, sent_wall)
            if k == 0 and out.outcome != "denied" and self._bar_recv_ns:
                # the row's decision latency: its last bar received -> its first POST,
                # less the round trips of the cancels sent before it (network)
                self.stats.latency_ns.append(self.gw.sent_ns[-1] - self._bar_recv_ns
                                             - (t_cancelled - self._t_decided))
                self.stats.latency_row_ns.append(int(self.driver._ts[self.driver.n - 1]))
                self.stats.phases_ns.append((self._bar_recv_ns, self._t_row, self._t_decided,
                                             t_cancelled, t_journal, self.gw.sent_ns[-1]))
                self.stats.decide_cpu_ns.append(self._decide_cpu_ns)
            self.stats.submitted += 1
            self._count(out.outcome)
            self._send_failed |= out.outcome == "unresolved"
            cid = body["client_order_id"]
            if out.outcome == "confirmed":
                self.working.add(i)
                self.m.order_acked(cid, broker_id=out.order["id"])
            elif out.outcome == "rejected":
                self.m.order_rejected(cid, "broker", detail=out.detail or "")
                self.book_close(cid, "rejected", int(od[i]["ts_created"]))
            elif out.outcome == "denied":  # blocked here: the kill switch, or a failed
                # reconciliation (a session-level breaker)
                self.m.order_rejected(None, "kill_switch" if self.gw.blocked.startswith(
                    "kill") else "circuit_breaker", symbol=body["symbol"],
                    detail=self.gw.blocked)
                # never working: the loop hears it was never sent
                self.book_close(cid, "rejected", int(od[i]["ts_created"]))

    def _report_sent(self, body: dict, o, close_px, decided_ns: int | None,
                     sent_ns: int) -> None:
        """An order POSTed at ``sent_ns`` (the metrics' clock), to the metrics: its shares
        (a USD order's estimated at the row's close), arrival price = the row's close of
        its symbol."""
        arrival = float(close_px[o["sym"]]) if close_px is not None else float("nan")
        qty = body["qty"] if "qty" in body else body["notional"] / arrival
        self.m.order_sent(body["client_order_id"], body["symbol"], body["side"], qty,
                          type=TYPES[int(o["type"])], arrival_price=arrival,
                          decided_ns=decided_ns, sent_ns=sent_ns)

    def _on_http(self, r) -> None:
        """Every broker REST reply (requests' response hook) to the metrics; a header
        that is not an integer is left out (monitoring never fails a request)."""
        self.m.http_response(r.request.method, endpoint_of(r.url), r.status_code,
                             rate_limit_remaining=_int_header(r, "X-RateLimit-Remaining"),
                             rate_limit_limit=_int_header(r, "X-RateLimit-Limit"))

    def _count(self, outcome: str) -> None:
        self.stats.outcomes[outcome] = self.stats.outcomes.get(outcome, 0) + 1

    # ------------------------------------------------------------------ reconcile
    def expected_positions(self) -> dict[str, float]:
        """The loop's shares per symbol plus the queued fills (signed)."""
        pos = self.positions()
        od = self.driver.state.orders.orders
        for rows in self.inbox:
            for r in rows:
                if r["kind"] == EV_FILL:
                    pos[self.symbols[od[r["order"]]["sym"]]] += od[r["order"]]["side"] * r["qty"]
        return pos

    def _gap_since_reconcile(self) -> bool:
        """A stream socket closed (seen at once by the streams' thread) or a send ended
        unresolved since the last reconciliation: the broker may have restarted or lost
        messages, and the session may not yet have handled the reconnect."""
        return self._send_failed or self.streams.drops != self._drops_reconciled

    def reconcile(self, unsent: set[str] = frozenset()) -> Report:
        """Reconcile now; new orders are blocked while it fails. ``unsent``: client
        order ids journalled for this row and not yet sent (not looked up)."""
        drops, self._send_failed = self.streams.drops, False
        rep = reconcile(self.gw, self.expected_positions, self.book_fill, self.book_close,
                        unsent)
        self._drops_reconciled = drops
        self.stats.reconciliations.append({"ok": rep.ok, "problems": rep.problems,
                                           "orders": rep.orders,
                                           "fills_added": rep.fills_added,
                                           "closes_added": rep.closes_added,
                                           "foreign": len(rep.foreign)})
        if self.stop_request is None or not self.stop_request.kill:
            self.gw.blocked = None if rep.ok else "reconciliation: " + "; ".join(rep.problems)
        self._reconcile_due = not rep.ok  # a failed one is tried again at the next step
        self._rows_since_reconcile = 0
        self._periodic_due = False
        if rep.cash is not None:  # the broker's positions were read (else nothing to compare)
            self.m.positions(self.expected_positions())
            self.m.reconcile(rep.positions)
        return rep

    def _on_connect(self) -> None:
        self._tu_received = 0  # the venue counts per connection
        self._connected("trade_updates")

    def _on_data_disconnect(self) -> None:
        self._md_up = False
        self.m.stream_state("market_data", False)

    def _on_data_connect(self) -> None:
        self._md_up = True
        self._md_received = 0
        self._backfill_due = self._connects["market_data"] > 0  # a reconnect: bars missed
        self._connected("market_data")

    def _connected(self, stream: str) -> None:
        self.stats.reconnects += 1
        self._reconcile_due = True
        self._connects[stream] += 1
        if self._connects[stream] == 1:
            self.m.stream_state(stream, True)
        else:
            self.m.reconnect(stream)

    # ------------------------------------------------------------------ resume
    def replay_journal(self) -> int:
        """Rebuild the loop's state from the journal: its bars, row by row, with the
        broker events at the rows that booked them; the orders the loop places again
        get the ids they were journalled under. Returns the rows replayed."""
        bars = self.journal.bars()
        intents = {it.cid: it for it in self.journal.intents("submit")}
        events = self.journal.events()
        for cid, it in intents.items():
            self.order_of[cid] = it.order_id
            self.cid_of[it.order_id] = cid
        closed = {e[1] for e in events if e[2] == "close"}
        by_bar: dict[int, list[tuple]] = {}
        for e in events:
            by_bar.setdefault(int(e[8]), []).append(e)
        starts = np.flatnonzero(np.r_[True, np.diff(bars["ts"]) != 0]) if len(bars) else []
        ends = list(starts[1:]) + [len(bars)]
        for lo, hi in zip(starts, ends, strict=True):
            self._queue_journal(by_bar.get(self.driver.n, []))
            self.driver.on_bars(bars[lo:hi])
            self._hand_inbox()
            self.driver.flush()
            n = int(self.driver.state.tally["n_orders"])
            for i in range(self.seen, n):
                cid = self._register(i)
                it = intents.get(cid)
                if it is None or (it.outcome == "denied" and cid not in closed):
                    # decided before the crash, never journalled: too late to send now;
                    # the loop hears it was cancelled (denied with no close: abandoned
                    # by a resume of an older fw, which journalled no close)
                    self._abandon(i, cid, it is None)
                    continue
                if it.status in TERMINAL or cid in closed:
                    self.done.add(cid)
                elif it.outcome in ("confirmed", "pending", "unresolved"):
                    self.working.add(i)
            self.seen = n
        self._queue_journal(by_bar.get(self.driver.n, []))
        self.stats.bars = len(bars)
        for k in range(len(self.symbols)):  # a bar the stream sends again is not taken twice
            mine = bars["ts"][bars["sym"] == k]
            self._seen_ts[k] = mine.max() if mine.size else -1
        return self.driver.n

    def _abandon(self, i: int, cid: str, intend: bool) -> None:
        """Loop order ``i``, decided in the replayed row but never sent, is closed as
        cancelled: journalled (``intend``: its intent too) with the close booked at the
        next row, as a later replay of this journal must book it -- unjournalled, that
        replay kept it open, decided differently from then on and mapped the journal's
        fills (by client order id) onto other orders (the chaos run's lost fills)."""
        o = self.driver.state.orders.orders[i]
        if not is_open(o["status"]):
            return
        ts = int(o["ts_created"])
        if intend:
            self.journal.intend(cid, i, "submit", {"symbol": self.symbols[o["sym"]]}, ts)
            self.journal.resolve(cid, "denied", detail="decided before a crash, never sent")
        self.journal.add_event(f"close:{cid}", cid, "close", ts, self.driver.n,
                               status="canceled")
        self.done.add(cid)
        self._event_row(EV_CLOSE, cid, ts, status=int(OrderStatus.CANCELED))

    def _queue_journal(self, events: list[tuple]) -> None:
        for _key, cid, kind, ts, qty, price, order_qty, status, _bar in events:
            if kind == "fill":
                self._event_row(EV_FILL, cid, ts, qty, price,
                                np.nan if order_qty is None else order_qty)
            else:
                self.done.add(cid)
                self._event_row(EV_CLOSE, cid, ts, status=int(CLOSES[status]))

    # ------------------------------------------------------------------ running
    @property
    def lockstep(self) -> bool:
        return self._lockstep

    async def _control(self, http: aiohttp.ClientSession, method: str, path: str,
                       body: dict | None = None, *, retry: bool = True) -> dict:
        """One call of the venue's control API; while the venue is unreachable (a
        restart) it is tried again for up to ``VENUE_DOWN_S`` (``retry``: the call is
        idempotent; else the error goes to the caller)."""
        deadline = time.monotonic() + VENUE_DOWN_S
        while True:
            try:
                async with http.request(method, f"{self.ep.control}{path}", json=body) as r:
                    if r.status != 200:
                        raise LiveError(f"venue control {path}: HTTP {r.status}: "
                                        f"{await r.text()}")
                    return await r.json()
            except (TimeoutError, aiohttp.ClientConnectionError) as err:
                if not retry or time.monotonic() > deadline:
                    raise LiveError(f"venue {self.ep.control}: unreachable for "
                                    f"{VENUE_DOWN_S:g} s ({type(err).__name__})") from err
                await asyncio.sleep(0.2)

    async def _step(self, http: aiohttp.ClientSession, before: dict) -> dict:
        """``advance`` one step; if the venue went away mid-call, the step happened
        when its count moved (it is not played twice)."""
        try:
            return await self._control(http, "POST", "/advance", {"steps": 1}, retry=False)
        except LiveError:
            st = await self._control(http, "GET", "/state")
            if st["steps_done"] > before["steps_done"] or st["ended"]:
                return st
            return await self._control(http, "POST", "/advance", {"steps": 1})

    async def _wait_subscribed(self, http: aiohttp.ClientSession, deadline: float) -> None:
        while time.monotonic() < deadline:
            st = await self._control(http, "GET", "/state")
            tu = st["streams"]["trade_updates"]
            md = st["streams"]["market_data"].get("iex")
            if tu and tu["listening"] and md and md["subscriptions"].get("bars"):
                return
            await asyncio.sleep(0.02)
        raise LiveError(f"venue {self.ep.trading}: the streams did not subscribe in time")

    async def _drain(self, st: dict) -> None:
        """Wait until every message the venue says it sent has been read."""
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while True:
            tu = st["streams"]["trade_updates"]
            md = st["streams"]["market_data"].get("iex")
            want_tu = tu["sent"] if tu else 0
            want_md = md["sent"] if md else 0
            # counts of the current connections: none being opened, its hook handled
            settled = self.streams.idle() and not (self.trade_stream.connecting
                                                   or self.data_stream.connecting)
            if (settled and tu and tu["listening"] and self._tu_received >= want_tu and md
                    and self._md_received >= want_md):
                return
            if not (tu and tu["listening"] and md and md["subscriptions"].get("bars")):
                # reconnecting: what it missed is read back (reconciliation, backfill)
                await asyncio.sleep(0.05)
                st = await self._control(self._http, "GET", "/state")
                continue
            if time.monotonic() > deadline:
                raise LiveError(f"venue step {st['steps_done']}: messages missing "
                                f"(trade updates {self._tu_received}/{want_tu}, market "
                                f"data {self._md_received}/{want_md})")
            await asyncio.sleep(0.0005)

    async def _lockstep_loop(self, http: aiohttp.ClientSession,
                             max_steps: int | None) -> None:
        """Move the venue minute by minute: every event before the next bar instant T,
        then one step (the bars available at T, which come before T's quotes), then the
        row closes and its orders go out, so they reach the venue at T as in the
        backtest (where a decision at T precedes the fills of T's quotes)."""
        bar_ns = self.driver.bar_ns
        st = await self._control(http, "GET", "/state")
        steps = 0
        while self.stop_request is None:
            if self.journal.failed is not None:  # a write in a stream handler failed
                raise self.journal.failed
            self._poll_stop_file()
            if self._reconcile_due:
                self.reconcile()
            t_next = (int(st["clock"]) // bar_ns + 1) * bar_ns
            await self._control(http, "POST", "/advance", {"until": t_next - 1})
            st = await self._step(http, st)
            await self._drain(st)
            # a reconnect: missed fills before the row closes; periodic ones here too,
            # where every message the venue sent is read (none in flight)
            if self._reconcile_due or self._periodic_due:
                self.reconcile()
            if self._backfill_due:  # and missed bars
                self.backfill()
            if self._row_bars:
                self.close_row()
            steps += 1
            for hook in self.step_hooks:
                hook(steps)
            if self.panel is not None:
                self.panel.tick(self)
            if st["ended"] or (max_steps is not None and steps >= max_steps):
                return

    async def _streaming_loop(self, http: aiohttp.ClientSession | None) -> None:
        while self.stop_request is None:
            await asyncio.sleep(0.05)
            if self.journal.failed is not None:  # a write in a stream handler failed
                raise self.journal.failed
            self._poll_stop_file()
            if self._reconcile_due or self._periodic_due:
                self.reconcile()
            if self._backfill_due and self._connects["market_data"] and \
                    self.data_stream._running:
                self.backfill()
            if self._row_bars and self._grace_over():
                self.close_row()
            if time.monotonic() - self._last_bar_s > STALE_S and self._market_open():
                self.stats.stale_alarms += 1
                self._last_bar_s = time.monotonic()
                # alpaca-py reconnects with back-off
                await self.streams.call(self.data_stream.close())
            if self.panel is not None:
                self.panel.tick(self)
            if http is not None and (await self._control(http, "GET", "/state"))["ended"]:
                return

    def _grace_over(self) -> bool:
        """Streaming: the open row waited ``ROW_GRACE_S`` for the rest of its bars --
        counted only while the data socket is up and no backfill is due: bars in flight
        when it dropped come back with the backfill (and a later bar closes the row)."""
        return (self._md_up and not self._backfill_due
                and time.monotonic() - self._row_t0 > ROW_GRACE_S)

    def _market_open(self) -> bool:
        try:
            return bool(self.gw._call(self.client.get, "/clock")["is_open"])
        except Exception:  # noqa: BLE001 - an unreachable clock is not a reason to stop
            return False

    async def run(self, *, lockstep: bool, max_steps: int | None = None) -> None:
        """Connect both streams, reconcile, trade until the session (or the replay)
        ends, ``max_steps`` lockstep steps pass, or a stop is requested."""
        self._lockstep = lockstep
        # the sockets are read on a thread of their own (a REST call or the bucket's
        # wait blocks this loop); their messages and hooks come back here, in order
        st = self.streams
        self.trade_stream = HookedTradingStream(self.ep)
        self.trade_stream.on_connect = st.hook(self._on_connect)
        self.trade_stream.on_disconnect = st.drop_hook(
            lambda: self.m.stream_state("trade_updates", False))
        self.trade_stream.subscribe_trade_updates(st.relay(self.on_trade_update))
        self.data_stream = HookedDataStream(self.ep)
        self.data_stream.on_connect = st.hook(self._on_data_connect)
        self.data_stream.on_disconnect = st.drop_hook(self._on_data_disconnect)
        self.data_stream.subscribe_bars(st.relay(self.on_bar), *self.symbols)
        await st.start((self.trade_stream, self.data_stream))
        http = aiohttp.ClientSession() if self.ep.control else None
        self._http = http
        try:
            if http is not None:
                await self._wait_subscribed(http, time.monotonic() + STEP_TIMEOUT_S)
            try:
                if lockstep:
                    await self._lockstep_loop(http, max_steps)
                else:
                    await self._streaming_loop(http)
                if self.stop_request is None and max_steps is None:
                    self.close_row()
                    self.reconcile()  # the final one: live.json says how the run ended
            except JournalError as err:  # nothing more may be sent: stop, state kept
                self.stats.journal_error = str(err)
                self.gw.blocked = f"journal: {err}"
                self.request_stop(Stop(kill=True, reason=f"journal write failed: {err}"))
        finally:
            await st.stop()
            if http is not None:
                await http.close()

    def _poll_stop_file(self) -> None:
        if self.stop_file is not None and self.stop_file.is_file():
            try:
                self.request_stop(Stop(**json.loads(self.stop_file.read_text())))
            except (ValueError, TypeError):
                self.request_stop(Stop(kill=True, reason=f"unreadable {self.stop_file}"))

    def request_stop(self, stop: Stop) -> None:
        """Stop at the next step (any thread-safe caller on the session's loop)."""
        self.stop_request = stop

    def apply_stop(self) -> dict:
        """Obey a stop request: a kill blocks new orders and cancels every open one at
        the broker; ``flatten`` closes every position. Returns what was done."""
        stop = self.stop_request or Stop()
        done = {"reason": stop.reason, "kill": stop.kill, "flatten": stop.flatten,
                "canceled": 0, "flattened": 0, "at_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                      time.gmtime())}
        if stop.kill:
            self.gw.blocked = f"kill switch: {stop.reason}"
            self._report_risk()
            canceled = self.gw.cancel_all()
            done["canceled"] = len(canceled)
            by_id = {it.broker_id: it.cid for it in self.journal.intents("submit")}
            for c in canceled:  # the session stops before their updates arrive
                if c.get("status") == 200 and c.get("id") in by_id:
                    self.m.order_closed(by_id[c["id"]], "canceled")
            if stop.flatten:
                done["flattened"] = self.gw.flatten()
        self.stats.stopped = done
        return done

    def settle(self) -> int:
        """After the session's last row: book into it the executions still queued (a
        fill the final reconciliation or a late update reported once no row was left to
        close); returns how many. Before this they were journalled but not in the loop,
        so ``fills.parquet`` and the loop's positions could miss the last minute's."""
        if not self.inbox:
            return 0
        rows = np.concatenate(self.inbox)
        self.inbox = []
        self.driver.on_broker(rows[np.lexsort((rows["order"], rows["ts"]))])
        n = self.driver.settle()
        if n:
            self.m.positions(self.positions())
        return n

    def result(self) -> EventResult:
        """The run's frames so far (the backtest's layout)."""
        return result_of(self.driver.state, self.driver.panel(), self.driver.n)

"""``SessionMetrics``: what one live session tells Prometheus, its status page and its
event log, through methods named for the events the live adapter handles.

One ``CollectorRegistry`` per session (``metrics.registry``); names and labels in
``framework.monitoring.catalog``. Every method is cheap (a few microseconds; see
``benchmarks/bench_monitoring.py``), never blocks on I/O except the optional event log
write, and is safe to call from the adapter's thread while the HTTP server thread reads.

Times: every ``*_ns`` argument is int ns since the epoch, UTC, by the wall clock
(``time.time_ns()``, the default when omitted) -- except ``mark(ts_ns=...)`` and
``market_data(event_ns=...)``, which take the session's own clock (the exchange's, or
the replay's), used for the rolling Sharpe's sampling and the data's age.

Typical wiring in an adapter::

    m = SessionMetrics(run_id, strategy="ml_mr", mode="paper", drawdown_limit=0.05,
                       log=EventLog("live", run_id, run_dir))
    server = MetricsServer(m.registry, status=m.status).start(port=9464)
    rx = m.market_data("bar", event_ns=bar_ts)      # on each stream message
    m.decision(rx)                                  # after the strategy has run
    m.order_sent(cid, "SPY", "buy", 10, arrival_price=mid)
    m.http_response("POST", "/v2/orders", 200, rate_limit_remaining=199)
    m.order_acked(cid, broker_id=reply.id)
    m.fill(cid, 10, 501.02)                         # trade_updates fill / partial_fill
    m.mark(equity, cash=cash, ts_ns=clock_ns); m.positions({"SPY": 10.0})
    m.reconcile(broker_positions); m.risk_state(breakers=[...], kill_switch=False)
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from framework.monitoring.catalog import SESSION_METRICS, STAGES, STREAMS, Children, build
from framework.monitoring.eventlog import EventLog
from framework.monitoring.performance import FillRatio, HighWater, RollingSharpe
from framework.risk.dtypes import BREAKER_NAMES
from framework.types.codes import RejectReason

REJECT_REASONS = tuple(r.name.lower() for r in RejectReason if r) + ("broker",)
BREAKERS = tuple(BREAKER_NAMES.values())
ORDER_TYPES = ("market", "limit", "stop", "stop_limit")
SIDES = ("buy", "sell")
CLOSED_STATUSES = ("canceled", "expired", "replaced")
EQUITY_HISTORY = 2000  # points kept for the status page's chart
QTY_EPS = 1e-9  # shares: an order is complete once this close to its quantity


@dataclass
class TrackedOrder:
    """An order between ``order_sent`` and its end. Times ns (wall clock), prices USD,
    quantities shares."""

    order_id: str
    symbol: str
    side: str
    qty: float
    type: str
    arrival_price: float
    sent_ns: int
    broker_id: str | None = None
    acked_ns: int = 0
    filled_qty: float = 0.0
    avg_price: float = math.nan
    status: str = "sent"

    def json(self) -> dict:
        return {"order_id": self.order_id, "broker_id": self.broker_id,
                "symbol": self.symbol, "side": self.side, "qty": self.qty, "type": self.type,
                "filled_qty": self.filled_qty, "avg_price": _num(self.avg_price),
                "arrival_price": _num(self.arrival_price), "status": self.status,
                "sent_ns": self.sent_ns}


def _num(x: float) -> float | None:
    """JSON has no NaN: None instead."""
    return None if x is None or math.isnan(x) or math.isinf(x) else x


def _sign(side: str) -> int:
    return 1 if side == "buy" else -1


class SessionMetrics:
    """The metrics, status and event log of one live session (see module doc).

    ``drawdown_limit``: the risk config's ``max_drawdown`` (fraction; 0 = none), exported
    so the alert compares against the session's own limit. ``sharpe_period_s`` /
    ``sharpe_window``: sampling of the rolling Sharpe (seconds of the session clock /
    samples). ``fill_ratio_window``: orders. ``log``: where order state changes,
    reconnects, reconciliations and risk events go (None: nowhere).
    """

    def __init__(self, run_id: str, *, strategy: str = "", mode: str = "paper",
                 broker: str = "alpaca", drawdown_limit: float = 0.0,
                 sharpe_period_s: float = 60.0, sharpe_window: int = 390,
                 fill_ratio_window: int = 50, log: EventLog | None = None,
                 clock: Callable[[], int] = time.time_ns):
        self.run_id = run_id
        self.registry = CollectorRegistry()
        self.log = log
        self.clock = clock
        m = build(self.registry, SESSION_METRICS)
        self._m = m
        m["fw_session_info"].info({"run_id": run_id, "strategy": strategy, "mode": mode,
                                   "broker": broker})
        # label children bound once: a call then costs an inc/set, not a label lookup
        self._lat = {s: m["fw_latency_seconds"].labels(s) for s in STAGES}
        self._slip = {s: m["fw_slippage_bps"].labels(s) for s in SIDES}
        self._submitted = {(s, t): m["fw_orders_submitted_total"].labels(s, t)
                           for s in SIDES for t in ORDER_TYPES}
        self._filled = {s: m["fw_orders_filled_total"].labels(s) for s in SIDES}
        self._fills = {s: m["fw_fills_total"].labels(s) for s in SIDES}
        self._sub_sh = {s: m["fw_submitted_shares_total"].labels(s) for s in SIDES}
        self._fill_sh = {s: m["fw_filled_shares_total"].labels(s) for s in SIDES}
        self._rejected = Children(m["fw_orders_rejected_total"])
        for r in REJECT_REASONS:  # every known reason exported at 0 from the start
            self._rejected(r)
        self._closed = {s: m["fw_orders_closed_total"].labels(s) for s in CLOSED_STATUSES}
        self._md = {k: m["fw_market_data_messages_total"].labels(k)
                    for k in ("bar", "quote", "trade")}
        self._recon = {r: m["fw_reconciliations_total"].labels(r) for r in ("ok", "mismatch")}
        self._trips = {b: m["fw_breaker_trips_total"].labels(b) for b in BREAKERS}
        self._tripped = {b: m["fw_breaker_tripped"].labels(b) for b in BREAKERS}
        self._connected = {s: m["fw_stream_connected"].labels(s) for s in STREAMS}
        for s in STREAMS:
            m["fw_stream_reconnects_total"].labels(s)
        self._stream_up = dict.fromkeys(STREAMS, False)
        self._http = Children(m["fw_broker_http_responses_total"])
        self.drawdown_limit = drawdown_limit
        self.sharpe = RollingSharpe(sharpe_period_s, sharpe_window)
        self.high_water = HighWater()
        self.fill_ratio = FillRatio(fill_ratio_window)
        self.orders: dict[str, TrackedOrder] = {}
        self._positions: dict[str, float] = {}
        self._mismatch: dict[str, float] = {}
        self._breakers: frozenset[str] = frozenset()
        self._kill = False
        self._equity_hist: deque[tuple[int, float, float]] = deque(maxlen=EQUITY_HISTORY)
        self._equity = self._cash = math.nan
        self._md_rx_s = self._md_ev_s = 0.0  # epoch seconds of the last market data
        # Scalars the hot path updates are plain attributes, read when Prometheus scrapes:
        # a mark or a market-data message then takes no metric lock at all.
        for name, read in (
                ("fw_equity_usd", lambda: self._equity),
                ("fw_cash_usd", lambda: self._cash),
                ("fw_high_water_usd", lambda: self.high_water.peak),
                ("fw_drawdown_ratio", lambda: self.high_water.drawdown),
                ("fw_drawdown_limit_ratio", lambda: self.drawdown_limit),
                ("fw_rolling_sharpe", lambda: self.sharpe.value),
                ("fw_fill_ratio", lambda: self.fill_ratio.ratio),
                ("fw_fill_ratio_orders", lambda: len(self.fill_ratio.done)),
                ("fw_working_orders", lambda: len(self.orders)),
                ("fw_market_data_last_received_timestamp_seconds", lambda: self._md_rx_s),
                ("fw_market_data_last_event_timestamp_seconds", lambda: self._md_ev_s)):
            m[name].set_function(read)
        self.started_ns = clock()

    # ------------------------------------------------------------------ market data
    def market_data(self, kind: str = "bar", *, event_ns: int | None = None,
                    received_ns: int | None = None, n: int = 1) -> int:
        """``n`` market-data messages of ``kind`` (bar | quote | trade) received at
        ``received_ns`` (wall), the last one stamped ``event_ns`` (session clock).
        Returns ``received_ns`` (to hand to ``decision``)."""
        rx = self.clock() if received_ns is None else received_ns
        self._md[kind].inc(n)
        self._md_rx_s = rx * 1e-9
        if event_ns is not None:
            self._md_ev_s = event_ns * 1e-9
        return rx

    def decision(self, received_ns: int, decided_ns: int | None = None) -> int:
        """The strategy decided on data received at ``received_ns``; returns
        ``decided_ns`` (to hand to ``order_sent``)."""
        now = self.clock() if decided_ns is None else decided_ns
        self._lat["decision"].observe((now - received_ns) * 1e-9)
        return now

    # ------------------------------------------------------------------ orders
    def order_sent(self, order_id: str, symbol: str, side: str, qty: float, *,
                   type: str = "market", arrival_price: float = math.nan,
                   decided_ns: int | None = None, sent_ns: int | None = None) -> None:
        """Order ``order_id`` (the client order id) for ``qty`` shares went to the broker;
        ``arrival_price`` (USD, the mid when decided) is what slippage is measured
        against."""
        now = self.clock() if sent_ns is None else sent_ns
        if decided_ns is not None:
            self._lat["send"].observe((now - decided_ns) * 1e-9)
        self._submitted[side, type].inc()
        self._sub_sh[side].inc(qty)
        self.orders[order_id] = TrackedOrder(order_id, symbol, side, qty, type, arrival_price,
                                             now)
        self._log_order("sent", self.orders[order_id])

    def order_acked(self, order_id: str, *, broker_id: str | None = None,
                    acked_ns: int | None = None) -> None:
        """The broker accepted ``order_id`` (its REST reply arrived)."""
        od = self.orders.get(order_id)
        if od is None or od.acked_ns:
            return
        od.acked_ns = self.clock() if acked_ns is None else acked_ns
        od.broker_id = broker_id
        od.status = "acked"
        self._lat["ack"].observe((od.acked_ns - od.sent_ns) * 1e-9)
        self._m["fw_orders_acked_total"].inc()
        self._log_order("acked", od)

    def order_rejected(self, order_id: str | None, reason: str, *, symbol: str = "",
                       detail: str = "") -> None:
        """An order was refused: by a risk check (``reason`` = its RejectReason name, lower
        case; ``order_id`` may be None, it never left) or by the broker (``reason`` =
        ``"broker"``, ``detail`` its message)."""
        self._rejected(reason).inc()
        od = self.orders.pop(order_id, None) if order_id is not None else None
        if od is not None:
            od.status = "rejected"
            self.fill_ratio.add(od.filled_qty, od.qty)
        if self.log is not None:
            self.log.event("order_rejected", level="warning", order_id=order_id,
                           symbol=symbol or (od.symbol if od else ""), reason=reason,
                           detail=detail)

    def fill(self, order_id: str, qty: float, price: float, *, filled_ns: int | None = None,
             final: bool | None = None, order_qty: float | None = None) -> None:
        """``qty`` shares of ``order_id`` filled at ``price`` USD. ``final``: the order is
        now complete (None: when its filled quantity reaches the order's). ``order_qty``:
        the order's shares as the broker states them now (a USD order's are fixed at its
        fill; sent with an estimate), which the fill ratio then uses."""
        od = self.orders.get(order_id)
        if od is None:
            return
        if order_qty is not None and order_qty > 0:
            od.qty = order_qty
        now = self.clock() if filled_ns is None else filled_ns
        if od.filled_qty == 0.0 and od.acked_ns:
            self._lat["fill"].observe((now - od.acked_ns) * 1e-9)
        prev = od.filled_qty
        od.filled_qty = prev + qty
        od.avg_price = price if prev == 0.0 else (od.avg_price * prev + price * qty) / od.filled_qty
        self._fills[od.side].inc()
        self._fill_sh[od.side].inc(qty)
        if od.arrival_price > 0:
            self._slip[od.side].observe(
                _sign(od.side) * (price / od.arrival_price - 1.0) * 1e4)
        done = od.filled_qty >= od.qty - QTY_EPS if final is None else final
        od.status = "filled" if done else "partially_filled"
        self._log_order(od.status, od, fill_qty=qty, fill_price=price)
        if done:
            self._filled[od.side].inc()
            self._end(od)

    def order_closed(self, order_id: str, status: str) -> None:
        """``order_id`` ended without a complete fill: canceled, expired or replaced."""
        od = self.orders.get(order_id)
        if od is None:
            return
        self._closed[status].inc()
        od.status = status
        self._log_order(status, od)
        self._end(od)

    def algo_parent(self, order_id: int, symbol: str, algo: str, shortfall_usd: float,
                    shortfall_bps: float, participation: float) -> None:
        """An algo parent finished (``framework.analytics.tca.parent_tca`` of it):
        ``shortfall_usd`` / ``shortfall_bps`` its implementation shortfall (USD, bps;
        positive = cost),
        ``participation`` its filled shares over the market volume of its bars
        (fraction); NaN values (nothing filled, no volume) are counted, not observed."""
        self._m["fw_algo_parents_total"].labels(algo).inc()
        if math.isfinite(shortfall_usd):
            self._m["fw_algo_shortfall_usd"].labels(algo).inc(shortfall_usd)
        if math.isfinite(shortfall_bps):
            self._m["fw_algo_shortfall_bps"].labels(algo).observe(shortfall_bps)
        if math.isfinite(participation):
            self._m["fw_algo_participation_ratio"].labels(algo).observe(participation)
        if self.log is not None:
            self.log.event("algo_parent", order_id=order_id, symbol=symbol, algo=algo,
                           shortfall_usd=shortfall_usd, shortfall_bps=shortfall_bps,
                           participation=participation)

    def _end(self, od: TrackedOrder) -> None:
        self.orders.pop(od.order_id, None)
        self.fill_ratio.add(od.filled_qty, od.qty)

    def _log_order(self, state: str, od: TrackedOrder, **extra) -> None:
        if self.log is not None:
            self.log.event("order", order_id=od.order_id, broker_id=od.broker_id,
                           state=state, symbol=od.symbol, side=od.side, qty=od.qty,
                           filled_qty=od.filled_qty, **extra)

    # ------------------------------------------------------------------ broker link
    def http_response(self, method: str, endpoint: str, code: int, *,
                      rate_limit_remaining: int | None = None,
                      rate_limit_limit: int | None = None) -> None:
        """One broker REST response: ``endpoint`` is the path template
        (``/v2/orders/{id}``, not the id), ``code`` the HTTP status; the
        ``X-RateLimit-*`` header values when the reply carried them."""
        self._http(method, endpoint, code).inc()
        if code == 429:
            self._m["fw_broker_rate_limited_total"].inc()
        if rate_limit_remaining is not None:
            self._m["fw_rate_limit_remaining"].set(rate_limit_remaining)
        if rate_limit_limit is not None:
            self._m["fw_rate_limit_limit"].set(rate_limit_limit)

    def stream_state(self, stream: str, connected: bool) -> None:
        """``stream`` (market_data | trade_updates) connected or lost."""
        self._connected[stream].set(1 if connected else 0)
        self._stream_up[stream] = connected
        if self.log is not None:
            self.log.event("stream", level="info" if connected else "warning",
                           stream=stream, connected=connected)

    def reconnect(self, stream: str) -> None:
        """``stream`` reconnected after a loss (counts; marks it connected)."""
        self._m["fw_stream_reconnects_total"].labels(stream).inc()
        self._connected[stream].set(1)
        self._stream_up[stream] = True
        if self.log is not None:
            self.log.event("reconnect", level="warning", stream=stream)

    def market_open(self, is_open: bool) -> None:
        """The session's clock says the market is open (regular hours) or not."""
        self._m["fw_market_open"].set(1 if is_open else 0)

    # ------------------------------------------------------------------ account
    def mark(self, equity: float, *, cash: float | None = None,
             ts_ns: int | None = None) -> None:
        """Equity (USD) at ``ts_ns`` (session clock; default now): equity, drawdown from
        the high-water mark, rolling Sharpe."""
        ts = self.clock() if ts_ns is None else ts_ns
        self._equity = equity
        if cash is not None:
            self._cash = cash
        self.sharpe.update(ts, equity)
        self._equity_hist.append((ts, equity, self.high_water.update(equity)))

    def positions(self, positions: Mapping[str, float]) -> None:
        """The session's own positions, shares by symbol (flat symbols may be omitted)."""
        g = self._m["fw_position_shares"]
        for sym in self._positions.keys() - positions.keys():
            g.labels(sym).set(0.0)
        for sym, q in positions.items():
            g.labels(sym).set(q)
        self._positions = dict(positions)

    def reconcile(self, broker_positions: Mapping[str, float]) -> dict[str, float]:
        """Compare the session's positions with the broker's (shares by symbol); sets the
        mismatch per symbol and returns the non-zero ones (session - broker)."""
        g = self._m["fw_position_mismatch_shares"]
        diff = {}
        for sym in sorted(self._positions.keys() | broker_positions.keys() | self._mismatch.keys()):
            d = self._positions.get(sym, 0.0) - broker_positions.get(sym, 0.0)
            g.labels(sym).set(d)
            if abs(d) > QTY_EPS:
                diff[sym] = d
        self._mismatch = diff
        self._recon["mismatch" if diff else "ok"].inc()
        if self.log is not None:
            self.log.event("reconciliation", level="error" if diff else "info",
                           result="mismatch" if diff else "ok", mismatch=diff)
        return diff

    def risk_state(self, *, breakers: Iterable[str] = (), kill_switch: bool = False) -> None:
        """The breakers tripped now (names of ``framework.risk`` Breaker, lower case) and
        whether the kill switch is engaged; a change is logged and trips counted."""
        now = frozenset(breakers)
        for b in now - self._breakers:
            self._trips[b].inc()
        if now != self._breakers:
            for b in BREAKERS:
                self._tripped[b].set(1 if b in now else 0)
            if self.log is not None:
                self.log.event("risk", level="warning", event_kind="breakers",
                               tripped=sorted(now), reset=sorted(self._breakers - now))
        if kill_switch != self._kill:
            self._m["fw_kill_switch_engaged"].set(1 if kill_switch else 0)
            if self.log is not None:
                self.log.event("risk", level="critical" if kill_switch else "warning",
                               event_kind="kill_switch", engaged=kill_switch)
        self._breakers, self._kill = now, kill_switch

    # ------------------------------------------------------------------ status page
    def status(self) -> dict:
        """Everything the status page shows, JSON-able (called by the HTTP server)."""
        from framework.monitoring.status import latency_summary

        hist = list(self._equity_hist)
        return {
            "run_id": self.run_id, "now_ns": self.clock(), "started_ns": self.started_ns,
            "equity": _num(self._equity), "cash": _num(self._cash),
            "high_water": _num(self.high_water.peak),
            "drawdown": self.high_water.drawdown,
            "drawdown_limit": self.drawdown_limit,
            "sharpe": _num(self.sharpe.value),
            "fill_ratio": _num(self.fill_ratio.ratio),
            "fill_ratio_orders": len(self.fill_ratio.done),
            "equity_history": [[t, e, d] for t, e, d in hist],
            "positions": {s: q for s, q in sorted(self._positions.items()) if q},
            "mismatch": dict(self._mismatch),
            "working_orders": [o.json() for o in list(self.orders.values())],
            "breakers": {b: b in self._breakers for b in BREAKERS},
            "kill_switch": self._kill,
            "latency": latency_summary(self._m["fw_latency_seconds"]),
            "streams": dict(self._stream_up),
        }

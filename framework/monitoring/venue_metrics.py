"""``VenueMetrics``: what the local venue (``fw venue --metrics-port``) tells Prometheus --
requests by endpoint and code, 429s, connections, faults injected, orders and fills --
through methods named for its events. Names in ``framework.monitoring.catalog``;
one registry per venue. The venue (``live.venue``) calls it; nothing here knows the
venue's classes."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry

from framework.monitoring.catalog import STREAMS, VENUE_METRICS, Children, build
from framework.monitoring.eventlog import EventLog

TRADE_EVENTS = ("new", "partial_fill", "fill", "canceled", "expired", "replaced", "rejected")
FAULT_KINDS = ("drop", "silence", "http", "order_timeout", "delay", "duplicate", "reorder")


class VenueMetrics:
    """Metrics (and the event log) of one local venue.

    ``info``: labels of ``fw_venue_info`` (session, fills, speed). ``state``: a callable
    returning ``(clock_ns, steps_done, steps_total)``, read at each scrape.
    ``connections``: a callable returning the open connections per stream.
    """

    def __init__(self, info: dict[str, str], state: Callable[[], tuple[int, int, int]],
                 connections: Callable[[], dict[str, int]], log: EventLog | None = None):
        self.registry = CollectorRegistry()
        self.log = log
        m = self._m = build(self.registry, VENUE_METRICS)
        m["fw_venue_info"].info(info)
        m["fw_venue_clock_timestamp_seconds"].set_function(lambda: state()[0] * 1e-9)
        m["fw_venue_replay_steps_done"].set_function(lambda: state()[1])
        m["fw_venue_replay_steps_total"].set_function(lambda: state()[2])
        for s in STREAMS:
            m["fw_venue_open_connections"].labels(s).set_function(
                lambda s=s: connections().get(s, 0))
            m["fw_venue_connections_total"].labels(s)
        for k in FAULT_KINDS:
            m["fw_venue_faults_injected_total"].labels(k)
        for src in ("limit", "fault"):
            m["fw_venue_rate_limited_total"].labels(src)
        for e in TRADE_EVENTS:
            m["fw_venue_trade_updates_total"].labels(e)
        for side in ("buy", "sell"):
            m["fw_venue_filled_shares_total"].labels(side)
        self._req = Children(m["fw_venue_http_requests_total"])

    def request(self, method: str, endpoint: str, code: int, *, fault: bool = False) -> None:
        """One REST answer: ``endpoint`` the route template (``/v2/orders/{id}``),
        ``code`` its status; ``fault``: an injected fault produced it."""
        self._req(method, endpoint, code).inc()
        if code == 429:
            self._m["fw_venue_rate_limited_total"].labels("fault" if fault else "limit").inc()
            if self.log is not None:
                self.log.event("rate_limited", level="warning", method=method,
                               endpoint=endpoint, injected=fault)
        elif code == 200 and method == "POST" and endpoint == "/v2/orders":
            self._m["fw_venue_orders_accepted_total"].inc()

    def connection(self, stream: str, opened: bool, peer: str = "") -> None:
        """A WebSocket of ``stream`` (market_data | trade_updates) opened or closed."""
        if opened:
            self._m["fw_venue_connections_total"].labels(stream).inc()
        if self.log is not None:
            self.log.event("connection", stream=stream, opened=opened, peer=peer)

    def fault(self, spec: dict) -> None:
        """A fault was scheduled (``spec`` as ``live.venue.faults`` takes it)."""
        self._m["fw_venue_faults_injected_total"].labels(spec["kind"]).inc()
        if self.log is not None:
            self.log.event("fault_injected", level="warning", **spec)

    def trade_update(self, msg: dict) -> None:
        """One ``trade_updates`` message as the venue emits it (an order state change)."""
        data = msg["data"]
        event, od = data["event"], data["order"]
        self._m["fw_venue_trade_updates_total"].labels(event).inc()
        if event in ("fill", "partial_fill"):
            self._m["fw_venue_filled_shares_total"].labels(od["side"]).inc(float(data["qty"]))
        if self.log is not None:
            self.log.event("order", order_id=od["id"], client_order_id=od["client_order_id"],
                           state=event, symbol=od["symbol"], side=od["side"],
                           qty=od.get("qty"), filled_qty=od.get("filled_qty"),
                           price=data.get("price"), fill_qty=data.get("qty"),
                           execution_id=data.get("execution_id"))

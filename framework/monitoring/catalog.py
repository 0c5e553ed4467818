"""Every metric fw exports, defined once: name, type, help, labels, buckets.

``SessionMetrics`` (a live session) and ``VenueMetrics`` (the local venue) build their
prometheus-client objects from these tables, ``docs/monitoring.md`` shows them
(``markdown_table``; a test keeps the page equal to it), the alert rules and the
dashboards query them. Units are in the names, as Prometheus's conventions ask:
``_seconds``, ``_bps``, ``_usd``, ``_shares``, ``_ratio``; counters end in ``_total``.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

# Latency buckets, seconds: 10 us .. 2 min, roughly x2.5 apart, so one histogram
# resolves a 100 us decision and a 30 s resting-limit fill alike.
LATENCY_BUCKETS_S = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025,
                     0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
SLIPPAGE_BUCKETS_BPS = (-50.0, -20.0, -10.0, -5.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 5.0,
                        10.0, 20.0, 50.0)

# Participation of an algo parent, fraction of the market volume over its life.
PARTICIPATION_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)

# The four legs of an order's life that ``fw_latency_seconds`` times (label ``stage``).
STAGES = ("decision", "send", "ack", "fill")
STAGE_MEANING = {
    "decision": "market data received -> decision made",
    "send": "decision made -> order sent to the broker",
    "ack": "order sent -> broker acknowledged it (REST reply)",
    "fill": "acknowledged -> first fill",
}
STREAMS = ("market_data", "trade_updates")


@dataclass(frozen=True)
class MetricSpec:
    """One exported metric. ``kind``: counter | gauge | histogram | info; ``name`` is the
    exposed name (a counter's includes ``_total``)."""

    name: str
    kind: str
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()

    @property
    def base(self) -> str:
        """The name prometheus-client takes (it appends ``_total`` / ``_info`` itself)."""
        if self.kind == "counter":
            return self.name.removesuffix("_total")
        if self.kind == "info":
            return self.name.removesuffix("_info")
        return self.name


def _c(name, help, *labels):
    return MetricSpec(name, "counter", help, labels)


def _g(name, help, *labels):
    return MetricSpec(name, "gauge", help, labels)


SESSION_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("fw_session_info", "info", "The session: run id, strategy, mode (paper/live/replay), broker."),
    _c("fw_orders_submitted_total", "Orders sent to the broker.", "side", "type"),
    _c("fw_orders_acked_total", "Orders the broker acknowledged (accepted reply)."),
    _c("fw_orders_filled_total", "Orders completely filled.", "side"),
    _c("fw_orders_rejected_total", "Orders refused, by reason: a risk check's name "
       "(framework.risk RejectReason, lower case) or 'broker' (refused by the broker).", "reason"),
    _c("fw_orders_closed_total", "Orders ended without a complete fill, by final status "
       "(canceled, expired, replaced).", "status"),
    _c("fw_fills_total", "Fill events (partial and final).", "side"),
    _c("fw_submitted_shares_total", "Shares in orders sent.", "side"),
    _c("fw_filled_shares_total", "Shares filled.", "side"),
    _c("fw_broker_http_responses_total", "Broker REST responses by method, endpoint "
       "(path template) and HTTP status code.", "method", "endpoint", "code"),
    _c("fw_broker_rate_limited_total", "Broker REST responses with status 429."),
    _c("fw_stream_reconnects_total", "Reconnects of a broker stream.", "stream"),
    _c("fw_market_data_messages_total", "Market-data messages received, by kind "
       "(bar, quote, trade).", "kind"),
    _c("fw_reconciliations_total", "Position reconciliations against the broker, by "
       "result (ok, mismatch).", "result"),
    _c("fw_breaker_trips_total", "Circuit-breaker trips.", "breaker"),
    MetricSpec("fw_latency_seconds", "histogram", "Latency of each leg of an order's life "
               "(stage: decision, send, ack, fill; see the stage table).", ("stage",),
               LATENCY_BUCKETS_S),
    MetricSpec("fw_slippage_bps", "histogram", "Fill price vs the arrival price, bps, "
               "positive = worse for us (buy above / sell below arrival).", ("side",),
               SLIPPAGE_BUCKETS_BPS),
    _c("fw_algo_parents_total", "Algo parent orders finished (filled, cancelled or at "
       "their horizon), by algo (twap, vwap, pov, iceberg, is).", "algo"),
    MetricSpec("fw_algo_shortfall_bps", "histogram", "Implementation shortfall of each "
               "finished algo parent (framework.analytics.tca: delay + trading + "
               "opportunity + fees), bps of its shares x decision price, positive = cost.",
               ("algo",), SLIPPAGE_BUCKETS_BPS),
    _g("fw_algo_shortfall_usd", "Implementation shortfall of the algo parents finished so "
       "far, summed, USD (negative = they beat their decision prices; the histogram's "
       "negative buckets leave it without a _sum).", "algo"),
    MetricSpec("fw_algo_participation_ratio", "histogram", "Participation each finished "
               "algo parent achieved: its filled shares / the market volume of the bars "
               "from its arrival to its end.", ("algo",), PARTICIPATION_BUCKETS),
    _g("fw_stream_connected", "1 while the broker stream is connected.", "stream"),
    _g("fw_market_open", "1 while the market is open (regular hours of the session's clock)."),
    _g("fw_market_data_last_received_timestamp_seconds", "Wall time the last market-data "
       "message was received, epoch seconds."),
    _g("fw_market_data_last_event_timestamp_seconds", "Event time of the last market-data "
       "message (the exchange's or the replay's clock), epoch seconds."),
    _g("fw_equity_usd", "Account equity, USD."),
    _g("fw_cash_usd", "Account cash, USD."),
    _g("fw_high_water_usd", "Highest equity marked this session, USD."),
    _g("fw_drawdown_ratio", "Equity below the session's high-water mark, fraction (0.05 = 5 %)."),
    _g("fw_drawdown_limit_ratio", "The risk config's max_drawdown, fraction (0 = no limit)."),
    _g("fw_rolling_sharpe", "Annualised Sharpe ratio of equity returns sampled every "
       "sharpe_period_s over the last sharpe_window samples, computed in the process."),
    _g("fw_fill_ratio", "Shares filled / shares ordered over the last fill_ratio_window "
       "orders that ended."),
    _g("fw_fill_ratio_orders", "Orders in the fill-ratio window (it means little below ~10)."),
    _g("fw_working_orders", "Orders sent and not yet ended."),
    _g("fw_position_shares", "Position held, shares (signed), as the session books it.", "symbol"),
    _g("fw_position_mismatch_shares", "Session position minus broker position at the last "
       "reconciliation, shares.", "symbol"),
    _g("fw_breaker_tripped", "1 while the circuit breaker is tripped.", "breaker"),
    _g("fw_kill_switch_engaged", "1 while the kill switch is engaged."),
    _g("fw_rate_limit_remaining", "Broker requests left in the current rate-limit window "
       "(X-RateLimit-Remaining)."),
    _g("fw_rate_limit_limit", "Broker requests allowed per window (X-RateLimit-Limit)."),
)

VENUE_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("fw_venue_info", "info", "The venue: session date, fill model, speed."),
    _c("fw_venue_http_requests_total", "REST requests answered, by method, endpoint "
       "(route template) and status code.", "method", "endpoint", "code"),
    _c("fw_venue_rate_limited_total", "429 answers, by source (limit: the rate limit; "
       "fault: an injected fault).", "source"),
    _c("fw_venue_connections_total", "WebSocket connections opened.", "stream"),
    _c("fw_venue_faults_injected_total", "Faults scheduled (POST /_venue/faults or "
       "Venue.fault), by kind.", "kind"),
    _c("fw_venue_orders_accepted_total", "Orders accepted (POST /v2/orders answered 200)."),
    _c("fw_venue_trade_updates_total", "trade_updates events emitted, by event (new, fill, "
       "partial_fill, canceled, expired, replaced, rejected).", "event"),
    _c("fw_venue_filled_shares_total", "Shares filled.", "side"),
    _g("fw_venue_open_connections", "Open WebSocket connections.", "stream"),
    _g("fw_venue_clock_timestamp_seconds", "The venue's simulated clock, epoch seconds."),
    _g("fw_venue_replay_steps_done", "Replay steps played so far."),
    _g("fw_venue_replay_steps_total", "Replay steps in the session."),
)


def build(registry: CollectorRegistry, specs: tuple[MetricSpec, ...]) -> dict[str, object]:
    """The prometheus-client object of each spec, registered in ``registry``; keyed by
    the exposed name."""
    out: dict[str, object] = {}
    for s in specs:
        kw = {"labelnames": s.labels, "registry": registry}
        if s.kind == "counter":
            out[s.name] = Counter(s.base, s.help, **kw)
        elif s.kind == "gauge":
            out[s.name] = Gauge(s.base, s.help, **kw)
        elif s.kind == "histogram":
            out[s.name] = Histogram(s.base, s.help, buckets=s.buckets, **kw)
        elif s.kind == "info":
            out[s.name] = Info(s.base, s.help, **kw)
        else:
            raise ValueError(f"metric {s.name}: unknown kind {s.kind!r}")
    return out


class Children:
    """The label children of one labelled metric, bound on first use: a later call with
    the same labels costs a dict lookup, not prometheus-client's label validation."""

    def __init__(self, metric):
        self.metric = metric
        self._bound: dict[tuple, object] = {}

    def __call__(self, *labels):
        child = self._bound.get(labels)
        if child is None:
            child = self._bound[labels] = self.metric.labels(*(str(x) for x in labels))
        return child


def markdown_table(specs: tuple[MetricSpec, ...]) -> str:
    """The docs table of ``specs``: name, type, labels, meaning."""
    rows = ["| metric | type | labels | meaning |", "| --- | --- | --- | --- |"]
    for s in specs:
        labels = ", ".join(f"`{x}`" for x in s.labels) or "-"
        rows.append(f"| `{s.name}` | {s.kind} | {labels} | {s.help} |")
    return "\n".join(rows)

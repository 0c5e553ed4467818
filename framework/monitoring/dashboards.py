"""Grafana dashboards as code (grafana-foundation-sdk, Grafana Labs' typed builders):
``fw-session`` (one live session) and ``fw-venue`` (the local venue). ``fw monitor
dashboards`` writes them to ``config/monitoring/grafana/*.json``, which Grafana's file
provisioning (``config/monitoring/grafana/provisioning``) loads unchanged.

Each panel is one row of a table below (title, kind, unit, queries), so the dashboards
read like a list and the tests can run every query against a real Prometheus.
Queries use two dashboard variables: ``$datasource`` (a Prometheus data source) and
``$instance`` (which exporter), and Grafana's ``$__rate_interval``.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

with warnings.catch_warnings():  # the classic (v1) schema is what file provisioning loads
    warnings.simplefilter("ignore", DeprecationWarning)
    from grafana_foundation_sdk.builders import common as gcommon_b
    from grafana_foundation_sdk.builders import dashboard as gd
    from grafana_foundation_sdk.builders import prometheus as gp
    from grafana_foundation_sdk.builders import stat as gstat
    from grafana_foundation_sdk.builders import statetimeline as gstate
    from grafana_foundation_sdk.builders import timeseries as gts
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models import common as gcommon
    from grafana_foundation_sdk.models import dashboard as gmodel

DS = gcommon.DataSourceRef(type_val="prometheus", uid="${datasource}")
I = '{instance=~"$instance"}'  # noqa: E741 -- the selector every session query carries
R = "$__rate_interval"
ACK = '{instance=~"$instance", stage="ack"}'


@dataclass(frozen=True)
class PanelSpec:
    """One panel: ``kind`` stat | timeseries | state; ``unit`` a Grafana unit id;
    ``queries``: (PromQL, legend) pairs."""

    title: str
    kind: str
    unit: str
    queries: tuple[tuple[str, str], ...]
    width: int = 8
    description: str = ""


def _q(*pairs: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(pairs)


def _quantiles(metric: str, by: str) -> tuple[tuple[str, str], ...]:
    return tuple((f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}_bucket{I}[{R}])))",
                  f"p{int(q * 100)} {{{{{by}}}}}") for q in (0.5, 0.95, 0.99))


SESSION_ROWS: tuple[tuple[str, tuple[PanelSpec, ...]], ...] = (
    ("Account", (
        PanelSpec("Equity", "stat", "currencyUSD", _q((f"fw_equity_usd{I}", "equity")), 4),
        PanelSpec("Drawdown", "stat", "percentunit", _q((f"fw_drawdown_ratio{I}", "drawdown")), 4),
        PanelSpec("Rolling Sharpe", "stat", "none", _q((f"fw_rolling_sharpe{I}", "sharpe")), 4),
        PanelSpec("Fill ratio", "stat", "percentunit", _q((f"fw_fill_ratio{I}", "fill ratio")), 4),
        PanelSpec("Working orders", "stat", "none", _q((f"fw_working_orders{I}", "working")), 4),
        PanelSpec("Kill switch", "stat", "none",
                  _q((f"fw_kill_switch_engaged{I}", "kill switch")), 4),
        PanelSpec("Equity and high-water mark", "timeseries", "currencyUSD",
                  _q((f"fw_equity_usd{I}", "equity"), (f"fw_high_water_usd{I}", "high water"),
                     (f"fw_cash_usd{I}", "cash")), 12),
        PanelSpec("Drawdown vs limit", "timeseries", "percentunit",
                  _q((f"fw_drawdown_ratio{I}", "drawdown"),
                     (f"fw_drawdown_limit_ratio{I}", "limit (max_drawdown)")), 12),
    )),
    ("Orders and fills", (
        PanelSpec("Orders per second", "timeseries", "reqps",
                  _q((f"sum by (side) (rate(fw_orders_submitted_total{I}[{R}]))", "sent {{side}}"),
                     (f"sum by (side) (rate(fw_orders_filled_total{I}[{R}]))", "filled {{side}}"))),
        PanelSpec("Rejects by reason", "timeseries", "short",
                  _q((f"sum by (reason) (increase(fw_orders_rejected_total{I}[{R}]))",
                      "{{reason}}"))),
        PanelSpec("Fill ratio (last orders)", "timeseries", "percentunit",
                  _q((f"fw_fill_ratio{I}", "fill ratio"))),
        PanelSpec("Slippage vs arrival (bps)", "timeseries", "none",
                  _quantiles("fw_slippage_bps", "side"), 12,
                  "Positive = worse than the arrival price."),
        PanelSpec("Shares sent and filled", "timeseries", "short",
                  _q((f"sum by (side) (rate(fw_submitted_shares_total{I}[{R}]))", "sent {{side}}"),
                     (f"sum by (side) (rate(fw_filled_shares_total{I}[{R}]))",
                      "filled {{side}}")), 12),
    )),
    ("Latency", (
        PanelSpec("Latency p50 by stage", "timeseries", "s",
                  _q((f"histogram_quantile(0.5, sum by (stage, le) (rate(fw_latency_seconds_bucket{I}[{R}])))",
                      "{{stage}}"))),
        PanelSpec("Latency p95 by stage", "timeseries", "s",
                  _q((f"histogram_quantile(0.95, sum by (stage, le) (rate(fw_latency_seconds_bucket{I}[{R}])))",
                      "{{stage}}"))),
        PanelSpec("Order ack latency", "timeseries", "s",
                  tuple((f"histogram_quantile({q}, sum by (le) (rate(fw_latency_seconds_bucket"
                         f"{ACK}[{R}])))", f"p{int(q * 100)}") for q in (0.5, 0.95, 0.99))),
    )),
    ("Broker link", (
        PanelSpec("Broker responses by code", "timeseries", "reqps",
                  _q((f"sum by (code) (rate(fw_broker_http_responses_total{I}[{R}]))",
                      "{{code}}"))),
        PanelSpec("429 answers", "timeseries", "short",
                  _q((f"increase(fw_broker_rate_limited_total{I}[{R}])", "429"))),
        PanelSpec("Rate-limit budget", "timeseries", "short",
                  _q((f"fw_rate_limit_remaining{I}", "remaining"),
                     (f"fw_rate_limit_limit{I}", "limit"))),
        PanelSpec("Streams connected", "state", "none",
                  _q((f"fw_stream_connected{I}", "{{stream}}"))),
        PanelSpec("Stream reconnects", "timeseries", "short",
                  _q((f"sum by (stream) (increase(fw_stream_reconnects_total{I}[{R}]))",
                      "{{stream}}"))),
        PanelSpec("Market data age", "timeseries", "s",
                  _q((f"time() - fw_market_data_last_received_timestamp_seconds{I}", "age"),
                     (f"fw_market_open{I}", "market open"))),
        PanelSpec("Market data messages per second", "timeseries", "short",
                  _q((f"sum by (kind) (rate(fw_market_data_messages_total{I}[{R}]))",
                      "{{kind}}")), 12),
    )),
    ("Risk", (
        PanelSpec("Positions (shares)", "timeseries", "short",
                  _q((f"fw_position_shares{I}", "{{symbol}}"))),
        PanelSpec("Position mismatch vs broker", "timeseries", "short",
                  _q((f"fw_position_mismatch_shares{I}", "{{symbol}}"))),
        PanelSpec("Reconciliations", "timeseries", "short",
                  _q((f"sum by (result) (increase(fw_reconciliations_total{I}[{R}]))",
                      "{{result}}"))),
        PanelSpec("Circuit breakers", "state", "none",
                  _q((f"fw_breaker_tripped{I}", "{{breaker}}")), 12),
        PanelSpec("Kill switch", "state", "none",
                  _q((f"fw_kill_switch_engaged{I}", "kill switch")), 12),
    )),
)

VENUE_ROWS: tuple[tuple[str, tuple[PanelSpec, ...]], ...] = (
    ("Venue", (
        PanelSpec("Simulated clock", "stat", "dateTimeAsIso",
                  _q((f"fw_venue_clock_timestamp_seconds{I} * 1000", "clock")), 6),
        PanelSpec("Replay progress", "stat", "percentunit",
                  _q((f"fw_venue_replay_steps_done{I} / fw_venue_replay_steps_total{I}",
                      "progress")), 6),
        PanelSpec("Open connections", "stat", "none",
                  _q((f"fw_venue_open_connections{I}", "{{stream}}")), 6),
        PanelSpec("Orders accepted", "stat", "none",
                  _q((f"fw_venue_orders_accepted_total{I}", "orders")), 6),
        PanelSpec("Requests by endpoint and code", "timeseries", "reqps",
                  _q((f"sum by (endpoint, code) (rate(fw_venue_http_requests_total{I}[{R}]))",
                      "{{endpoint}} {{code}}")), 12),
        PanelSpec("429 answers", "timeseries", "short",
                  _q((f"sum by (source) (increase(fw_venue_rate_limited_total{I}[{R}]))",
                      "{{source}}")), 12),
        PanelSpec("Connections opened", "timeseries", "short",
                  _q((f"sum by (stream) (increase(fw_venue_connections_total{I}[{R}]))",
                      "{{stream}}"))),
        PanelSpec("Faults injected", "timeseries", "short",
                  _q((f"sum by (kind) (increase(fw_venue_faults_injected_total{I}[{R}]))",
                      "{{kind}}"))),
        PanelSpec("Trade updates by event", "timeseries", "short",
                  _q((f"sum by (event) (rate(fw_venue_trade_updates_total{I}[{R}]))",
                      "{{event}}"))),
        PanelSpec("Shares filled", "timeseries", "short",
                  _q((f"sum by (side) (increase(fw_venue_filled_shares_total{I}[{R}]))",
                      "{{side}}")), 24),
    )),
)

DASHBOARDS = {
    "fw-session": ("fw live session", "fw_session_info", SESSION_ROWS),
    "fw-venue": ("fw local venue", "fw_venue_info", VENUE_ROWS),
}


def _panel(p: PanelSpec, pid: int):
    cls = {"stat": gstat.Panel, "timeseries": gts.Panel, "state": gstate.Panel}[p.kind]
    panel = cls().id(pid).title(p.title).datasource(DS).unit(p.unit).span(p.width).height(
        4 if p.kind == "stat" else 8)
    if p.kind == "stat":  # the latest value, not a reduction Grafana has to guess
        panel = panel.reduce_options(gcommon_b.ReduceDataOptions().calcs(["lastNotNull"]))
    if p.description:
        panel = panel.description(p.description)
    for i, (expr, legend) in enumerate(p.queries):
        panel = panel.with_target(gp.Dataquery().expr(expr).legend_format(legend)
                                  .ref_id(chr(ord("A") + i)).datasource(DS))
    return panel


def build_dashboard(uid: str) -> dict:
    """The dashboard ``uid`` (``fw-session`` or ``fw-venue``) as Grafana JSON (a dict)."""
    title, info_metric, rows = DASHBOARDS[uid]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        b = (gd.Dashboard(title).uid(uid).tags(["fw", "generated"]).refresh("10s")
             .time("now-1h", "now").timezone("browser")
             .with_variable(gd.DatasourceVariable("datasource").label("Data source")
                            .type("prometheus"))
             .with_variable(gd.QueryVariable("instance").label("Instance").datasource(DS)
                            .query(f"label_values({info_metric}, instance)")
                            .refresh(gmodel.VariableRefresh.ON_TIME_RANGE_CHANGED)
                            .include_all(True).all_value(".*").multi(True)))
        pid = 0
        for row_title, panels in rows:
            pid += 1
            b = b.with_row(gd.Row(row_title).id(pid))
            for p in panels:
                pid += 1
                b = b.with_panel(_panel(p, pid))
        return json.loads(JSONEncoder(sort_keys=True, indent=2).encode(b.build()))


def panel_queries(dash: dict) -> list[tuple[str, str]]:
    """Every (panel title, PromQL) of a dashboard's JSON, rows included."""
    out = []
    for panel in dash["panels"]:
        for p in [panel, *panel.get("panels", [])]:
            for t in p.get("targets", []):
                out.append((p.get("title", ""), t["expr"]))
    return out


def write_dashboards(folder: Path) -> list[Path]:
    """Write every dashboard to ``folder/<uid>.json``; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for uid in DASHBOARDS:
        path = folder / f"{uid}.json"
        path.write_text(json.dumps(build_dashboard(uid), indent=2, sort_keys=True) + "\n")
        paths.append(path)
    return paths

"""End to end: ``fw venue --metrics-port`` replays a lake session, ``fw live --paper``
trades sma_cross on it and serves its own exporter (``--metrics-port``); ``fw monitor up``
starts a real Prometheus and Alertmanager on the shipped configs and scrapes both. Real
faults from the venue (a 429 burst met by the reconciliation after a dropped market-data
socket), a real drawdown breaker (``risk.max_drawdown`` set tight) and ``fw live stop
--kill``: the 429, breaker and kill-switch alerts fire, the kill switch reaches a webhook
on loopback through Alertmanager, and every PromQL expression of every dashboard panel
returns data through Prometheus's HTTP API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

from framework.monitoring import read_events
from framework.monitoring.dashboards import DASHBOARDS, build_dashboard, panel_queries
from framework.monitoring.stack import free_port
from tests.conftest import PROJECT_ROOT
from tests.live.venue.venue_testkit import wait_for

# what Grafana would put in place of the dashboard variables
VARIABLES = {"$__rate_interval": "30s", "$instance": ".*"}
SMA = ["params.fast=1", "params.slow=2", "data.timeframe=1m", "decision.size=0.15",
       "risk.max_drawdown=0.0002"]  # 2 bp below the high-water mark trips the breaker


def _start(argv: list[str], until: str) -> tuple[subprocess.Popen, list[str]]:
    """Start ``fw ...`` and read its stdout up to the line starting with ``until``."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "framework.cli.app", *argv],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    while not any(ln.strip().startswith(until) for ln in lines):
        line = proc.stdout.readline()
        if not line:
            proc.wait(10)
            raise AssertionError(f"fw {argv[0]} exited: {''.join(lines)}")
        lines.append(line)
    return proc, lines


def _url(lines: list[str], name: str) -> str:
    return next(ln.split()[-1] for ln in lines if ln.strip().startswith(name))


def _query(prom: str, expr: str) -> dict:
    q = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(f"{prom}/api/v1/query?{q}", timeout=10) as r:
        return json.load(r)


def _value(prom: str, expr: str) -> float:
    res = _query(prom, expr)["data"]["result"]
    return float(res[0]["value"][1]) if res else 0.0


def _fault(control: str, spec: dict) -> None:
    req = urllib.request.Request(f"{control}/faults", json.dumps(spec).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_prometheus_scrapes_fw_live_on_the_venue_and_alerts_fire(
        prom_tools, small_lake, webhook, tmp_path):
    venue, vlines = _start(["venue", "--lake", str(small_lake), "--session", "2024-01-08",
                            "--speed", "60", "--fills", "bar", "--rate-limit", "100000",
                            "--rate-window", "2", "--metrics-port", "0",
                            "--log-dir", str(tmp_path / "venue"), "--no-log-stderr"], "Ctrl-C")
    procs = [venue]
    reports = tmp_path / "reports"
    try:
        venue_target = urllib.parse.urlparse(_url(vlines, "metrics")).netloc
        control = _url(vlines, "control")
        live, llines = _start(["live", "--paper", "strategies/sma_cross.toml", "--venue",
                               _url(vlines, "trading REST"), "--lake", str(small_lake),
                               "--out", str(reports), "--force", "e2e test",
                               *[a for kv in SMA for a in ("--set", kv)],
                               "--metrics-port", "0", "--metrics-linger", "120",
                               "--no-log-stderr", "--panel", "0"], "status")
        procs.append(live)
        run_id = _url(llines, "run")
        session_target = urllib.parse.urlparse(_url(llines, "metrics")).netloc
        prom_port, am_port = free_port(), free_port()
        mon, mlines = _start(["monitor", "up", "--target", f"fw-live={session_target}",
                              "--target", f"fw-venue={venue_target}",
                              "--prometheus-port", str(prom_port),
                              "--alertmanager-port", str(am_port), "--webhook", webhook.url,
                              "--run-dir", str(tmp_path / "monitor")], "Ctrl-C")
        procs.append(mon)
        prom = _url(mlines, "prometheus")
        assert prom == f"http://127.0.0.1:{prom_port}"
        assert _url(mlines, "alertmanager") == f"http://127.0.0.1:{am_port}"

        # the session trades; its fills are scraped
        wait_for(lambda: _value(prom, 'sum(fw_fills_total{job="fw-live"})') > 0,
                 timeout=120, what="fills scraped from fw live")
        # a 429 burst on whatever the session asks next, then a dropped data socket: the
        # reconciliation after the reconnect meets the 429s, waits out the window, goes on
        _fault(control, {"kind": "http", "status": 429, "count": 2})
        _fault(control, {"kind": "drop", "stream": "market_data"})
        wait_for(lambda: _value(prom, 'fw_broker_rate_limited_total{job="fw-live"}') >= 2
                 and _value(prom, 'fw_stream_reconnects_total{stream="market_data"}') >= 1,
                 timeout=60, what="the 429s and the reconnect scraped")
        wait_for(lambda: _value(prom, 'sum(fw_breaker_tripped{job="fw-live"})') >= 1,
                 timeout=120, what="the drawdown breaker tripped")
        # every panel's query returns data (rate windows need two scrapes in 30 s)
        wait_for(lambda: _query(prom, 'count_over_time(up{job="fw-live"}[30s]) >= 4')
                 ["data"]["result"], timeout=60, what="four scrapes")
        empty = []
        for uid in DASHBOARDS:
            for title, expr in panel_queries(build_dashboard(uid)):
                for var, val in VARIABLES.items():
                    expr = expr.replace(var, val)
                res = _query(prom, expr)
                assert res["status"] == "success", (uid, title, expr, res)
                if not res["data"]["result"]:
                    empty.append(f"{uid} / {title}: {expr}")
        assert not empty, "panels without data:\n" + "\n".join(empty)

        # the kill switch, as an operator pulls it: rule (for 5 s) -> Alertmanager
        # (group_wait 10 s) -> webhook; the exporter lingers after the session stopped
        subprocess.run([sys.executable, "-m", "framework.cli.app", "live", "stop", run_id,
                        "--kill", "--reason", "e2e", "--out", str(reports)], cwd=PROJECT_ROOT,
                       check=True, capture_output=True)
        fired = wait_for(lambda: [a for a in webhook.alerts()
                                  if a["labels"]["alertname"] == "FwKillSwitchEngaged"],
                         timeout=120, what="the kill-switch alert at the webhook")
        a = fired[0]
        assert a["status"] == "firing"
        assert a["labels"] == {"alertname": "FwKillSwitchEngaged", "severity": "critical",
                               "job": "fw-live", "instance": session_target, "project": "fw"}
        assert a["annotations"]["summary"] == f"{session_target}: kill switch engaged"

        def firing() -> set[str]:
            alerts = json.load(urllib.request.urlopen(f"{prom}/api/v1/alerts"))["data"]["alerts"]
            return {x["labels"]["alertname"] for x in alerts if x["state"] == "firing"}

        want = {"FwKillSwitchEngaged", "FwBreakerTripped", "FwRateLimited"}
        try:
            wait_for(lambda: want <= firing(), timeout=60, what="alerts firing")
        except AssertionError:
            raise AssertionError(f"want {want} firing; firing: {firing()}") from None
        assert not firing() & {"FwStreamDisconnected", "FwMarketDataStale", "FwExporterDown",
                               "FwPositionMismatch"}, firing()
        # what the exporter counted is what the venue holds
        orders = _value(prom, 'sum(fw_orders_submitted_total{job="fw-live"})')
        assert orders == _value(prom, "fw_venue_orders_accepted_total") > 0
    finally:
        for p in reversed(procs):
            _stop(p)

    assert venue.returncode == 0 and mon.returncode == 0
    run_dir = reports / run_id
    summary = json.loads((run_dir / "live.json").read_text())
    assert summary["stopped"]["kill"] and summary["stopped"]["reason"] == "e2e"
    live_ev = read_events(run_dir / "events.jsonl")
    states = {(e["event"], e.get("state") or e.get("event_kind") or e.get("result"))
              for e in live_ev}
    assert {("order", "sent"), ("order", "acked"), ("order", "filled"), ("stream", None),
            ("reconnect", None), ("reconciliation", "ok"), ("risk", "kill_switch"),
            ("risk", "breakers")} <= states, states
    ven = read_events(tmp_path / "venue" / "events.jsonl")
    sent = {e["order_id"] for e in live_ev if e["event"] == "order" and e["state"] == "sent"}
    assert sent == {e["client_order_id"] for e in ven if e["event"] == "order"}
    assert sum(e["event"] == "rate_limited" for e in ven) >= 2

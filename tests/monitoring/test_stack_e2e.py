"""End to end: ``fw venue --metrics-port`` serves a lake session, a scripted session trades
on it through alpaca-py and feeds ``SessionMetrics``; ``fw monitor up`` starts a real
Prometheus and Alertmanager on the shipped configs; every PromQL expression of every
dashboard panel returns data through Prometheus's HTTP API; the kill switch and the
429 alerts fire, and the kill switch reaches a webhook on loopback through Alertmanager.

When ``fw live`` lands, it replaces the scripted session here (same exporter API)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

from framework.monitoring import EventLog, MetricsServer, SessionMetrics, read_events
from framework.monitoring.dashboards import DASHBOARDS, build_dashboard, panel_queries
from framework.monitoring.stack import free_port
from tests.conftest import PROJECT_ROOT
from tests.monitoring.session_driver import ScriptedSession
from tests.venue.venue_testkit import wait_for

# what Grafana would put in place of the dashboard variables
VARIABLES = {"$__rate_interval": "30s", "$instance": ".*"}


def _start(argv: list[str], until: str) -> tuple[subprocess.Popen, list[str]]:
    """Start ``fw ...`` and read its stdout up to the line starting with ``until``."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "framework.cli.app", *argv],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    while not any(ln.startswith(until) for ln in lines):
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


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_prometheus_scrapes_a_session_and_the_venue_and_alerts_fire(
        prom_tools, venue_lake, webhook, tmp_path):
    venue, vlines = _start(["venue", "--lake", str(venue_lake), "--speed", "60", "--autostart",
                            "--fills", "quote", "--rate-limit", "100000", "--metrics-port", "0",
                            "--log-dir", str(tmp_path / "venue"), "--no-log-stderr"], "Ctrl-C")
    procs = [venue]
    session = srv = None
    try:
        metrics_url = _url(vlines, "metrics")
        venue_target = urllib.parse.urlparse(metrics_url).netloc
        m = SessionMetrics("e2e-run", strategy="scripted", mode="paper", drawdown_limit=0.05,
                           sharpe_period_s=1.0, sharpe_window=30,
                           log=EventLog("live", "e2e-run", tmp_path / "run", stderr=False))
        srv = MetricsServer(m.registry, status=m.status)
        session_target = urllib.parse.urlparse(srv.start(0)).netloc
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

        # counters must be scraped at 0 before they move, or increase() sees no change
        wait_for(lambda: _query(prom, 'up{job="fw-live"} == 1')["data"]["result"],
                 timeout=60, what="a first scrape of the session")
        session = ScriptedSession(m, _url(vlines, "trading REST"), _url(vlines, "market data"),
                                  _url(vlines, "control"), "fw-venue-key", "fw-venue-secret",
                                  kill_at_s=6.0, throttle_at_s=8.0).start()
        # the kill switch: rule (for 5 s) -> Alertmanager (group_wait 10 s) -> webhook
        fired = wait_for(lambda: [a for a in webhook.alerts()
                                  if a["labels"]["alertname"] == "FwKillSwitchEngaged"],
                         timeout=120, what="the kill-switch alert at the webhook")
        assert not session.errors, session.errors
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
    finally:
        if session is not None:
            session.stop()
        for p in reversed(procs):
            _stop(p)
        if srv is not None:
            srv.stop()

    assert venue.returncode == 0 and mon.returncode == 0
    live = read_events(tmp_path / "run" / "events.jsonl")
    states = {(e["event"], e.get("state") or e.get("event_kind") or e.get("result"))
              for e in live}
    assert {("order", "sent"), ("order", "acked"), ("order", "filled"), ("order", "canceled"),
            ("order_rejected", None), ("reconnect", None), ("reconciliation", "ok"),
            ("risk", "kill_switch"), ("risk", "breakers")} <= states
    ven = read_events(tmp_path / "venue" / "events.jsonl")
    assert {e["client_order_id"] for e in ven if e["event"] == "order"} >= {"drv-1", "drv-2"}
    assert any(e["event"] == "rate_limited" for e in ven)

"""The built-in status page in real headless Chromium, served by ``fw live`` itself while
it trades sma_cross on the local venue (streaming, a minute a second): it renders
(equity, drawdown, positions, working orders, latency, fill ratio, breakers, streams),
keeps updating, shows the kill switch engaged after the page loaded (pulled as
``fw live stop --kill`` pulls it, with the drawdown breaker already tripped by a tight
``risk.max_drawdown``), and logs no console error. ``FW_DOCS_SCREENSHOT=1`` also writes
the screenshot used in docs/monitoring.md."""

from __future__ import annotations

import datetime as dt
import io
import os
import threading

from PIL import Image

from framework.engine.run_config import load_strategy
from live.runner import run_live, venue_config
from live.session import Stop
from tests.analytics.browser import visit
from tests.conftest import PROJECT_ROOT
from tests.live.venue.venue_testkit import wait_for
from tests.system_packages import ensure_debian_package

TOML = PROJECT_ROOT / "strategies" / "sma_cross.toml"
DAY = dt.date(2024, 1, 8)
OV = {"params.fast": 1, "params.slow": 2, "data.timeframe": "1m", "decision.size": 0.15,
      "risk.max_drawdown": 0.0002, "data.start": DAY.isoformat(), "data.end": DAY.isoformat()}

SCRIPT = """
(async () => {
  const $ = (id) => document.getElementById(id);
  const updates = () => Number(document.body.dataset.updates || 0);
  const until = async (pred, ms) => {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) { if (pred()) return true; await new Promise(r => setTimeout(r, 50)); }
    return false;
  };
  const streams = () => [...document.querySelectorAll("#streams .badge")].map(b => b.textContent);
  const rendered = await until(() => updates() >= 1 && $("equity").textContent !== "-", 20000);
  const killBefore = $("kill-switch").textContent;
  const sawOrder = await until(() => $("orders").tBodies[0].rows.length > 0 &&
      /^fw-/.test($("orders").tBodies[0].rows[0].cells[0].textContent), 30000);
  const streamsBefore = streams();
  const engaged = await until(() => $("kill-switch").textContent === "ENGAGED", 120000);
  const n = updates();
  const kept = await until(() => updates() >= n + 3, 10000);
  await until(() => $("latency").tBodies[0].rows.length === 4 &&
                    Number($("equity-chart").dataset.points || 0) > 5, 10000);
  const rows = (id) => [...$(id).tBodies[0].rows].map(r => [...r.cells].map(c => c.textContent));
  return {rendered, killBefore, engaged, kept, sawOrder, equity: $("equity").textContent,
          drawdown: $("drawdown").textContent, fill: $("fill-ratio").textContent,
          sharpe: $("sharpe").textContent, positions: rows("positions"),
          orders: rows("orders"), latency: rows("latency"),
          points: Number($("equity-chart").dataset.points || 0),
          breakersOn: [...document.querySelectorAll("#breakers .badge.on")].map(b => b.textContent),
          streamsBefore, streams: streams()};
})()
"""


def test_status_page_of_fw_live_renders_and_updates_in_chromium(make_venue, small_lake,
                                                                 tmp_path):
    chromium = ensure_debian_package("chromium", "chromium")
    cfg, _ = load_strategy(TOML, {**OV, "execution.tick_prices": True}, small_lake,
                           prepare=False)
    v = make_venue(**venue_config(cfg, small_lake, DAY, step=False, speed=60.0, fills="bar",
                                  rate_limit=100_000).model_dump())
    started = threading.Event()
    box: dict = {}

    def on_start(session) -> None:
        box["session"] = session
        started.set()

    def trade() -> None:
        try:
            box["run"] = run_live(TOML, {**OV, "backtest.reports": str(tmp_path)},
                                  lake=small_lake, venue_url=v.urls.trading,
                                  force_reason="page test", metrics_port=0,
                                  metrics_linger_s=30.0, on_start=on_start)
        except BaseException as err:  # noqa: BLE001 - reported by the test
            box["error"] = err
            started.set()

    threading.Thread(target=trade, daemon=True).start()
    assert started.wait(120) and "error" not in box, box.get("error")
    live = box["session"]

    def kill_after_a_trip() -> None:  # a change the page must pick up by itself
        wait_for(lambda: any(live.m.status()["breakers"].values()), timeout=90,
                 what="the drawdown breaker")
        wait_for(lambda: live.stats.fills >= 3, timeout=60, what="fills")
        live.request_stop(Stop(kill=True, reason="page test"))

    threading.Thread(target=kill_after_a_trip, daemon=True).start()
    seen = visit(chromium, live.metrics_url + "/", SCRIPT, timeout_s=200)
    assert "error" not in box, box.get("error")
    assert seen.errors == [], seen.errors
    r = seen.evaluated
    assert r["rendered"] and r["killBefore"] == "off" and r["engaged"] and r["kept"], r
    assert r["equity"].startswith("$") and r["drawdown"].endswith("/ 0.02 %"), r
    assert r["fill"].endswith(")") and "%" in r["fill"], r
    assert [row[0] for row in r["latency"]] == ["decision", "send", "ack", "fill"]
    assert all(int(row[2]) > 0 for row in r["latency"]), r["latency"]
    assert r["sawOrder"], r
    assert {row[0] for row in r["positions"]} <= set(cfg.symbols), r["positions"]
    assert "drawdown" in r["breakersOn"] and r["points"] > 5, r
    assert sorted(r["streamsBefore"]) == ["market data up", "trade updates up"], r
    assert sorted(r["streams"]) == ["market data down", "trade updates down"], r  # stopped

    img = Image.open(io.BytesIO(seen.screenshot_png)).convert("L")
    assert img.width >= 1000 and img.height >= 600
    lo, hi = img.getextrema()
    assert hi - lo > 100  # not a blank page
    (tmp_path / "status-page.png").write_bytes(seen.screenshot_png)
    if os.environ.get("FW_DOCS_SCREENSHOT"):
        out = PROJECT_ROOT / "docs" / "img" / "status-page.png"
        out.parent.mkdir(exist_ok=True)
        out.write_bytes(seen.screenshot_png)

"""Open a local HTML file in real headless Chromium over the DevTools protocol.

Collects console errors and uncaught exceptions, evaluates a script in the loaded page,
and takes a screenshot: what a user opening the tearsheet would see.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from websockets.sync.client import connect


@dataclass
class PageVisit:
    """What the browser reported for one page load."""

    errors: list[str] = field(default_factory=list)  # console errors + exceptions
    evaluated: object = None
    screenshot_png: bytes = b""


def _devtools_port(proc: subprocess.Popen, deadline: float) -> int:
    while time.monotonic() < deadline:
        line = proc.stderr.readline().decode(errors="replace")
        m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
        if m:
            return int(m.group(1))
        if not line and proc.poll() is not None:
            break
    raise RuntimeError("chromium did not start its DevTools endpoint")


def visit(chromium: str, page: Path | str, script: str, *, timeout_s: float = 60.0) -> PageVisit:
    """Load ``page`` (a file, or an ``http://`` URL), wait for the load event and
    ``timeout_s`` at most, return errors, the JSON value of ``script`` and a full-page
    PNG screenshot."""
    out = PageVisit()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--no-first-run", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", "--window-size=1400,1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout_s
            port = _devtools_port(proc, deadline)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as resp:
                target = next(t for t in json.load(resp) if t["type"] == "page")
            with connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
                seq = iter(range(1, 1_000_000))
                events: list[dict] = []

                def call(method: str, **params) -> dict:
                    mid = next(seq)
                    ws.send(json.dumps({"id": mid, "method": method, "params": params}))
                    while True:
                        msg = json.loads(ws.recv(timeout=max(1.0, deadline - time.monotonic())))
                        if msg.get("id") == mid:
                            if "error" in msg:
                                raise RuntimeError(f"{method}: {msg['error']}")
                            return msg.get("result", {})
                        events.append(msg)

                for domain in ("Runtime", "Log", "Page"):
                    call(f"{domain}.enable")
                call("Page.navigate",
                     url=page if isinstance(page, str) else page.resolve().as_uri())
                while not any(e.get("method") == "Page.loadEventFired" for e in events):
                    events.append(json.loads(ws.recv(timeout=max(1.0, deadline -
                                                                 time.monotonic()))))
                res = call("Runtime.evaluate", expression=script, returnByValue=True,
                           awaitPromise=True)
                out.evaluated = res.get("result", {}).get("value")
                metrics = call("Page.getLayoutMetrics")["cssContentSize"]
                shot = call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                            clip={"x": 0, "y": 0, "width": metrics["width"],
                                  "height": min(metrics["height"], 6000), "scale": 1})
                out.screenshot_png = base64.b64decode(shot["data"])
                for e in events:
                    p = e.get("params", {})
                    if e.get("method") == "Runtime.exceptionThrown":
                        out.errors.append(p["exceptionDetails"].get("text", "exception"))
                    elif e.get("method") == "Runtime.consoleAPICalled" and p["type"] == "error":
                        out.errors.append(" ".join(str(a.get("value")) for a in p["args"]))
                    elif e.get("method") == "Log.entryAdded" and p["entry"]["level"] == "error":
                        out.errors.append(p["entry"]["text"])
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # the renderer and GPU children too
            proc.wait()
    return out

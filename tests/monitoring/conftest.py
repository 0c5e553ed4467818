"""Fixtures of the monitoring tests: Prometheus' and Alertmanager's binaries (installed
from Debian when missing), a webhook receiver on loopback, and the venue test lake."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.live.venue.conftest import _timelines, make_venue, venue_lake  # noqa: F401 -- fixtures
from tests.system_packages import ensure_debian_package


@pytest.fixture(scope="session")
def prom_tools() -> dict[str, str]:
    """Paths of prometheus, promtool, alertmanager and amtool."""
    return {"prometheus": ensure_debian_package("prometheus", "prometheus"),
            "promtool": ensure_debian_package("promtool", "prometheus"),
            "alertmanager": ensure_debian_package("prometheus-alertmanager",
                                                  "prometheus-alertmanager"),
            "amtool": ensure_debian_package("amtool", "prometheus-alertmanager")}


class Webhook:
    """A loopback HTTP server that keeps every JSON body POSTed to it."""

    def __init__(self):
        self.bodies: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 -- http.server's name
                n = int(self.headers.get("Content-Length", 0))
                hook.bodies.append(json.loads(self.rfile.read(n)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self) -> list[dict]:
        """Every alert of every notification received, flattened."""
        return [a for b in self.bodies for a in b.get("alerts", [])]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()

"""``MetricsServer``: one loopback HTTP server per session (or venue) for Prometheus and
for people.

``GET /metrics`` -- the registry in Prometheus's text format (OpenMetrics when asked,
gzip when accepted: prometheus-client's own WSGI app); ``GET /`` -- the status page
(when a ``status`` callable is given); ``GET /status.json`` -- what it shows;
``GET /healthz`` -- ``ok``. A WSGI server from the standard library on a daemon thread,
one thread per request, so a slow scrape never blocks the trading loop.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from framework.monitoring.status import status_page_html
from framework.types.errors import FwError

DEFAULT_SESSION_PORT = 9464  # the port exporters conventionally take for an application
DEFAULT_VENUE_PORT = 9465


class MetricsServerError(FwError):
    """The metrics port cannot be opened (names host and port)."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 -- scrapes are not news
        pass


class MetricsServer:
    """Serves ``registry`` (and the status page of ``status``) on ``host:port``.

    ``status``: a callable returning the page's JSON (``SessionMetrics.status``); None
    serves metrics only. ``refresh_ms``: the page's polling period.
    """

    def __init__(self, registry: CollectorRegistry, status: Callable[[], dict] | None = None,
                 refresh_ms: int = 1000):
        self.registry = registry
        self.status = status
        self.refresh_ms = refresh_ms
        self._metrics_app = make_wsgi_app(registry)
        self._server: _ThreadingServer | None = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None

    def app(self, environ: dict, start_response: Callable) -> list[bytes]:
        """The WSGI application (routes: module doc)."""
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            return self._metrics_app(environ, start_response)
        if path == "/healthz":
            return _reply(start_response, "200 OK", "text/plain", b"ok\n")
        if self.status is not None and path in ("/", "/index.html"):
            return _reply(start_response, "200 OK", "text/html; charset=utf-8",
                          status_page_html(self.refresh_ms))
        if self.status is not None and path == "/status.json":
            body = json.dumps(self.status(), allow_nan=False).encode()
            return _reply(start_response, "200 OK", "application/json", body)
        return _reply(start_response, "404 Not Found", "text/plain", b"not found\n")

    def start(self, port: int = DEFAULT_SESSION_PORT, host: str = "127.0.0.1") -> str:
        """Listen on ``host:port`` (0: a free port) in a daemon thread; returns the base
        URL (``http://host:port``)."""
        try:
            self._server = make_server(host, port, self.app, _ThreadingServer, _QuietHandler)
        except OSError as err:
            raise MetricsServerError(f"metrics: cannot listen on {host}:{port}: {err}") from None
        bound = self._server.server_address[1]
        self.url = f"http://{host}:{bound}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name=f"fw-metrics-{bound}", daemon=True)
        self._thread.start()
        return self.url

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server else 0

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _reply(start_response: Callable, status: str, ctype: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body))),
                            ("Cache-Control", "no-store")])
    return [body]

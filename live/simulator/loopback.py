"""The life cycle shared by the loopback HTTP servers that stand in for vendors in tests."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import ParseResult, parse_qs, urlparse


class LoopbackServer:
    """A ``ThreadingHTTPServer`` on ``host:port`` (default 127.0.0.1, a free port) served
    from a daemon thread between ``__enter__`` and ``__exit__``. ``requests`` records
    (monotonic time, path with query, HTTP status) of every answer ``JsonHandler`` sends;
    ``faults`` are handed out one per request, in order, by ``next_fault``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1",
                 port: int = 0, faults: list | None = None):
        self.requests: list[tuple[float, str, int]] = []
        self.faults = list(faults or [])
        self._lock = threading.Lock()
        # the handler class learns its server: ``self.owner`` inside the handler
        bound = type(handler.__name__, (handler,), {"owner": self})
        self._httpd = ThreadingHTTPServer((host, port), bound)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``http://host:port`` of the listening socket."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def next_fault(self):
        """The fault planned for the request being handled (None once they are used up)."""
        with self._lock:
            return self.faults.pop(0) if self.faults else None

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class JsonHandler(BaseHTTPRequestHandler):
    """Request handler base: quiet, and ``send_json`` logs to ``owner.requests`` first (so
    the log is in the order the requests arrived) and then answers with a JSON body."""

    owner: LoopbackServer

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def parsed(self) -> tuple[ParseResult, dict[str, str]]:
        """The request URL and its query (last value of each key)."""
        url = urlparse(self.path)
        return url, {k: v[-1] for k, v in parse_qs(url.query).items()}

    def send_json(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        with self.owner._lock:
            self.owner.requests.append((time.monotonic(), self.path, status))
        raw = json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

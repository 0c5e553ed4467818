"""A loopback TCP server that accepts every connection and never answers.

What a hung or half-dead API looks like to a client: the connection succeeds, the request
is read, and no byte ever comes back. ``accepted`` counts the connections (one per
attempt of a client that retries).
"""

from __future__ import annotations

import socket
import threading


class SilentServer:
    """``with SilentServer() as srv:`` then point a client at ``srv.url``."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        host, port = self._sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def accepted(self) -> int:
        return len(self._conns)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._conns.append(conn)  # held open, never read from or written to

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        for c in self._conns:
            c.close()
        self._sock.close()

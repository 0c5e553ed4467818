"""Structured event log: one JSON object per line, to a run folder and/or stderr, so a
log shipper (Loki's promtail, Elastic's filebeat) indexes it unchanged.

Every line carries ``ts`` (RFC 3339 UTC, microseconds), ``ts_ns`` (int ns UTC),
``level``, ``component``, ``run_id`` and ``event``, then the event's own fields
(``order_id``, ``broker_id``, ``symbol``, ...). Built on the standard ``logging``
package's handlers, with handlers of its own per log, so two sessions in one process
never share them and nothing global is configured. The caller only puts a tuple on a
queue (about a microsecond); a ``QueueListener`` thread turns it into a ``LogRecord``,
formats and writes it, so neither a slow disk nor ``logging``'s own record building
(``Logger.log`` walks the stack for the caller: tens of microseconds) delays an order.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import logging
import logging.handlers
import math
import queue
import sys
import time
from pathlib import Path
from typing import TextIO

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR, "critical": logging.CRITICAL}
EVENTS_FILE = "events.jsonl"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class JsonLinesFormatter(logging.Formatter):
    """Formats a record logged by ``EventLog.event`` as one JSON line."""

    def __init__(self, component: str, run_id: str):
        super().__init__()
        self.component = component
        self.run_id = run_id

    def format(self, record: logging.LogRecord) -> str:
        ts_ns = getattr(record, "fw_ts_ns", None) or int(record.created * 1e9)
        # integer microseconds: a float of ns since 1970 rounds the last digit
        ts = EPOCH + dt.timedelta(microseconds=ts_ns // 1000)
        head = {"ts": ts.isoformat(timespec="microseconds").replace("+00:00", "Z"),
                "ts_ns": ts_ns, "level": record.levelname.lower(),
                "component": self.component, "run_id": self.run_id,
                "event": record.getMessage()}
        return json.dumps(head | getattr(record, "fw_fields", {}), default=str,
                          allow_nan=False, separators=(",", ":"))


class _Writer(logging.handlers.QueueListener):
    """The writer thread: builds the ``LogRecord`` of each queued
    ``(ts_ns, level, event, fields)`` and hands it to the handlers."""

    def __init__(self, q: queue.SimpleQueue, name: str, *handlers: logging.Handler):
        super().__init__(q, *handlers)
        self.name = name

    def prepare(self, item: tuple) -> logging.LogRecord:
        ts_ns, lvl, event, fields = item
        rec = logging.LogRecord(self.name, lvl, "", 0, event, None, None)
        rec.fw_ts_ns = ts_ns
        rec.fw_fields = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                         for k, v in fields.items()}
        return rec


class _FileHandler(logging.FileHandler):
    """The log file; a write the disk refuses (full, read-only) stops the file's lines
    with one message on stderr instead of a traceback per line, and never reaches the
    caller: the event log must not stop what it records."""

    failed = False  # a write was refused: no more lines to the file

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        if not self.failed:
            self.failed = True
            err = sys.exc_info()[1]
            sys.stderr.write(f"fw: {self.baseFilename}: cannot write the event log "
                             f"({type(err).__name__}: {err}); its lines are dropped\n")

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)

    def close(self) -> None:
        try:
            super().close()
        except OSError:  # the buffered lines could not be flushed: already reported
            pass


class EventLog:
    """JSON-lines events of one ``component`` (``live``, ``venue``) of run ``run_id``.

    ``directory``: the run folder; lines are appended to ``directory/events.jsonl``
    (created with its parents). ``stderr``: also write them to ``stream`` (default
    ``sys.stderr``). ``level``: the lowest level written (debug .. critical).
    """

    def __init__(self, component: str, run_id: str, directory: Path | str | None = None, *,
                 stderr: bool = True, level: str = "info", stream: TextIO | None = None):
        self.component = component
        self.run_id = run_id
        self.path = None if directory is None else Path(directory) / EVENTS_FILE
        self._level = LEVELS[level]
        fmt = JsonLinesFormatter(component, run_id)
        handlers: list[logging.Handler] = []
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(_FileHandler(self.path, encoding="utf-8"))
        if stderr:
            handlers.append(logging.StreamHandler(stream or sys.stderr))
        for h in handlers:
            h.setFormatter(fmt)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._listener = _Writer(self._queue, f"fw.{component}.{run_id}", *handlers)
        self._listener.start()
        self._open = True
        atexit.register(self.close)  # the listener thread is a daemon: drain it at exit

    def event(self, event: str, level: str = "info", **fields) -> None:
        """Write one event: its name, level and fields (JSON-able; a non-finite float as
        null). The line is written by the writer thread: stamped now, serialised later,
        so pass values the caller does not mutate afterwards."""
        lvl = LEVELS[level]
        if lvl >= self._level:
            self._queue.put((time.time_ns(), lvl, event, fields))

    def flush(self) -> None:
        """Write everything queued so far (returns once written)."""
        self._listener.stop()
        self._listener.start()

    def close(self) -> None:
        """Write what is queued and close the handlers (the file stays, for the shipper)."""
        if not self._open:
            return
        self._open = False
        atexit.unregister(self.close)
        self._listener.stop()
        for h in self._listener.handlers:
            h.close()


def read_events(path: Path | str) -> list[dict]:
    """The events of a JSON-lines log file, in order."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]

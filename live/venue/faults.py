"""Scriptable faults: what a test (or a chaos run) can make the venue do wrong.

A fault is a JSON-able dict with a ``kind`` (``Venue.fault(...)`` or ``POST
/_venue/faults``):

* ``{"kind": "drop", "stream": "trade_updates" | "market_data"}`` -- abort the stream's
  sockets now (TCP closed, no close frame);
* ``{"kind": "silence", "stream": ..., "seconds": s | null}`` -- keep the sockets open
  (pings still answered) but send nothing for ``s`` wall seconds (null: until cleared);
  what would have been sent is lost, as on a half-dead connection;
* ``{"kind": "http", "status": 429 | 5xx, "count": n, "method": "POST", "path":
  "/v2/orders"}`` -- the next ``n`` REST requests matching method and path prefix
  (both optional) get that status (a 429 carries the rate-limit headers, remaining 0);
* ``{"kind": "order_timeout", "count": n, "seconds": s}`` -- the next ``n`` accepted
  ``POST /v2/orders`` are booked (and go on to work and fill) but the reply is held
  ``s`` seconds and the connection then closed without one;
* ``{"kind": "delay", "count": n, "seconds": s}`` -- the next ``n`` trade updates are
  sent ``s`` seconds late (later ones overtake them);
* ``{"kind": "duplicate", "count": n}`` -- the next ``n`` trade updates are sent twice;
* ``{"kind": "reorder", "count": n}`` -- the next ``n`` trade updates are held and sent
  in reverse order once the n-th arrives.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from live.venue.orders import ApiError

STREAMS = ("trade_updates", "market_data")
KINDS = ("drop", "silence", "http", "order_timeout", "delay", "duplicate", "reorder")


@dataclass
class Faults:
    """The faults scheduled now; the venue's REST and stream layers consult it."""

    http: list[dict] = field(default_factory=list)
    order_timeouts: list[float] = field(default_factory=list)  # hold seconds, one per order
    silent_until: dict[str, float] = field(default_factory=dict)  # stream -> monotonic s
    delay: list[float] = field(default_factory=list)  # seconds, one per update
    duplicate: int = 0
    reorder: int = 0
    reorder_held: list[dict] = field(default_factory=list)

    def add(self, spec: dict) -> str:
        """Schedule one fault (see module doc); returns its kind. ``drop`` is acted on by
        the caller (the streams own the sockets). Raises ApiError(422) on a bad spec."""
        if not isinstance(spec, dict) or spec.get("kind") not in KINDS:
            raise ApiError(422, f"fault must be an object with kind in {', '.join(KINDS)}")
        kind = spec["kind"]
        count = spec.get("count", 1)
        seconds = spec.get("seconds")
        if not isinstance(count, int) or count < 1:
            raise ApiError(422, f"fault {kind}: count must be an integer >= 1")
        if seconds is not None and not (isinstance(seconds, int | float) and seconds >= 0):
            raise ApiError(422, f"fault {kind}: seconds must be a number >= 0")
        if kind in ("drop", "silence") and spec.get("stream") not in STREAMS:
            raise ApiError(422, f"fault {kind}: stream must be one of {', '.join(STREAMS)}")
        if kind == "silence":
            until = float("inf") if seconds is None else time.monotonic() + seconds
            self.silent_until[spec["stream"]] = until
        elif kind == "http":
            status = spec.get("status")
            if not (isinstance(status, int) and (status == 429 or 500 <= status <= 599)):
                raise ApiError(422, "fault http: status must be 429 or 5xx")
            self.http.append({"status": status, "count": count,
                              "method": spec.get("method"), "path": spec.get("path")})
        elif kind == "order_timeout":
            self.order_timeouts += [float(seconds if seconds is not None else 1.0)] * count
        elif kind == "delay":
            self.delay += [float(seconds if seconds is not None else 1.0)] * count
        elif kind == "duplicate":
            self.duplicate += count
        elif kind == "reorder":
            self.reorder += count
        return kind

    def clear(self) -> list[dict]:
        """Drop every scheduled fault; returns updates held for reordering (to send)."""
        held = self.reorder_held
        self.__init__()
        return held

    def http_fault(self, method: str, path: str) -> int | None:
        """Status to answer this request with, or None (consumes one count)."""
        for f in self.http:
            if f["method"] and f["method"].upper() != method.upper():
                continue
            if f["path"] and not path.startswith(f["path"]):
                continue
            f["count"] -= 1
            if f["count"] <= 0:
                self.http.remove(f)
            return f["status"]
        return None

    def take_order_timeout(self) -> float | None:
        return self.order_timeouts.pop(0) if self.order_timeouts else None

    def silenced(self, stream: str) -> bool:
        until = self.silent_until.get(stream)
        if until is None:
            return False
        if time.monotonic() >= until:
            del self.silent_until[stream]
            return False
        return True

    def shape_update(self, msg: dict) -> list[tuple[float, dict]]:
        """What to send for one trade update: ``(delay seconds, message)`` pairs (none
        while silenced or held for reordering)."""
        if self.silenced("trade_updates"):
            return []
        if self.reorder:
            self.reorder -= 1
            self.reorder_held.append(msg)
            if self.reorder:
                return []
            held, self.reorder_held = self.reorder_held, []
            return [(0.0, m) for m in reversed(held)]
        wait = self.delay.pop(0) if self.delay else 0.0
        out = [(wait, msg)]
        if self.duplicate:
            self.duplicate -= 1
            out.append((wait, msg))
        return out

    def json(self) -> dict:
        return {"http": self.http, "order_timeouts": self.order_timeouts,
                "silent": {k: (None if v == float("inf") else v)
                           for k, v in self.silent_until.items()},
                "delay": self.delay, "duplicate": self.duplicate, "reorder": self.reorder}

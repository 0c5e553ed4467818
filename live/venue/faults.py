"""Scriptable faults: what a test (or a chaos run) can make the venue do wrong.

A fault is a JSON-able dict with a ``kind`` (``Venue.fault(...)`` or ``POST
/_venue/faults``):

* ``{"kind": "drop", "stream": "trade_updates" | "market_data"}`` -- abort the stream's
  sockets now (TCP closed, no close frame); with ``"after": k`` (market data only) at
  the next batch instead, once its first ``k`` messages are sent: the rest of the batch
  is lost in flight (a connection lost between two symbols' bars of one minute);
* ``{"kind": "silence", "stream": ..., "seconds": s | null}`` -- keep the sockets open
  (pings still answered) but send nothing for ``s`` wall seconds (null: until cleared);
  what would have been sent is lost, as on a half-dead connection;
* ``{"kind": "http", "status": 429 | 5xx, "count": n, "method": "POST", "path":
  "/v2/orders", "seconds": s}`` -- the next ``n`` REST requests matching method and
  path prefix (both optional) get that status (a 429 carries the rate-limit headers,
  remaining 0, and a reset ``s`` seconds after the reply when ``seconds`` is given, else
  the rate window's own);
* ``{"kind": "order_timeout", "count": n, "seconds": s}`` -- the next ``n`` accepted
  ``POST /v2/orders`` are booked (and go on to work and fill) but the reply is held
  ``s`` seconds and the connection then closed without one;
* ``{"kind": "delay", "count": n, "seconds": s}`` -- the next ``n`` trade updates are
  sent ``s`` seconds late (later ones overtake them);
* ``{"kind": "duplicate", "count": n}`` -- the next ``n`` trade updates are sent twice;
* ``{"kind": "reorder", "count": n}`` -- the next ``n`` trade updates are held and sent
  in reverse order once the n-th arrives;
* ``{"kind": "fill_race", "count": n}`` -- the next ``n`` cancels of an open order lose
  the race: the venue fills the order's rest at the last price first, then answers the
  cancel (422, not open), as a replace or cancel racing a fill does at a broker;
* ``{"kind": "bad_input", "stream": ..., "what": w}`` -- one bad message on the stream
  (``BAD_INPUTS[stream]``): market data with the next batch, trade updates with (before)
  the next fill; never counted in the stream's ``sent``;
* ``{"kind": "kill", "pid": p, "at": a}`` -- SIGKILL process ``p`` (a client under test)
  at point ``a`` (``KILL_POINTS``): ``before_send`` on the next ``POST /v2/orders``
  before it is booked, ``after_send`` once booked and before the reply, ``mid_fill``
  right after the next fill update is queued, ``reconcile`` on the next ``GET
  /v2/orders`` listing (what a reconciliation reads).

``restart`` (the venue stopped and started again on its state file), ``disk_full``
(the client's journal cannot grow) and ``read_only`` (the file system of the client's
run folder goes read-only under it: ``live.venue.disk``) are faults of the process
around the venue; they
are in ``CHAOS_KINDS`` and ``schedule()`` so that one seeded schedule covers every
kind, and the chaos harness (``benchmarks/chaos_live.py``) acts them out.
"""

from __future__ import annotations

import os
import random
import signal
import time
from dataclasses import dataclass, field

from live.venue.orders import ApiError

STREAMS = ("trade_updates", "market_data")
KINDS = ("drop", "silence", "http", "order_timeout", "delay", "duplicate", "reorder",
         "fill_race", "bad_input", "kill")
KILL_POINTS = ("before_send", "after_send", "mid_fill", "reconcile")
BAD_INPUTS = {"market_data": ("malformed", "unknown_type", "price_zero", "price_nan",
                              "price_negative", "unsubscribed", "ts_backwards"),
              "trade_updates": ("malformed", "unknown_type", "price_zero", "price_nan",
                                "price_negative")}
HARNESS_KINDS = ("restart", "disk_full", "read_only")  # acted out around the venue
RESTARTING = ("kill", "restart", "disk_full", "read_only")  # a process starts again
CHAOS_KINDS = KINDS + HARNESS_KINDS


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
    fill_race: int = 0
    bad_market: list[str] = field(default_factory=list)  # BAD_INPUTS, next batch
    bad_trade: list[str] = field(default_factory=list)  # BAD_INPUTS, next fill update
    kills: dict[str, list[int]] = field(default_factory=dict)  # point -> pids
    drop_after: int | None = None  # market data: abort after this many of the next batch

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
        if kind == "drop" and spec.get("after") is not None:
            after = spec["after"]
            if spec["stream"] != "market_data" or not (isinstance(after, int) and after >= 1):
                raise ApiError(422, "fault drop: after must be an integer >= 1, on the "
                               "market_data stream")
            self.drop_after = after
        if kind == "silence":
            until = float("inf") if seconds is None else time.monotonic() + seconds
            self.silent_until[spec["stream"]] = until
        elif kind == "http":
            status = spec.get("status")
            if not (isinstance(status, int) and (status == 429 or 500 <= status <= 599)):
                raise ApiError(422, "fault http: status must be 429 or 5xx")
            self.http.append({"status": status, "count": count, "seconds": seconds,
                              "method": spec.get("method"), "path": spec.get("path")})
        elif kind == "order_timeout":
            self.order_timeouts += [float(seconds if seconds is not None else 1.0)] * count
        elif kind == "delay":
            self.delay += [float(seconds if seconds is not None else 1.0)] * count
        elif kind == "duplicate":
            self.duplicate += count
        elif kind == "reorder":
            self.reorder += count
        elif kind == "fill_race":
            self.fill_race += count
        elif kind == "bad_input":
            stream, what = spec.get("stream"), spec.get("what")
            if what not in BAD_INPUTS.get(stream, ()):
                raise ApiError(422, f"fault bad_input: what must be one of "
                               f"{', '.join(BAD_INPUTS.get(stream, ()))} for stream {stream}")
            (self.bad_market if stream == "market_data" else self.bad_trade).append(what)
        elif kind == "kill":
            pid, at = spec.get("pid"), spec.get("at")
            if not (isinstance(pid, int) and pid > 1) or at not in KILL_POINTS:
                raise ApiError(422, f"fault kill: pid must be a process id and at one of "
                               f"{', '.join(KILL_POINTS)}")
            self.kills.setdefault(at, []).append(pid)
        return kind

    def clear(self) -> list[dict]:
        """Drop every scheduled fault; returns updates held for reordering (to send)."""
        held = self.reorder_held
        self.__init__()
        return held

    def http_fault(self, method: str, path: str) -> dict | None:
        """The fault (``status``, ``seconds``) to answer this request with, or None
        (consumes one count)."""
        for f in self.http:
            if f["method"] and f["method"].upper() != method.upper():
                continue
            if f["path"] and not path.startswith(f["path"]):
                continue
            f["count"] -= 1
            if f["count"] <= 0:
                self.http.remove(f)
            return f
        return None

    def kill_at(self, point: str) -> bool:
        """SIGKILL the processes scheduled for ``point`` (``KILL_POINTS``); True if any
        was."""
        pids = self.kills.pop(point, [])
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # already gone: nothing to kill
        return bool(pids)

    def take_fill_race(self) -> bool:
        if self.fill_race:
            self.fill_race -= 1
            return True
        return False

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
        if self.bad_trade and msg["data"]["event"] in ("fill", "partial_fill"):
            out.insert(0, (wait, bad_trade_update(msg, self.bad_trade.pop(0))))
        if self.duplicate:
            self.duplicate -= 1
            out.append((wait, msg))
        return out

    def json(self) -> dict:
        return {"http": self.http, "order_timeouts": self.order_timeouts,
                "silent": {k: (None if v == float("inf") else v)
                           for k, v in self.silent_until.items()},
                "delay": self.delay, "duplicate": self.duplicate, "reorder": self.reorder,
                "fill_race": self.fill_race, "bad_input": {"market_data": self.bad_market,
                                                           "trade_updates": self.bad_trade},
                "kill": self.kills}


MALFORMED = b"\x93\xc1{not json"  # neither JSON nor msgpack (0xc1 is never used)


def bad_trade_update(msg: dict, what: str) -> dict | bytes:
    """A corrupted copy of the fill update ``msg`` (sent before the real one, same
    ``execution_id``: a client that books it loses the real fill), or raw bytes."""
    if what == "malformed":
        return MALFORMED
    if what == "unknown_type":
        return {"stream": "trade_updates_v9", "data": msg["data"]}
    px = {"price_zero": "0", "price_nan": "NaN", "price_negative": "-1.5"}[what]
    return {**msg, "data": {**msg["data"], "price": px}}


def bad_bar(bar: dict, what: str) -> dict | bytes:
    """A bad market-data message made from the real bar message ``bar`` (``T`` = ``b``):
    raw bytes for ``malformed``, else one message of the frame."""
    if what == "malformed":
        return MALFORMED
    if what == "unknown_type":
        return {**bar, "T": "zz"}
    if what == "unsubscribed":
        return {**bar, "S": "NOSUB"}
    if what == "ts_backwards":
        t = bar["t"]
        back = 3_600_000_000_000  # one hour
        if hasattr(t, "to_unix_nano"):
            return {**bar, "t": type(t).from_unix_nano(t.to_unix_nano() - back)}
        return {**bar, "t": "1999-01-04T14:30:00Z"}
    px = {"price_zero": 0.0, "price_nan": float("nan"), "price_negative": -1.5}[what]
    return {**bar, "c": px, "l": px if what != "price_nan" else bar["l"]}


def schedule(seed: int, steps: int, n: int, kinds: tuple[str, ...] = CHAOS_KINDS
             ) -> list[tuple[int, dict]]:
    """A seeded fault schedule: ``n`` faults over the venue's replay steps (``steps`` in
    all; the first and last 2 % are left alone), as
    ``(step, spec)`` sorted by step, kinds cycling through ``kinds`` in a seeded order
    (so ``n >= len(kinds)`` injects every kind at least once). ``kill`` specs have no
    ``pid`` (the harness adds the client's); ``HARNESS_KINDS`` are the harness's. Seconds are wall seconds."""
    rng = random.Random(seed)
    order = list(kinds)
    rng.shuffle(order)
    out = []
    for k in range(n):
        kind = order[k % len(order)]
        spec: dict = {"kind": kind}
        if kind in ("drop", "silence"):
            spec["stream"] = rng.choice(STREAMS)
            if kind == "silence":
                spec["seconds"] = round(rng.uniform(0.2, 1.0), 2)
        elif kind == "http":
            spec.update(status=rng.choice((429, 500, 502, 503, 504)),
                        count=rng.randint(1, 4), method=rng.choice(("POST", "GET", None)))
        elif kind == "order_timeout":
            spec["seconds"] = round(rng.uniform(0.3, 1.0), 2)
        elif kind in ("delay", "duplicate", "reorder"):
            spec["count"] = rng.randint(2, 6)
            if kind == "delay":
                spec["seconds"] = round(rng.uniform(0.05, 0.5), 2)
        elif kind == "fill_race":
            spec["count"] = rng.randint(1, 3)
        elif kind == "bad_input":
            spec["stream"] = rng.choice(STREAMS)
            spec["what"] = rng.choice(BAD_INPUTS[spec["stream"]])
        elif kind == "kill":
            spec["at"] = rng.choice(KILL_POINTS)
        out.append((rng.randrange(steps // 50, max(steps - steps // 50, steps // 50 + 1)),
                    spec))
    return sorted(out, key=lambda x: x[0])

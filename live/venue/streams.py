"""The two WebSockets: ``/stream`` (``trade_updates``) and ``/v2/{feed}`` (market data).

Framing as ``docs/alpaca-wire.md`` pins it. ``trade_updates``: no greeting;
``authenticate`` -> ``authorization`` (``authorized`` / ``unauthorized``), ``listen`` ->
``listening``; JSON objects in binary frames, or msgpack when the upgrade request says
``Content-Type: application/msgpack``; client frames may be JSON text/binary or msgpack.
Market data: ``[{"T":"success","msg":"connected"}]`` on connect, ``auth`` ->
``authenticated`` (402 bad keys, 403 twice, 406 a second connection of the account),
``subscribe``/``unsubscribe`` -> one ``subscription`` message with the full set (401
before auth); data as arrays of messages; msgpack binary frames with the header (``t``
a msgpack Timestamp), JSON text frames without it.

One connection per account and stream: a second ``trade_updates`` connection is refused
at ``authenticate`` (``unauthorized``, code 406, then closed) and a second market-data
connection gets ``[{"T":"error","code":406,"msg":"connection limit exceeded"}]`` and is
closed -- the slot frees when the first socket closes.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import msgpack
from aiohttp import WSMsgType, web

from framework.marketdata.replay import EventBatch
from live.venue.faults import Faults, bad_bar
from live.venue.wire import market_messages

MD_CHANNELS = ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds",
               "corrections", "cancelErrors")
FRAME_MESSAGES = 1000  # data messages per market-data frame


class Uncounted(bytes):
    """A frame a fault adds (bad input): written, never counted in ``Conn.sent``."""


def _packed(request: web.Request) -> bool:
    return request.headers.get("Content-Type", "").lower().startswith("application/msgpack")


def _decode(msg) -> object:
    """A client frame as Python data (JSON text, JSON bytes or msgpack), None if bad."""
    try:
        if msg.type == WSMsgType.TEXT:
            return json.loads(msg.data)
        if msg.type == WSMsgType.BINARY:
            try:
                return json.loads(msg.data)
            except (ValueError, UnicodeDecodeError):
                return msgpack.unpackb(msg.data)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
        return None
    return None


@dataclass
class Conn:
    """One client socket: its response object, framing and counters."""

    ws: web.WebSocketResponse
    request: web.Request
    packed: bool
    subs: dict[str, set[str]] = field(default_factory=lambda: {c: set() for c in MD_CHANNELS})
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    sent: int = 0  # messages sent (trade updates, or market-data messages)

    def encode(self, obj) -> bytes:
        return msgpack.packb(obj) if self.packed else json.dumps(obj).encode()

    def abort(self) -> None:
        """Drop the TCP connection without a close frame."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()


class StreamHub:
    """The venue's stream endpoints and the connections they hold (one per stream)."""

    def __init__(self, key_id: str, secret_key: str, symbols: list[str], faults: Faults,
                 heartbeat_s: float | None = None):
        """``heartbeat_s``: ping every socket this often, drop one not answering within
        half of it (aiohttp's ``heartbeat``); None: no pings."""
        self.heartbeat_s = heartbeat_s
        self.key_id = key_id
        self.secret_key = secret_key
        self.symbols = symbols
        self.faults = faults
        self.trade: Conn | None = None
        self.market: dict[str, Conn] = {}  # feed -> connection
        self.subscribed = asyncio.Event()  # some market-data connection has subscriptions
        self.ever_subscribed = asyncio.Event()
        self.trade_ids = 0
        self.md_frames = 0

    # ------------------------------------------------------------------ trade_updates
    async def trade_stream(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, heartbeat=self.heartbeat_s)
        await ws.prepare(request)
        conn = Conn(ws, request, _packed(request))
        sender = asyncio.create_task(self._trade_sender(conn))
        authed = False
        try:
            async for msg in ws:
                data = _decode(msg)
                if not isinstance(data, dict):
                    await ws.send_bytes(conn.encode({"stream": "error", "data": {
                        "error_message": "invalid message"}}))
                    continue
                action = data.get("action")
                body = data.get("data") if isinstance(data.get("data"), dict) else {}
                if action in ("authenticate", "auth"):
                    ok = (body.get("key_id") == self.key_id
                          and body.get("secret_key") == self.secret_key)
                    if ok and self.trade is not None and self.trade is not conn:
                        await ws.send_bytes(conn.encode({"stream": "authorization", "data": {
                            "status": "unauthorized", "action": "authenticate", "code": 406,
                            "message": "connection limit exceeded"}}))
                        await ws.close()
                        break
                    authed = ok
                    if ok:
                        self.trade = conn
                    await ws.send_bytes(conn.encode({"stream": "authorization", "data": {
                        "status": "authorized" if ok else "unauthorized",
                        "action": "authenticate"}}))
                elif action == "listen":
                    if not authed:
                        await ws.send_bytes(conn.encode({"stream": "authorization", "data": {
                            "status": "unauthorized", "action": "listen"}}))
                        continue
                    streams = [s for s in body.get("streams") or [] if s == "trade_updates"]
                    conn.subs["trade_updates"] = set(streams)
                    await ws.send_bytes(conn.encode({"stream": "listening",
                                                     "data": {"streams": streams}}))
        finally:
            sender.cancel()
            while not conn.queue.empty():  # nothing left for flush_updates to wait on
                conn.queue.get_nowait()
                conn.queue.task_done()
            if self.trade is conn:
                self.trade = None
        return ws

    async def _trade_sender(self, conn: Conn) -> None:
        while True:
            raw = await conn.queue.get()
            try:
                if not conn.ws.closed:
                    await conn.ws.send_bytes(raw)
                    conn.sent += not isinstance(raw, Uncounted)
            except (ConnectionError, RuntimeError):
                pass
            finally:
                conn.queue.task_done()

    def publish_update(self, msg: dict) -> None:
        """Queue one ``trade_updates`` message for the listening connection, through
        the scheduled faults (drop while silent, delay, duplicate, reorder)."""
        conn = self.trade
        if conn is None or not conn.subs.get("trade_updates"):
            return
        loop = asyncio.get_running_loop()
        for wait, m in self.faults.shape_update(msg):
            raw = Uncounted(m if isinstance(m, bytes) else conn.encode(m)) \
                if m is not msg else conn.encode(m)
            if wait > 0:
                loop.call_later(wait, conn.queue.put_nowait, raw)
            else:
                conn.queue.put_nowait(raw)
        if "mid_fill" in self.faults.kills and msg["data"]["event"] in ("fill", "partial_fill"):
            loop.call_later(0.005, self.faults.kill_at, "mid_fill")  # once it is written

    async def flush_updates(self) -> None:
        """Wait until every queued trade update is written to the socket."""
        conn = self.trade
        if conn is not None:
            await conn.queue.join()

    # ------------------------------------------------------------------ market data
    async def data_stream(self, request: web.Request) -> web.WebSocketResponse:
        feed = request.match_info["feed"]
        ws = web.WebSocketResponse(autoping=True, heartbeat=self.heartbeat_s)
        await ws.prepare(request)
        conn = Conn(ws, request, _packed(request))

        async def reply(*msgs: dict) -> None:
            if conn.packed:
                await ws.send_bytes(msgpack.packb(list(msgs)))
            else:
                await ws.send_str(json.dumps(list(msgs)))

        await reply({"T": "success", "msg": "connected"})
        authed = False
        try:
            async for msg in ws:
                data = _decode(msg)
                if not isinstance(data, dict):
                    await reply({"T": "error", "code": 400, "msg": "invalid syntax"})
                    continue
                action = data.get("action")
                if action == "auth":
                    if authed:
                        await reply({"T": "error", "code": 403, "msg": "already authenticated"})
                    elif data.get("key") != self.key_id or data.get("secret") != self.secret_key:
                        await reply({"T": "error", "code": 402, "msg": "auth failed"})
                    elif feed in self.market:
                        await reply({"T": "error", "code": 406,
                                     "msg": "connection limit exceeded"})
                        await ws.close()
                        break
                    else:
                        authed = True
                        self.market[feed] = conn
                        await reply({"T": "success", "msg": "authenticated"})
                elif action in ("subscribe", "unsubscribe"):
                    if not authed:
                        await reply({"T": "error", "code": 401, "msg": "not authenticated"})
                        continue
                    self._subscribe(conn, action, data)
                    await reply({"T": "subscription",
                                 **{c: sorted(v) for c, v in conn.subs.items()}})
                else:
                    await reply({"T": "error", "code": 400, "msg": "invalid syntax"})
        finally:
            if self.market.get(feed) is conn:
                del self.market[feed]
            self._update_subscribed()
        return ws

    def _subscribe(self, conn: Conn, action: str, data: dict) -> None:
        for ch in ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses",
                   "lulds"):
            syms = data.get(ch)
            if not isinstance(syms, list):
                continue
            syms = {str(s).upper() if s != "*" else "*" for s in syms}
            if action == "subscribe":
                conn.subs[ch] |= syms
            else:
                conn.subs[ch] -= syms
        # trades bring their corrections and cancel/errors along
        conn.subs["corrections"] = set(conn.subs["trades"])
        conn.subs["cancelErrors"] = set(conn.subs["trades"])
        self._update_subscribed()

    def _update_subscribed(self) -> None:
        if any(any(c.subs.values()) for c in self.market.values()):
            self.subscribed.set()
            self.ever_subscribed.set()
        else:
            self.subscribed.clear()

    async def publish_market(self, batch: EventBatch) -> None:
        """Send ``batch``'s events to each subscribed market-data connection (awaiting
        the socket: a slow reader slows the replay at speed 0)."""
        if not len(batch):
            return
        trade0 = self.trade_ids
        self.trade_ids += len(batch.trades)
        if self.faults.silenced("market_data"):
            return
        after = self.faults.drop_after if len(batch.bars) else None  # a batch of bars
        if after is not None:
            self.faults.drop_after = None
        for conn in list(self.market.values()):
            msgs = market_messages(batch, self.symbols, conn.subs, conn.packed, trade0)
            await self._bad_market(conn, msgs)
            if after is not None:  # a drop with the rest of the batch in flight
                msgs = msgs[:after]
            for i in range(0, len(msgs), FRAME_MESSAGES):
                chunk = msgs[i:i + FRAME_MESSAGES]
                try:
                    if conn.packed:
                        await conn.ws.send_bytes(msgpack.packb(chunk))
                    else:
                        await conn.ws.send_str(json.dumps(chunk))
                except (ConnectionError, RuntimeError):
                    break
                conn.sent += len(chunk)
                self.md_frames += 1
        if after is not None:
            self.drop("market_data")

    async def _bad_market(self, conn: Conn, msgs: list[dict]) -> None:
        """Send the scheduled bad market-data message (``bad_input``) before the batch's
        own, made from its first bar; not counted in ``sent``."""
        bar = next((m for m in msgs if m.get("T") == "b"), None)
        if not self.faults.bad_market or bar is None:
            return
        bad = bad_bar(bar, self.faults.bad_market.pop(0))
        try:
            if isinstance(bad, bytes):
                await conn.ws.send_bytes(bad)
            elif conn.packed:
                await conn.ws.send_bytes(msgpack.packb([bad]))
            else:
                await conn.ws.send_str(json.dumps([bad]))
        except (ConnectionError, RuntimeError):
            pass

    async def close_all(self) -> None:
        """Close every client socket (server shutdown, code 1001)."""
        conns = ([self.trade] if self.trade else []) + list(self.market.values())
        for c in conns:
            await c.ws.close(code=1001, message=b"server shutdown")

    # ------------------------------------------------------------------ faults
    def drop(self, stream: str) -> int:
        """Abort the sockets of ``stream``; returns how many."""
        conns = ([self.trade] if self.trade else []) if stream == "trade_updates" \
            else list(self.market.values())
        for c in conns:
            c.abort()
        return len(conns)

    def json(self) -> dict:
        return {"trade_updates": None if self.trade is None else {
                    "listening": bool(self.trade.subs.get("trade_updates")),
                    "sent": self.trade.sent},
                "market_data": {f: {"sent": c.sent,
                                    "subscriptions": {k: sorted(v) for k, v in c.subs.items()
                                                      if v}}
                                for f, c in self.market.items()}}

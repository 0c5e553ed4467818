"""alpaca-py's own clients, pointed at Alpaca paper or at any Alpaca-compatible base (the
local venue), with the adapter's defences around them:

* REST: no silent retry (alpaca-py resends a 429/504 three times, 3 s apart: for a POST
  that is a blind resend; the gateway decides instead), a timeout on every request (the
  SDK sets none), the token bucket fed by every reply's rate-limit headers;
* streams: reconnect with alpaca-py's exponential back-off and jitter, from 0.5 s up to 30 s, and a
  hook run after every (re)connect so the session reconciles before it trusts the
  stream again;
* bad input: every frame is checked before alpaca-py sees it (``live.adapter.messages``:
  malformed JSON/msgpack, unknown message types, bad prices, bars of symbols never
  subscribed, timestamps going back); a bad message is named in the log, counted in
  ``bad_input`` and skipped, the rest of its frame goes on (alpaca-py would drop the
  whole frame, or a handler's exception would cut it short).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import msgpack
from alpaca.data.enums import DataFeed
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.live.stock import StockDataStream
from alpaca.trading.client import TradingClient
from alpaca.trading.stream import TradingStream
from requests.adapters import HTTPAdapter

from live.adapter.messages import market_problem, trade_problem
from live.adapter.ratelimit import TokenBucket

log = logging.getLogger("fw.live")

PAPER_TRADING = "https://paper-api.alpaca.markets"
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 30.0
# an order id (Alpaca's UUIDs) or a symbol in a REST path -> the template a metric labels by
_PATH_IDS = re.compile(r"(?<=/orders/)[0-9a-f]{8}-[0-9a-f-]{27,}|(?<=/positions/)[^/]+$")


def endpoint_of(url: str) -> str:
    """The path template of a REST request's ``url``: ``.../v2/orders/<uuid>`` ->
    ``/v2/orders/{id}``, ``/v2/positions/SPY`` -> ``/v2/positions/{id}`` (bounded label
    values for the metrics)."""
    return _PATH_IDS.sub("{id}", urlsplit(url).path)


@dataclass(frozen=True)
class Endpoint:
    """Where the adapter trades: REST base (no trailing slash), the two stream URLs
    (used verbatim; None: alpaca-py's paper defaults), the keys, and the local venue's
    control API when there is one (lockstep replays)."""

    trading: str
    trading_stream: str | None
    data_stream: str | None
    key_id: str
    secret_key: str
    control: str | None = None

    @classmethod
    def alpaca_paper(cls) -> Endpoint:
        """Alpaca's paper endpoint with the keys of ``APCA_API_KEY_ID`` /
        ``APCA_API_SECRET_KEY`` (IEX market data)."""
        return cls(PAPER_TRADING, None, None, os.environ["APCA_API_KEY_ID"],
                   os.environ["APCA_API_SECRET_KEY"])

    @property
    def local(self) -> bool:
        """A local venue (its control API is known)."""
        return self.control is not None


class _TimeoutAdapter(HTTPAdapter):
    """requests' adapter with a default timeout (s) for every request."""

    def __init__(self, timeout_s: float):
        super().__init__()
        self.timeout_s = timeout_s

    def send(self, request, **kw):
        if kw.get("timeout") is None:
            kw["timeout"] = self.timeout_s
        return super().send(request, **kw)


def _environment_once(session, url: str) -> None:
    """Read the proxy and CA-bundle variables for ``url`` now, once, instead of at every
    request: requests' ``trust_env`` scans ``os.environ`` for proxies and stats
    ``~/.netrc`` per request (about a millisecond of an order's path on a busy box)."""
    env = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies.update(env["proxies"])
    session.verify = env["verify"]
    session.trust_env = False


def trading_client(ep: Endpoint, bucket: TokenBucket, timeout_s: float = 10.0,
                   on_response: Callable | None = None) -> TradingClient:
    """A ``TradingClient`` (dict replies) with no SDK retry, a ``timeout_s`` per request
    and ``bucket`` fed by the replies' headers; call ``bucket.acquire()`` before a
    request. ``on_response(requests.Response)`` sees every reply (429s included)."""
    client = TradingClient(ep.key_id, ep.secret_key, paper=True, raw_data=True,
                           url_override=None if ep.trading == PAPER_TRADING else ep.trading)
    client._retry = 0  # the gateway decides what may be resent (never a POST blindly)
    session = client._session
    _environment_once(session, ep.trading)
    adapter = _TimeoutAdapter(timeout_s)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.hooks["response"].append(lambda r, *a, **k: bucket.update(r.headers))
    if on_response is not None:
        session.hooks["response"].append(lambda r, *a, **k: on_response(r))
    return client


def data_client(ep: Endpoint, timeout_s: float = 10.0,
                on_response: Callable | None = None) -> StockHistoricalDataClient:
    """alpaca-py's historical data client (dict replies) for ``ep``: Alpaca's data API
    for Alpaca paper, else the venue's own base (``fw venue`` serves ``/v2/stocks/bars``);
    no SDK retry (the caller tries again at its next tick), ``timeout_s`` per request;
    ``on_response(requests.Response)`` sees every reply."""
    client = StockHistoricalDataClient(
        ep.key_id, ep.secret_key, raw_data=True,
        url_override=None if ep.trading == PAPER_TRADING else ep.trading)
    client._retry = 0
    _environment_once(client._session, ep.trading)
    adapter = _TimeoutAdapter(timeout_s)
    client._session.mount("http://", adapter)
    client._session.mount("https://", adapter)
    if on_response is not None:
        client._session.hooks["response"].append(lambda r, *a, **k: on_response(r))
    return client


class _Hooked:
    """Mixin: back-off from 0.5 s, a callback after every (re)connect and one when the
    socket is closed (alpaca-py closes it on a socket error before reconnecting), and every
    frame checked (``_check``) before alpaca-py reads it."""

    on_connect: Callable[[], None] | None = None
    on_disconnect: Callable[[], None] | None = None
    connects = 0
    stream_name = "stream"

    def _tune(self) -> None:
        self._reconnect_min_backoff = RECONNECT_MIN_S
        self._reconnect_max_backoff = RECONNECT_MAX_S
        self.bad_input: dict[str, int] = {}  # kind -> messages skipped

    connecting = False  # between the start of a (re)connect and its hook being queued

    async def _start_ws(self):
        self.connecting = True  # before the venue can see the new socket subscribed
        try:
            await self._open()
        finally:
            self.connecting = False

    async def _open(self):
        await super()._start_ws()
        recv = self._ws.recv

        async def checked():
            while True:
                frame = self._check(await recv())
                if frame is not None:
                    return frame

        self._ws.recv = checked
        self.connects += 1
        if self.on_connect is not None:
            self.on_connect()

    async def close(self):
        was_open = self._ws is not None
        await super().close()
        if was_open and self.on_disconnect is not None:
            self.on_disconnect()

    def _bad(self, kind: str, detail: str) -> None:
        self.bad_input[kind] = self.bad_input.get(kind, 0) + 1
        log.warning("fw live: %s: skipped %s: %s", self.stream_name, kind, detail)

    def _check(self, frame):
        raise NotImplementedError


class HookedTradingStream(_Hooked, TradingStream):
    """``TradingStream`` (dict messages) that reports each (re)connect."""

    def __init__(self, ep: Endpoint):
        super().__init__(ep.key_id, ep.secret_key, paper=True, raw_data=True,
                         url_override=ep.trading_stream)
        self._tune()
        self.stream_name = "trade_updates"

    def _check(self, frame):
        """``frame`` if it is a good message (JSON object), else None (logged)."""
        try:
            msg = json.loads(frame)
        except (ValueError, UnicodeDecodeError) as err:
            self._bad("malformed", f"{len(frame)}-byte frame is not JSON ({err})")
            return None
        problem = trade_problem(msg)
        if problem is not None:
            self._bad(*problem)
            return None
        return frame


class HookedDataStream(_Hooked, StockDataStream):
    """``StockDataStream`` (IEX, dict messages) that reports each (re)connect."""

    def __init__(self, ep: Endpoint):
        super().__init__(ep.key_id, ep.secret_key, raw_data=True, feed=DataFeed.IEX,
                         url_override=ep.data_stream)
        self._tune()
        self.stream_name = "market data"
        self.last_bar_ns: dict[str, int] = {}  # symbol -> its last bar's start, ns UTC

    def _check(self, frame):
        """``frame`` with its bad messages taken out (each logged), None if none is left."""
        try:
            msgs = msgpack.unpackb(frame)
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError,
                TypeError) as err:
            self._bad("malformed", f"{len(frame)}-byte frame is not msgpack ({err})")
            return None
        if not isinstance(msgs, list):
            self._bad("malformed", f"frame is a {type(msgs).__name__}, not an array")
            return None
        subscribed = set(self._handlers["bars"])
        keep = []
        for m in msgs:
            problem = market_problem(m, subscribed, self.last_bar_ns)
            if problem is None:
                keep.append(m)
            else:
                self._bad(*problem)
        if len(keep) == len(msgs):
            return frame
        return msgpack.packb(keep) if keep else None

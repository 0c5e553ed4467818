"""``Venue``: the local Alpaca-wire venue as one object -- start it on a free loopback
port, get its base URLs, script faults, move its clock, stop it.

One asyncio loop (aiohttp) serves the trading REST, the ``trade_updates`` stream and
the market-data stream on one port, and runs the replay:

* ``speed > 0``: the clock runs at ``speed`` x wall time from the first market-data
  subscription (or at once with ``autostart``); events go out when due;
* ``speed == 0``: as fast as the client keeps up -- each batch waits for the sockets to
  take the previous one, and the replay pauses while no market-data client is
  subscribed (unless ``autostart``); the clock jumps from event to event;
* ``step``: the clock moves only on ``advance`` (``POST /_venue/advance``), one step
  (``live.venue.replay``) or up to an instant at a time; deterministic, for tests and
  parity runs. ``advance`` returns once the steps' messages are written.

When the data ends the clock goes to 20:00 New York (DAY orders expire at the close,
extended-hours ones at 20:00).

From Python (a thread runs the loop)::

    venue = Venue(VenueConfig(lake="data_lake", speed=0, step=True))
    urls = venue.start()          # VenueUrls(trading=..., trading_stream=..., data_stream=...)
    TradingClient(venue.cfg.key_id, venue.cfg.secret_key, url_override=urls.trading)
    venue.advance(steps=1); venue.fault(kind="drop", stream="trade_updates")
    venue.stop()

or ``await venue.serve()`` inside a running loop, or ``fw venue`` from a shell.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import deque
from dataclasses import dataclass

from aiohttp import web

from live.venue import statefile
from live.venue.bars_rest import bar_routes
from live.venue.clock import SimClock
from live.venue.config import VenueConfig, VenueConfigError
from live.venue.core import VenueCore
from live.venue.faults import Faults
from live.venue.orders import ApiError
from live.venue.replay import Timeline, load_timeline
from live.venue.rest import (
    RateLimiter,
    control_routes,
    make_metrics_middleware,
    make_middleware,
    routes,
)
from live.venue.streams import StreamHub

PACE_TICK_S = 0.05  # longest sleep of the paced replay (boundaries are applied per tick)
REQUEST_LOG = 200_000  # trading requests remembered (venue.requests), newest kept


@dataclass(frozen=True)
class VenueUrls:
    """Where a client points alpaca-py: ``TradingClient(url_override=trading)``,
    ``TradingStream(url_override=trading_stream)``, ``StockDataStream(url_override=
    data_stream)``; ``control`` is the venue's own ``/_venue`` API."""

    trading: str
    trading_stream: str
    data_stream: str
    control: str
    metrics: str | None = None  # Prometheus exposition, with ``metrics_port``


class Venue:
    """A local venue over one lake session (see module doc)."""

    def __init__(self, cfg: VenueConfig, timeline: Timeline | None = None):
        self.cfg = cfg
        self.timeline = timeline or load_timeline(self.cfg)
        tl = self.timeline
        first = int(tl.step_ts[0]) if tl.n_steps else tl.hours.open
        self.clock = SimClock(min(first, tl.hours.open), self.cfg.speed)
        self.core = VenueCore(self.cfg, tl, self.clock)
        self.faults = Faults()
        self.requests: deque = deque(maxlen=REQUEST_LOG)  # see rest.make_middleware
        self.limiter = RateLimiter(self.cfg.rate_limit, self.cfg.rate_window_s)
        self.hub = StreamHub(cfg.key_id, cfg.secret_key, tl.symbols, self.faults,
                             heartbeat_s=cfg.ws_heartbeat_s)
        self.core.sinks.append(self.hub.publish_update)
        self.metrics, self._metrics_server = self._monitoring()
        self.ended = False
        self.urls: VenueUrls | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._pump: asyncio.Task | None = None
        self._go: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._restore()

    # ------------------------------------------------------------------ monitoring
    def _monitoring(self):
        """The venue's metrics and event log (``framework.monitoring``), when asked for."""
        cfg = self.cfg
        if cfg.metrics_port is None and cfg.log_dir is None and not cfg.log_stderr:
            return None, None
        from framework.monitoring import EventLog, MetricsServer, VenueMetrics

        tl = self.timeline
        log = EventLog("venue", f"venue-{tl.hours.date}-{uuid.uuid4().hex[:8]}", cfg.log_dir,
                       stderr=cfg.log_stderr) if cfg.log_dir or cfg.log_stderr else None
        metrics = VenueMetrics(
            {"session": tl.hours.date.isoformat(), "fills": cfg.fills, "speed": f"{cfg.speed:g}"},
            state=lambda: (self.clock.now(), tl.k, tl.n_steps),
            connections=lambda: {"trade_updates": int(self.hub.trade is not None),
                                 "market_data": len(self.hub.market)}, log=log)
        self.core.sinks.append(metrics.trade_update)
        server = MetricsServer(metrics.registry) if cfg.metrics_port is not None else None
        return metrics, server

    def _tracked(self, stream: str, handler):
        """``handler`` (a WebSocket endpoint) counting its connections in the metrics."""
        if self.metrics is None:
            return handler

        async def tracked(request: web.Request) -> web.StreamResponse:
            peer = str(request.remote or "")
            self.metrics.connection(stream, True, peer)
            try:
                return await handler(request)
            finally:
                self.metrics.connection(stream, False, peer)

        return tracked

    # ------------------------------------------------------------------ state file
    def _restore(self) -> None:
        path = self.cfg.state_path
        data = statefile.load(path) if path else None
        if data is None:
            return
        statefile.restore(self.core, data, path)
        tl = self.timeline
        tl.k = int(data["step"])
        self.core.warm(tl.played())
        self.clock = SimClock(int(data["clock_ns"]), self.cfg.speed)
        self.core.clock = self.clock
        self.ended = bool(data["ended"])

    def persist(self) -> None:
        """Write the state file now (no-op without ``state_path``)."""
        if self.cfg.state_path:
            statefile.save(self.cfg.state_path, statefile.snapshot(
                self.core, self.timeline.k, self.clock.now(), self.ended))

    # ------------------------------------------------------------------ serving
    def _app(self) -> web.Application:
        mws = [make_middleware(self)]
        if self.metrics is not None:
            mws.insert(0, make_metrics_middleware(self.metrics))
        app = web.Application(middlewares=mws)
        app.add_routes([web.get("/stream", self._tracked("trade_updates", self.hub.trade_stream)),
                        web.get("/v2/{feed:iex|sip|delayed_sip|test}",
                                self._tracked("market_data", self.hub.data_stream)),
                        *routes(self), *bar_routes(self), *control_routes(self)])
        return app

    async def serve(self) -> VenueUrls:
        """Bind the port and start the replay inside the running loop; returns the URLs."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.current_thread()
        self._go = asyncio.Event()
        self._lock = asyncio.Lock()
        self._runner = web.AppRunner(self._app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.cfg.host, self.cfg.port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        base = f"http://{host}:{port}"
        metrics_url = None
        if self._metrics_server is not None:
            metrics_url = self._metrics_server.start(self.cfg.metrics_port, self.cfg.host) \
                + "/metrics"
        self.urls = VenueUrls(base, f"ws://{host}:{port}/stream", f"ws://{host}:{port}/v2/iex",
                              f"{base}/_venue", metrics_url)
        if self.cfg.autostart:
            self.start_clock()
        if not self.cfg.step:
            self._pump = asyncio.create_task(self._run_replay())
        return self.urls

    async def close(self) -> None:
        """Stop the replay and the server (inside the loop)."""
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
        await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._metrics_server is not None:
            self._metrics_server.stop()
        if self.metrics is not None and self.metrics.log is not None:
            self.metrics.log.close()

    def start(self, timeout_s: float = 30.0) -> VenueUrls:
        """Run the venue in a background thread; returns its URLs once it listens."""
        ready = threading.Event()
        box: dict = {}

        def main() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                box["urls"] = loop.run_until_complete(self.serve())
            except BaseException as err:  # reported to the caller below
                box["error"] = err
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.close())
                loop.close()

        self._thread = threading.Thread(target=main, name="fw-venue", daemon=True)
        self._thread.start()
        if not ready.wait(timeout_s):
            raise VenueConfigError(f"venue: did not start within {timeout_s} s")
        if "error" in box:
            raise box["error"]
        return box["urls"]

    def stop(self) -> None:
        """Stop a venue started with ``start()`` (closes every socket)."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)

    def __enter__(self) -> Venue:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _call(self, coro):
        """Run ``coro`` on the venue's loop from another thread; its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    # ------------------------------------------------------------------ replay
    def start_clock(self) -> None:
        """Start the clock and the replay now (else: at the first subscription)."""
        self.clock.start()
        if self._go is not None:
            self._go.set()

    async def _run_replay(self) -> None:
        tl, core, hub = self.timeline, self.core, self.hub
        if not self._go.is_set():
            waiter = asyncio.create_task(hub.ever_subscribed.wait())
            go = asyncio.create_task(self._go.wait())
            await asyncio.wait({waiter, go}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            go.cancel()
        self.clock.start()
        while not tl.done:
            if self.clock.paced:
                nxt = tl.next_ts()
                wait = self.clock.wait_s(nxt)
                if wait > 0:
                    core.advance(self.clock.now())
                    await asyncio.sleep(min(wait, PACE_TICK_S))
                    continue
                batch = tl.take(until_ns=self.clock.now())
            else:
                if not self.cfg.autostart:
                    await hub.subscribed.wait()
                batch = tl.take()
            await self._play(batch)
        await self._end()

    async def _play(self, batch, persist: bool = True) -> None:
        """Apply one batch: clock, fills, state file (unless the caller writes it once
        for several batches), then the market data."""
        self.clock.set(int(batch.ts[-1]))
        self.core.on_batch(batch)
        if persist:
            self.persist()
        await self.hub.publish_market(batch)
        await asyncio.sleep(0)

    async def _end(self) -> None:
        """After the last event: on to 20:00 New York (paced: in time)."""
        end = self.timeline.hours.ext_close
        while self.clock.paced and self.clock.now() < end:
            self.core.advance(self.clock.now())
            await asyncio.sleep(min(self.clock.wait_s(end), PACE_TICK_S))
        self.clock.set(end)
        self.core.advance(max(end, self.clock.now()))
        self.ended = True
        self.persist()

    async def advance_async(self, steps: int | None = None, until: int | None = None) -> dict:
        """Lockstep: play ``steps`` steps (default 1), or every step available at or
        before ``until`` (ns UTC; the clock then stands at ``until``); after the data, a
        step ends the session. Returns ``state()`` once the messages are written."""
        if not self.cfg.step:
            raise ApiError(409, "advance needs a venue started with step = true")
        if steps is not None and (not isinstance(steps, int) or steps < 1):
            raise ApiError(422, f"advance: steps must be an integer >= 1, got {steps!r}")
        if until is not None and not isinstance(until, int):
            raise ApiError(422, f"advance: until must be ns UTC (integer), got {until!r}")
        tl = self.timeline
        async with self._lock:
            self.clock.start()
            n = 0
            while True:
                if until is not None:
                    nxt = tl.next_ts()
                    if nxt is None or nxt > until:
                        break
                elif n >= (steps or 1):
                    break
                if tl.done:
                    if not self.ended:
                        await self._end()
                    break
                # the state file once per advance: a restart resumes from its start or
                # its end, both consistent (the client re-reads state after a restart)
                if until is not None:  # every step due by then, in batches
                    await self._play(tl.take(until_ns=until), persist=False)
                else:
                    await self._play(tl.take(max_steps=1), persist=False)
                    n += 1
            if until is not None:
                self.clock.set(until)
                self.core.advance(until)
            self.persist()
            await self.hub.flush_updates()
        return self.state_now()

    def advance(self, steps: int | None = None, until: int | None = None) -> dict:
        """``advance_async`` from another thread (a venue started with ``start()``)."""
        return self._call(self.advance_async(steps, until))

    # ------------------------------------------------------------------ faults, state
    def fault_now(self, spec: dict) -> None:
        """Schedule a fault (``live.venue.faults``) on the loop; ``drop`` acts at once."""
        kind = self.faults.add(spec)
        if self.metrics is not None:
            self.metrics.fault(spec)
        if kind == "drop" and spec.get("after") is None:
            self.hub.drop(spec["stream"])

    def clear_faults_now(self) -> None:
        for msg in self.faults.clear():
            conn = self.hub.trade
            if conn is not None:
                conn.queue.put_nowait(conn.encode(msg))

    def fault(self, **spec) -> None:
        """Schedule a fault from another thread, e.g. ``fault(kind="http", status=429,
        count=3)`` (kinds: ``live.venue.faults``)."""

        async def go() -> None:
            self.fault_now(spec)

        self._call(go())

    def clear_faults(self) -> None:
        async def go() -> None:
            self.clear_faults_now()

        self._call(go())

    def state(self) -> dict:
        """Clock, replay position, counts and connections (JSON-able); safe to call from
        any thread."""
        if self._loop is not None and self._loop.is_running() and \
                threading.current_thread() is not self._loop_thread:
            async def go() -> dict:
                return self.state_now()

            return self._call(go())
        return self.state_now()

    def state_now(self) -> dict:
        """``state()`` on the venue's own loop."""
        tl = self.timeline
        return {"clock": self.clock.now(), "session": tl.hours.date.isoformat(),
                "symbols": tl.symbols, "fills": self.cfg.fills, "speed": self.cfg.speed,
                "step": self.cfg.step, "steps_done": tl.k, "steps_total": tl.n_steps,
                "ended": self.ended, "orders": len(self.core.orders),
                "trade_updates_emitted": self.core.events_sent,
                "streams": self.hub.json()}


def check_port_free(host: str, port: int) -> None:
    """Raise a clear error if ``host:port`` is taken (port 0 always passes)."""
    import socket

    if port == 0:
        return
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError as err:
            raise VenueConfigError(f"venue: cannot listen on {host}:{port}: {err}") from None

"""The two streams read on a thread of their own; their messages handed to the session's
loop one at a time, in the order they were read.

Every REST call of a session is a synchronous alpaca-py call on the session's asyncio
loop, and so is the rate-limit bucket's wait for the window a 429 names (up to a
minute): streams on that loop would not be read meanwhile -- pings unanswered (a server
that pings drops the socket), frames left in the kernel, alpaca-py's silence clock
skewed. Here the sockets live on an event loop of a daemon thread: they are read, their
frames checked (``live.adapter.clients``) and their pings answered whatever the session
is doing. Each message, and each (re)connect and disconnect hook, is queued to the
session's loop, where one task hands them to the session's handlers in arrival order.

What this keeps: the session's state (the strategy loop, the journal, the inbox of
broker events) is touched by the session's thread only, as before, and a handler never
runs in the middle of a row's close, a reconciliation or a send (those do not await);
a (re)connect hook is handled before the messages of its connection. What changes: a
message read during a blocking call is handled when the call returns, not lost or left
unread.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger("fw.live")

STOP_TIMEOUT_S = 10.0  # how long the streams get to close (alpaca-py polls every 5 s)


class StreamThread:
    """alpaca-py streams run on one thread; handlers and hooks made by ``relay`` /
    ``hook`` run on the loop that called ``start``."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None  # the thread's, from start()
        self._thread: threading.Thread | None = None
        self._main: asyncio.AbstractEventLoop | None = None
        self._inbox: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self._streams: list = []
        self._runs: list = []
        self.drops = 0  # socket closes seen on the thread (at once, not when handed over)
        self.posted = 0  # messages and hooks queued (on the thread)
        self.handled = 0  # ... and handed to the session (on its loop)

    def relay(self, fn: Callable) -> Callable[..., Awaitable[None]]:
        """An alpaca-py handler (a coroutine function, called on the streams' thread)
        that queues ``fn(msg)`` (plain or async) to the session's loop."""
        async def handler(*args) -> None:
            self._post(fn, args)

        return handler

    def hook(self, fn: Callable) -> Callable[..., None]:
        """A plain callback for the streams' thread that queues ``fn()`` the same way
        (in order with the messages)."""
        return lambda *args: self._post(fn, args)

    def drop_hook(self, fn: Callable) -> Callable[..., None]:
        """``hook(fn)`` for a socket's close that also counts it in ``drops`` there and
        then (the session reads the count before each order it sends)."""
        def closed(*args) -> None:
            self.drops += 1
            self._post(fn, args)

        return closed

    def _post(self, fn: Callable, args: tuple) -> None:
        self.posted += 1
        self._main.call_soon_threadsafe(self._inbox.put_nowait, (fn, args))

    def idle(self) -> bool:
        """Everything read so far has been handed to the session (its loop only)."""
        return self.handled == self.posted

    async def _hand_over(self) -> None:
        while True:
            fn, args = await self._inbox.get()
            try:
                res = fn(*args)
                if inspect.isawaitable(res):
                    await res
            except Exception:  # noqa: BLE001 - as alpaca-py does with a handler's error:
                # logged, the stream goes on (a failed journal write is kept by the
                # journal and stops the session at its next step)
                log.exception("fw live: a stream handler failed")
            finally:
                self.handled += 1

    async def start(self, streams: Iterable) -> None:
        """Run each stream's ``_run_forever`` on the thread; call on the session's loop."""
        self._main = asyncio.get_running_loop()
        self._inbox = asyncio.Queue()
        self._worker = asyncio.create_task(self._hand_over())
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever,
                                        name="fw-live-streams", daemon=True)
        self._thread.start()
        self._streams = list(streams)
        self._runs = [asyncio.run_coroutine_threadsafe(s._run_forever(), self.loop)
                      for s in self._streams]

    async def call(self, coro) -> object:
        """Await ``coro`` (a stream's own coroutine, e.g. ``close()``) on the thread."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def stop(self) -> None:
        """Stop the streams (up to ``STOP_TIMEOUT_S``), then the thread; messages not yet
        handed over are dropped (the session has ended)."""
        if self._thread is None:
            return
        try:
            for s in self._streams:
                await self.call(s.stop_ws())
            if self._runs:
                await asyncio.wait([asyncio.wrap_future(r) for r in self._runs],
                                   timeout=STOP_TIMEOUT_S)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            await asyncio.to_thread(self._thread.join, STOP_TIMEOUT_S)
            if not self._thread.is_alive():
                self.loop.close()
            if self._worker is not None:
                self._worker.cancel()

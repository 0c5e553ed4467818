"""The venue's simulated clock (ns UTC), paced against wall time or moved by the replay."""

from __future__ import annotations

import time
from collections.abc import Callable


class SimClock:
    """Simulated time, int64 ns UTC.

    ``speed > 0`` (paced): once ``start()`` is called, simulated time runs ``speed`` times
    as fast as wall time from ``start_ns``. ``speed == 0`` (as fast as the client keeps
    up, or lockstep): time stands still between events and the replay moves it with
    ``set``. Never goes backwards.
    """

    def __init__(self, start_ns: int, speed: float,
                 wall: Callable[[], float] = time.monotonic):
        self.speed = float(speed)
        self._base = int(start_ns)
        self._wall = wall
        self._wall0: float | None = None

    @property
    def paced(self) -> bool:
        return self.speed > 0.0

    @property
    def started(self) -> bool:
        return self._wall0 is not None

    def start(self) -> None:
        """Start the clock (idempotent)."""
        if self._wall0 is None:
            self._wall0 = self._wall()

    def now(self) -> int:
        """Current simulated time, ns UTC."""
        if self.paced and self._wall0 is not None:
            return self._base + int((self._wall() - self._wall0) * self.speed * 1e9)
        return self._base

    def set(self, ns: int) -> None:
        """Move an unpaced clock forward to ``ns`` (no-op if behind or paced)."""
        if not self.paced and ns > self._base:
            self._base = int(ns)

    def wait_s(self, ns: int) -> float:
        """Wall seconds until a started paced clock reaches ``ns`` (0 if already there)."""
        if not self.paced or self._wall0 is None:
            return 0.0
        return max((ns - self.now()) / (self.speed * 1e9), 0.0)

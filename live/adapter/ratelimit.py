"""A token bucket for the trading REST API, fed by the broker's own rate-limit headers.

Alpaca allows 200 requests a minute per account and says where a client stands on every
reply (``X-RateLimit-Limit``, ``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` epoch s).
The bucket spends one token per request and, whenever a reply carries the headers,
takes the broker's count as the truth; with no token left it waits until the reset
instant instead of provoking a 429. Headers are input from the wire like any other: one
that is not a finite non-negative number, or a reset more than ``MAX_RESET_AHEAD_S``
ahead, is logged and the reply's headers are ignored (a malformed reply must neither fail
the request nor stall the bucket for hours).
"""

from __future__ import annotations

import logging
import math
import threading
import time

log = logging.getLogger(__name__)

HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
MAX_RESET_AHEAD_S = 3600.0  # Alpaca's window is a minute: a reset an hour out is corrupt


class TokenBucket:
    """``limit`` requests per ``window_s`` seconds (wall time), corrected by headers."""

    def __init__(self, limit: int = 200, window_s: float = 60.0):
        self.limit = int(limit)
        self.window_s = float(window_s)
        self.remaining = float(limit)
        self.reset_at = time.time() + window_s  # epoch s when the window refills
        self.waited_s = 0.0  # total time spent waiting for tokens
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until the window resets if none is left; returns the
        seconds waited."""
        with self._lock:
            now = time.time()
            if now >= self.reset_at:
                self.remaining = float(self.limit)
                self.reset_at = now + self.window_s
            wait = 0.0
            if self.remaining < 1.0:
                wait = max(self.reset_at - now, 0.0)
                time.sleep(wait)
                self.remaining = float(self.limit)
                self.reset_at = time.time() + self.window_s
            self.remaining -= 1.0
            self.waited_s += wait
            return wait

    def update(self, headers) -> None:
        """Take the broker's view from a reply's headers (case-insensitive mapping);
        replies without them change nothing, malformed ones are logged and ignored."""
        try:
            raw = [headers.get(name) for name in HEADERS]
        except AttributeError:
            return
        if raw[1] is None or raw[2] is None:
            return
        try:
            limit, remaining, reset = (None if v is None else float(v) for v in raw)
        except (TypeError, ValueError):
            log.warning("fw live: rate-limit headers skipped, not numbers: %s",
                        dict(zip(HEADERS, raw, strict=True)))
            return
        values = [v for v in (limit, remaining, reset) if v is not None]
        if not all(math.isfinite(v) and v >= 0 for v in values) or \
                reset > time.time() + MAX_RESET_AHEAD_S:
            log.warning("fw live: rate-limit headers skipped, out of range: %s",
                        dict(zip(HEADERS, raw, strict=True)))
            return
        with self._lock:
            if limit is not None:
                self.limit = max(int(limit), 1)
            self.remaining = remaining
            self.reset_at = reset

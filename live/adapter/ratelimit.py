"""A token bucket for the trading REST API, fed by the broker's own rate-limit headers.

Alpaca allows 200 requests a minute per account and says where a client stands on every
reply (``X-RateLimit-Limit``, ``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` epoch s).
The bucket spends one token per request and, whenever a reply carries the headers,
takes the broker's count as the truth; with no token left it waits until the reset
instant instead of provoking a 429.
"""

from __future__ import annotations

import threading
import time


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
        replies without them change nothing."""
        try:
            limit = headers.get("X-RateLimit-Limit")
            remaining = headers.get("X-RateLimit-Remaining")
            reset = headers.get("X-RateLimit-Reset")
        except AttributeError:
            return
        if remaining is None or reset is None:
            return
        with self._lock:
            if limit is not None:
                self.limit = int(limit)
            self.remaining = float(remaining)
            self.reset_at = float(reset)

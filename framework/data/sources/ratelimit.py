"""HTTP politeness shared by network sources: a token bucket and a retrying requests adapter."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from requests.adapters import HTTPAdapter

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class TokenBucket:
    """At most ``rate_per_min`` acquisitions per minute on average, bursts up to ``burst``.

    ``clock`` (seconds) and ``sleep`` are injectable so tests can drive time.
    """

    def __init__(self, rate_per_min: float, burst: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.rate = rate_per_min / 60.0  # tokens per second
        self.burst = max(1.0, burst)
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; return seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            wait = 0.0
            if self._tokens < 1.0:
                wait = (1.0 - self._tokens) / self.rate
                self._sleep(wait)
                self._last = self._clock()
                self._tokens = 1.0
            self._tokens -= 1.0
            return wait


class PoliteAdapter(HTTPAdapter):
    """requests adapter: every attempt takes a bucket token; 429/5xx are retried with
    exponential backoff (``backoff_s`` x 2^k, or ``Retry-After`` when the server sends it)."""

    def __init__(self, bucket: TokenBucket, max_retries: int, backoff_s: float,
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__()
        self.bucket = bucket
        self.retries = max_retries
        self.backoff_s = backoff_s
        self._sleep = sleep
        self.retried = 0  # total retries performed (for reports and tests)

    def send(self, request, **kwargs):  # type: ignore[override]
        attempt = 0
        while True:
            self.bucket.acquire()
            resp = super().send(request, **kwargs)
            if resp.status_code not in RETRY_STATUSES or attempt >= self.retries:
                return resp
            delay = self.backoff_s * (2 ** attempt)
            ra = resp.headers.get("Retry-After")
            if ra and ra.isdigit():
                delay = max(delay, float(ra))
            resp.close()
            self._sleep(delay)
            attempt += 1
            self.retried += 1

"""HTTP politeness shared by network sources: a token bucket, and one timeout-and-retry rule.

Every network source mounts ``PoliteAdapter`` on its ``requests`` session
(``polite_session``): each attempt waits for a bucket token and has a connect and a read
timeout; 429/5xx answers, refused connections and timeouts are retried with exponential
backoff (``Retry-After`` honoured) until ``max_retries`` retries or ``retry_budget_s``
seconds in all are spent. A request that never got an answer then raises
``SourceError`` in one line naming the host, path and cause (never the query
string, which may carry a key); one that got an HTTP error status is returned for the
client to report. The settings come from ``HttpConfig`` (``framework.data.settings``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from framework.data.settings import HttpConfig
from framework.types.errors import FwError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class SourceError(FwError):
    """A network source did not answer (offline, refused, timed out) within its retry budget,
    or answered with an error; the message is one line naming the source, URL and cause."""


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


def _describe(err: requests.RequestException) -> str:
    if isinstance(err, requests.ConnectTimeout):
        return "no connection within the connect timeout"
    if isinstance(err, requests.ReadTimeout):
        return "connected, but no answer within the read timeout"
    text = str(err)
    if "refused" in text.lower():
        return "connection refused"
    if "name or service not known" in text.lower() or "nodename" in text.lower():
        return "host name not found (offline?)"
    return f"{type(err).__name__}: {text.splitlines()[0][:160] if text else ''}"


class PoliteAdapter(HTTPAdapter):
    """requests adapter applying ``HttpConfig``: a bucket token per attempt, connect/read
    timeouts (seconds), retries with exponential backoff (``backoff_s`` x 2^k, or
    ``Retry-After``) on 429/5xx, refused connections and timeouts, within ``max_retries``
    and ``retry_budget_s``."""

    def __init__(self, bucket: TokenBucket, cfg: HttpConfig, source: str = "http",
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.bucket = bucket
        self.cfg = cfg
        self.source = source
        self._sleep = sleep
        self._clock = clock
        self.retried = 0  # total retries performed (for reports and tests)

    def send(self, request, **kwargs):  # type: ignore[override]
        cfg = self.cfg
        kwargs["timeout"] = (cfg.connect_timeout_s, cfg.read_timeout_s)  # ours, always
        t0 = self._clock()
        attempt = 0
        while True:
            self.bucket.acquire()
            resp, failure = None, ""
            try:
                resp = super().send(request, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as err:
                failure = _describe(err)
            else:
                if resp.status_code not in RETRY_STATUSES:
                    return resp
                failure = f"HTTP {resp.status_code}"
            delay = cfg.backoff_s * (2 ** attempt)
            ra = resp.headers.get("Retry-After") if resp is not None else None
            if ra and ra.isdigit():
                delay = max(delay, float(ra))
            spent = self._clock() - t0
            if attempt >= cfg.max_retries or spent + delay > cfg.retry_budget_s:
                if resp is not None:
                    return resp  # an HTTP answer: the client reports its status and body
                p = urlsplit(request.url)
                raise SourceError(
                    f"{self.source}: {p.scheme}://{p.netloc}{p.path}: {failure} after "
                    f"{attempt + 1} attempt(s) in {spent:.1f} s (timeouts: connect "
                    f"{cfg.connect_timeout_s:g} s, read {cfg.read_timeout_s:g} s; retries "
                    f"{cfg.max_retries}, budget {cfg.retry_budget_s:g} s)")
            if resp is not None:
                resp.close()
            self._sleep(delay)
            attempt += 1
            self.retried += 1


def polite_session(session: requests.Session, cfg: HttpConfig, source: str,
                   bucket: TokenBucket | None = None) -> PoliteAdapter:
    """Mount a ``PoliteAdapter`` for ``cfg`` on ``session`` (http and https); return it.
    The one place a network source gets its timeouts, retries and rate limit."""
    adapter = PoliteAdapter(bucket or TokenBucket(cfg.requests_per_minute), cfg, source)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return adapter

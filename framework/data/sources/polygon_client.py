"""The official Polygon.io (now Massive) client, ``massive.RESTClient``, made polite and legible.

The client is a thin layer over a urllib3 ``PoolManager`` and follows ``next_url`` itself.
We configure it through urllib3's own hooks rather than wrapping its HTTP:

* timeouts: the client's ``connect_timeout`` / ``read_timeout`` (a urllib3 ``Timeout``);
* retries: a urllib3 ``Retry`` passed in ``connection_pool_kw`` (documented to override the
  client's own): 429/5xx, timeouts and dropped connections, at most ``max_retries`` per
  request, exponential backoff capped at ``max_backoff_s``, ``Retry-After`` honoured but
  capped the same way; the last error response is returned (not raised) so its JSON
  body reaches ``PolygonError``;
* pacing: the pool classes are swapped for ones whose ``urlopen`` takes a ``TokenBucket``
  token per attempt. urllib3 retries by calling the pool's ``urlopen`` again, so retries
  and every ``next_url`` page are paced too (the free tier counts each one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from framework.data.schemas import DataError
from framework.data.settings import PolygonConfig
from framework.data.sources.ratelimit import RETRY_STATUSES, TokenBucket


class PolygonError(DataError):
    """A Polygon/Massive request failed; the message is one line naming what and why."""


@dataclass
class HttpStats:
    """Counts kept by the paced pools: ``requests`` (logical, incl. each page), ``attempts``
    (incl. retries) and the HTTP status of the last response."""

    requests: int = 0
    attempts: int = 0
    last_status: int | None = None
    _depth: int = 0

    @property
    def retried(self) -> int:
        return self.attempts - self.requests


class _Paced:
    """Mixin for urllib3 pools: one bucket token per attempt (retries re-enter ``urlopen``)."""

    bucket: TokenBucket
    stats: HttpStats

    def urlopen(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        stats = self.stats
        if stats._depth == 0:
            stats.requests += 1
        stats._depth += 1
        try:
            self.bucket.acquire()
            stats.attempts += 1
            resp = super().urlopen(method, url, *args, **kwargs)  # type: ignore[misc]
            stats.last_status = resp.status
            return resp
        finally:
            stats._depth -= 1


def make_client(cfg: PolygonConfig, api_key: str, bucket: TokenBucket | None = None):
    """A ``massive.RESTClient`` at ``cfg.base_url`` with our timeouts, retries and pacing.

    Returns ``(client, stats)``. ``bucket`` defaults to ``cfg.requests_per_minute`` with a
    burst of one, so no 60 s window ever holds more than the configured count.
    """
    from massive import RESTClient

    retry = Retry(total=cfg.max_retries, status_forcelist=sorted(RETRY_STATUSES),
                  allowed_methods=["GET"], backoff_factor=cfg.backoff_s,
                  backoff_max=cfg.max_backoff_s, retry_after_max=int(cfg.max_backoff_s),
                  respect_retry_after_header=True, raise_on_status=False)
    client = RESTClient(api_key=api_key, base=cfg.base_url.rstrip("/"),
                        connect_timeout=cfg.connect_timeout_s, read_timeout=cfg.read_timeout_s,
                        retries=cfg.max_retries, pagination=True,
                        connection_pool_kw={"retries": retry})
    stats = HttpStats()
    attrs = {"bucket": bucket or TokenBucket(cfg.requests_per_minute), "stats": stats}
    # The PoolManager builds its pools lazily from this (public) mapping, so swapping the
    # classes before the first request paces every request the client makes.
    client.client.pool_classes_by_scheme = {
        "http": type("PacedHTTPConnectionPool", (_Paced, HTTPConnectionPool), attrs),
        "https": type("PacedHTTPSConnectionPool", (_Paced, HTTPSConnectionPool), attrs),
    }
    return client, stats


def _message(body: str) -> str:
    """Polygon's error text: ``message`` or ``error`` of its JSON body, else the raw body."""
    try:
        obj = json.loads(body)
    except ValueError:
        return body.strip()[:200]
    if not isinstance(obj, dict):
        return body.strip()[:200]
    return str(obj.get("message") or obj.get("error") or obj.get("status") or body)[:200]


def explain(err: Exception, stats: HttpStats, what: str, cfg: PolygonConfig) -> PolygonError:
    """Turn a client/urllib3 failure into one line: bad key, plan, rate limit, timeout..."""
    from massive.exceptions import AuthError, BadResponse

    if isinstance(err, AuthError):
        return PolygonError("polygon: no API key (set POLYGON_API_KEY or MASSIVE_API_KEY)")
    if isinstance(err, MaxRetryError):
        reason = err.reason
        kind = type(reason).__name__ if reason is not None else "error"
        if "Timeout" in kind:
            detail = (f"no answer within {cfg.read_timeout_s:g} s (read) / "
                      f"{cfg.connect_timeout_s:g} s (connect)")
        else:
            detail = f"{kind}: {reason}"
        return PolygonError(f"polygon: {what}: {cfg.base_url} gave up after "
                            f"{cfg.max_retries + 1} attempts, {detail}")
    if not isinstance(err, BadResponse):
        return PolygonError(f"polygon: {what}: {type(err).__name__}: {err}")
    status, msg = stats.last_status, _message(str(err))
    if status == 401:
        return PolygonError(f"polygon: API key rejected (HTTP 401: {msg}); check "
                            "POLYGON_API_KEY / MASSIVE_API_KEY")
    if status == 403:
        return PolygonError(f"polygon: {what}: your plan does not include this data "
                            f"(HTTP 403: {msg})")
    if status == 429:
        return PolygonError(f"polygon: {what}: rate limited after {cfg.max_retries} retries "
                            f"(HTTP 429: {msg}); lower [polygon] requests_per_minute")
    return PolygonError(f"polygon: {what}: HTTP {status}: {msg}")

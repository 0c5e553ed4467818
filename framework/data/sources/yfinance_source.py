"""Yahoo Finance daily and 1-minute bars through the ``yfinance`` package.

yfinance hard-codes Yahoo's hosts but accepts a caller's ``requests.Session``; with a
``base_url`` configured we hand it ``HostRewriteSession``, which sends every Yahoo request
(chart API, cookie, crumb) to that base URL instead, with ``ratelimit.PoliteAdapter``
mounted (timeouts, retries within a budget, rate limit). Against Yahoo itself yfinance
uses its own curl_cffi session (browser TLS fingerprint, which an adapter cannot
mount on): it gets our read timeout per request and no retries. Everything else -
yfinance's request building, JSON parsing, time-zone and corporate-action handling -
is the real code path. Failures surface as one-line ``SourceError``s.
"""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlsplit, urlunsplit

import polars as pl
import requests

from framework.data.calendar import daily_bars_at_open
from framework.data.lake import Lake
from framework.data.schemas import DataError
from framework.data.settings import YFinanceConfig
from framework.data.sources.ratelimit import SourceError, polite_session


class HostRewriteSession(requests.Session):
    """A requests Session that rewrites ``*.yahoo.com`` URLs to ``base_url`` (scheme+host+port)."""

    def __init__(self, base_url: str):
        super().__init__()
        parts = urlsplit(base_url)
        self._scheme, self._netloc = parts.scheme, parts.netloc

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        p = urlsplit(url)
        if p.hostname and p.hostname.endswith("yahoo.com"):
            url = urlunsplit((self._scheme, self._netloc, p.path, p.query, p.fragment))
        return super().request(method, url, *args, **kwargs)


def history(symbol: str, start: dt.date, end: dt.date, interval: str,
            cfg: YFinanceConfig | None = None) -> pl.DataFrame:
    """Raw (unadjusted) bars for session dates [start, end] in the lake schema of
    ``bars_1d`` (interval "1d") or ``bars_1m`` (interval "1m"), fetched per ``cfg``."""
    import yfinance as yf

    cfg = cfg or YFinanceConfig()
    if interval not in ("1d", "1m"):
        raise DataError(f"yfinance: interval '{interval}' not supported (1d, 1m)")
    session = None
    if cfg.base_url:
        session = HostRewriteSession(cfg.base_url)
        polite_session(session, cfg, "yfinance")
    tk = yf.Ticker(symbol, session=session)
    yf_log = logging.getLogger("yfinance")
    level = yf_log.level
    yf_log.setLevel(logging.CRITICAL)  # yfinance logs the error we raise once, below
    try:
        pdf = tk.history(start=start.isoformat(), end=(end + dt.timedelta(days=1)).isoformat(),
                         interval=interval, auto_adjust=False, actions=True, prepost=False,
                         repair=False, raise_errors=True, timeout=cfg.read_timeout_s)
    except SourceError:
        raise
    except Exception as err:  # yfinance's own errors (no data, rate limit, HTTP, network)
        text = " ".join(str(err).split())[:240]
        raise SourceError(f"yfinance:{symbol}: {type(err).__name__}: {text}") from None
    finally:
        yf_log.setLevel(level)
    if pdf is None or len(pdf) == 0:
        return pl.DataFrame()
    idx = pdf.index.tz_convert("UTC")
    ts = idx.as_unit("ns").asi8
    frame = pl.DataFrame({
        "ts": ts, "open": pdf["Open"].to_numpy(), "high": pdf["High"].to_numpy(),
        "low": pdf["Low"].to_numpy(), "close": pdf["Close"].to_numpy(),
        "volume": pdf["Volume"].to_numpy().astype("float64"),
    }).with_columns(vwap=pl.col("close"), n=pl.lit(0, pl.Int64))
    if interval == "1m":
        return frame
    frame = daily_bars_at_open(frame, f"yfinance:{symbol}")
    splits = pdf["Stock Splits"].to_numpy() if "Stock Splits" in pdf else 0.0
    return frame.with_columns(
        split_factor=pl.Series(splits, dtype=pl.Float64).replace(0.0, 1.0)
        if "Stock Splits" in pdf else pl.lit(1.0),
        dividend=pl.Series(pdf["Dividends"].to_numpy(), dtype=pl.Float64)
        if "Dividends" in pdf else pl.lit(0.0),
        adj_factor=pl.Series((pdf["Adj Close"] / pdf["Close"]).to_numpy(), dtype=pl.Float64),
    )


def ingest_yfinance(lake: Lake, cfg: YFinanceConfig, symbols: list[str], start: dt.date | None,
                    end: dt.date | None, interval: str | None = None) -> dict[str, int]:
    """Download and write each symbol; rows per dataset."""
    if not symbols or start is None or end is None:
        raise DataError("yfinance: --symbols, --start and --end are required")
    interval = interval or cfg.interval
    dataset = f"bars_{interval}"
    rows = 0
    for sym in symbols:
        frame = history(sym, start, end, interval, cfg)
        if frame.height:
            lake.write(dataset, sym, frame, "yfinance")
            rows += frame.height
    return {dataset: rows}

"""Alpaca historical market data (bars, trades, quotes; IEX feed) through ``alpaca-py``.

The real SDK client is used (``StockHistoricalDataClient(url_override=...)``) with
``raw_data=True`` so RFC-3339 timestamps keep their nanoseconds. The SDK follows
``next_page_token`` itself; we mount ``PoliteAdapter`` on its requests session
(``ratelimit.polite_session``) so every page request goes through a 200/min token
bucket, has connect/read timeouts, and 429/5xx, refused connections and timeouts are
retried with exponential backoff within a retry budget (the SDK's own fixed-wait retry
is switched off so there is one retry policy). Failures surface as one-line
``SourceError``s.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from framework.data.calendar import daily_bars_at_open
from framework.data.lake import Lake
from framework.data.schemas import DataError
from framework.data.settings import AlpacaConfig
from framework.data.sources.ratelimit import SourceError, TokenBucket, polite_session


def make_client(cfg: AlpacaConfig, api_key: str, secret_key: str, bucket: TokenBucket | None = None):
    """A ``StockHistoricalDataClient`` pointed at ``cfg.base_url`` with our rate limit/retries."""
    from alpaca.data.historical import StockHistoricalDataClient

    client = StockHistoricalDataClient(api_key, secret_key, raw_data=True,
                                       url_override=cfg.base_url.rstrip("/"))
    # alpaca-py keeps its requests.Session in ``_session``; mounting an adapter is the
    # requests-level hook for timeouts, rate limiting and retries.
    adapter = polite_session(client._session, cfg, "alpaca", bucket)
    client._retry = 0  # one retry policy: ours
    return client, adapter


def _ns(col: str = "t") -> pl.Expr:
    return pl.col(col).str.to_datetime(time_unit="ns", time_zone="UTC").cast(pl.Int64)


def _frame(kind: str, items: list[dict]) -> pl.DataFrame:
    df = pl.DataFrame(items, infer_schema_length=None)
    if kind == "bars":
        return df.select(ts=_ns(), open="o", high="h", low="l", close="c", volume="v",
                         vwap=pl.col("vw").fill_null(pl.col("c")),
                         n=pl.col("n").fill_null(0).cast(pl.Int64))
    if kind == "trades":
        cond = (pl.col("c").list.join(",") if "c" in df.columns else pl.lit(""))
        exch = pl.col("x") if "x" in df.columns else pl.lit("")
        return df.select(ts=_ns(), price="p", size=pl.col("s").cast(pl.Float64), exchange=exch,
                         conditions=cond)
    return df.select(ts=_ns(), bid="bp", bid_size=pl.col("bs").cast(pl.Float64), ask="ap",
                     ask_size=pl.col("as").cast(pl.Float64))


def fetch(client, kind: str, symbols: list[str], start: dt.datetime, end: dt.datetime,
          feed: str = "iex", timeframe: str = "1m") -> dict[str, pl.DataFrame]:
    """All pages of ``kind`` (bars|trades|quotes) for ``symbols`` in [start, end): frames per symbol."""
    from alpaca.common.exceptions import APIError
    from alpaca.data.enums import Adjustment, DataFeed
    from alpaca.data.requests import StockBarsRequest, StockQuotesRequest, StockTradesRequest
    from alpaca.data.timeframe import TimeFrame

    common = dict(symbol_or_symbols=symbols, start=start, end=end, feed=DataFeed(feed))
    if kind == "bars":
        tf = {"1m": TimeFrame.Minute, "1d": TimeFrame.Day}.get(timeframe)
        if tf is None:
            raise DataError(f"alpaca: timeframe '{timeframe}' not supported (1m, 1d)")
        get, req = client.get_stock_bars, StockBarsRequest(timeframe=tf,
                                                           adjustment=Adjustment.RAW, **common)
    elif kind == "trades":
        get, req = client.get_stock_trades, StockTradesRequest(**common)
    elif kind == "quotes":
        get, req = client.get_stock_quotes, StockQuotesRequest(**common)
    else:
        raise DataError(f"alpaca: unknown dataset '{kind}' (bars, trades, quotes)")
    try:
        raw = get(req)
    except APIError as err:  # an HTTP error answer, after our retries where retryable
        body = " ".join(str(err).split())[:200]
        raise SourceError(f"alpaca: {kind} of {','.join(symbols)}: HTTP "
                          f"{err.status_code}: {body}") from None
    out = {}
    for sym, items in (raw or {}).items():
        if items:
            frame = _frame(kind, items)
            out[sym] = (daily_bars_at_open(frame, f"alpaca:{sym}")
                        if kind == "bars" and timeframe == "1d" else frame)
    return out


def ingest_alpaca(lake: Lake, cfg: AlpacaConfig, api_key: str, secret_key: str,
                  symbols: list[str], start: dt.date | None, end: dt.date | None,
                  kind: str = "bars", timeframe: str = "1m") -> dict[str, int]:
    """Fetch [start, end] (session dates, inclusive) and write to the lake; rows per dataset."""
    if not symbols or start is None or end is None:
        raise DataError("alpaca: --symbols, --start and --end are required")
    client, _ = make_client(cfg, api_key, secret_key)
    t0 = dt.datetime.combine(start, dt.time(0), dt.UTC)
    t1 = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(6), dt.UTC)
    frames = fetch(client, kind, symbols, t0, t1, cfg.feed, timeframe)
    dataset = {"bars": f"bars_{timeframe}", "trades": "trades", "quotes": "quotes"}[kind]
    rows = 0
    for sym, frame in frames.items():
        lake.write(dataset, sym, frame, "alpaca")
        rows += frame.height
    return {dataset: rows}

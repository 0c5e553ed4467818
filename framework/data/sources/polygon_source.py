"""Polygon.io (now Massive) aggregates, trades and quotes into the lake, resumably.

The official ``massive`` client does the HTTP and follows ``next_url``; ``polygon_client``
configures its timeouts, retries and pacing. Conventions are the Alpaca source's: bar
``ts`` at the bar start (Polygon's ``t``, ms -> ns UTC), daily bars relabelled from
midnight New York to the session open, every bar Polygon sends kept (its aggregates span
04:00-20:00 ET; no session filter), trades/quotes stamped with the SIP time in ns.

A symbol's range is fetched in windows of whole sessions (``minute_chunk_sessions`` for
1m bars, one session for trades/quotes, the whole range for daily bars); each window is
written to the lake and then recorded in an ``IngestCheckpoint``, so an interrupted
ingest rerun with the same arguments continues after the last complete window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import polars as pl

from framework.data.calendar import daily_bars_at_open, ny_midnight_ns, session_date_expr, sessions
from framework.data.corporate_actions import Dividend, Split, with_factors
from framework.data.ingest_checkpoint import IngestCheckpoint
from framework.data.lake import Lake
from framework.data.schemas import DataError
from framework.data.settings import PolygonConfig
from framework.data.sources.polygon_client import HttpStats, PolygonError, explain, make_client

NS_PER_MS = 1_000_000
_DATASETS = {"trades": "trades", "quotes": "quotes"}
_SPANS = {"1m": "minute", "1d": "day"}


class _Api:
    """The client, its request counters and the config, with errors made one-line."""

    def __init__(self, client, stats: HttpStats, cfg: PolygonConfig):
        self.client, self.stats, self.cfg = client, stats, cfg

    def rows(self, what: str, call: Callable[[], Iterable]) -> list:
        """Drain ``call()`` (a paginating iterator of client models) or raise ``PolygonError``."""
        from massive.exceptions import AuthError, BadResponse
        from urllib3.exceptions import HTTPError

        try:
            return list(call())
        except (BadResponse, AuthError, HTTPError) as err:
            raise explain(err, self.stats, what, self.cfg) from None

    def check_ticker(self, sym: str, day: dt.date) -> None:
        """Raise ``PolygonError`` if Polygon's reference data has no ``sym`` on ``day``."""
        try:
            self.rows(f"ticker {sym}",
                      lambda: [self.client.get_ticker_details(sym, date=day.isoformat())])
        except PolygonError:
            if self.stats.last_status == 404:
                raise PolygonError(f"polygon: unknown ticker '{sym}' (no reference data for it "
                                   f"on {day})") from None
            raise


def aggregates(api: _Api, sym: str, timeframe: str, d0: dt.date, d1: dt.date) -> pl.DataFrame:
    """Bars of session dates [d0, d1] in the ``bars_<timeframe>`` schema (no daily factors)."""
    span = _SPANS.get(timeframe)
    if span is None:
        raise DataError(f"polygon: timeframe '{timeframe}' not supported (1m, 1d)")
    cfg = api.cfg
    aggs = api.rows(f"{timeframe} bars {sym} {d0}..{d1}", lambda: api.client.list_aggs(
        sym, 1, span, d0.isoformat(), d1.isoformat(), adjusted=cfg.adjusted, sort="asc",
        limit=cfg.page_limit))
    frame = pl.DataFrame(
        [(a.timestamp, a.open, a.high, a.low, a.close, a.volume, a.vwap, a.transactions)
         for a in aggs],
        schema={"t": pl.Int64, "open": pl.Float64, "high": pl.Float64, "low": pl.Float64,
                "close": pl.Float64, "volume": pl.Float64, "vwap": pl.Float64, "n": pl.Int64},
        orient="row")
    frame = frame.select(ts=pl.col("t") * NS_PER_MS, open="open", high="high", low="low",
                         close="close", volume="volume",
                         vwap=pl.col("vwap").fill_null(pl.col("close")), n=pl.col("n").fill_null(0))
    return daily_bars_at_open(frame, f"polygon:{sym}") if timeframe == "1d" else frame


def ticks(api: _Api, kind: str, sym: str, day: dt.date) -> pl.DataFrame:
    """Trades or quotes of session ``day`` (New York midnight to midnight) in the lake schema.
    ``exchange`` and ``conditions`` keep Polygon's numeric ids (as text)."""
    lo, hi = ny_midnight_ns(day), ny_midnight_ns(day + dt.timedelta(days=1))
    lister = {"trades": api.client.list_trades, "quotes": api.client.list_quotes}[kind]
    items = api.rows(f"{kind} {sym} {day}", lambda: lister(
        sym, timestamp_gte=lo, timestamp_lt=hi, limit=api.cfg.page_limit, sort="timestamp",
        order="asc"))
    if kind == "trades":
        return pl.DataFrame(
            [(t.sip_timestamp, t.price, t.size, "" if t.exchange is None else str(t.exchange),
              ",".join(str(c) for c in t.conditions or ())) for t in items],
            schema={"ts": pl.Int64, "price": pl.Float64, "size": pl.Float64,
                    "exchange": pl.String, "conditions": pl.String}, orient="row")
    return pl.DataFrame(
        [(q.sip_timestamp, q.bid_price, q.bid_size, q.ask_price, q.ask_size) for q in items],
        schema={"ts": pl.Int64, "bid": pl.Float64, "bid_size": pl.Float64, "ask": pl.Float64,
                "ask_size": pl.Float64}, orient="row")


def corporate_actions(api: _Api, sym: str, since: dt.date) -> tuple[list[Split], list[Dividend]]:
    """Splits and cash dividends of ``sym`` effective on or after ``since`` (Massive's
    ``/stocks/v1/splits`` and ``/stocks/v1/dividends``)."""
    c = api.client
    splits = api.rows(f"splits {sym}", lambda: c.list_stocks_splits(
        ticker=sym, execution_date_gte=since.isoformat(), limit=5000))
    divs = api.rows(f"dividends {sym}", lambda: c.list_stocks_dividends(
        ticker=sym, ex_dividend_date_gte=since.isoformat(), limit=5000))
    return ([Split(dt.date.fromisoformat(s.execution_date), float(s.split_to) / float(s.split_from))
             for s in splits if s.execution_date and s.split_from and s.split_to],
            [Dividend(dt.date.fromisoformat(v.ex_dividend_date), float(v.cash_amount))
             for v in divs if v.ex_dividend_date and v.cash_amount])


def daily_bars(api: _Api, sym: str, d0: dt.date, d1: dt.date) -> pl.DataFrame:
    """Daily bars of [d0, d1] with ``split_factor``, ``dividend`` and ``adj_factor``.

    Fetched from the session before ``d0`` (its close prices a dividend ex on ``d0``)
    through the last split/dividend already effective, so factors count every event after
    a bar up to today, as a vendor's adjusted close does."""
    before, _, _ = sessions(d0 - dt.timedelta(days=10), d0 - dt.timedelta(days=1))
    first = before[-1] if before else d0
    splits, divs = corporate_actions(api, sym, first)
    last_event = max([s.date for s in splits] + [v.ex_date for v in divs], default=d1)
    last = min(max(d1, last_event), dt.date.today())
    bars = with_factors(aggregates(api, sym, "1d", first, last), splits, divs, api.cfg.adjusted)
    return bars.filter(session_date_expr().is_between(d0, d1))


def _windows(dates: list[dt.date], per: int) -> list[tuple[dt.date, dt.date]]:
    return [(dates[i], dates[min(i + per, len(dates)) - 1]) for i in range(0, len(dates), per)]


def ingest_polygon(lake: Lake, cfg: PolygonConfig, api_key: str, symbols: list[str],
                   start: dt.date | None, end: dt.date | None, kind: str = "bars",
                   timeframe: str = "1m", report: Callable[[str], None] | None = None,
                   client=None) -> dict[str, int]:
    """Fetch session dates [start, end] (inclusive) per symbol and write them to the lake.

    ``kind``: bars (``timeframe`` 1m | 1d), trades or quotes. Resumes an interrupted run of
    the same request (see module doc). ``report`` gets one line per written window.
    ``client`` is an optional ``(RESTClient, HttpStats)`` from ``make_client``.
    Returns rows written per dataset.
    """
    if not symbols or start is None or end is None:
        raise DataError("polygon: --symbols, --start and --end are required")
    if start > end:
        raise DataError(f"polygon: --start {start} is after --end {end}")
    if kind == "bars":
        if timeframe not in _SPANS:
            raise DataError(f"polygon: timeframe '{timeframe}' not supported (1m, 1d)")
        dataset = f"bars_{timeframe}"
    elif kind in _DATASETS:
        dataset = _DATASETS[kind]
    else:
        raise DataError(f"polygon: unknown dataset '{kind}' (bars, trades, quotes)")
    api = _Api(*(client or make_client(cfg, api_key)), cfg)
    dates, _, _ = sessions(start, end)
    per = {"bars_1m": cfg.minute_chunk_sessions, "bars_1d": max(len(dates), 1)}.get(dataset, 1)
    rows = 0
    for sym in symbols:
        rows += _ingest_symbol(lake, api, sym, dataset, _windows(dates, per), start,
                               report or (lambda line: None))
    return {dataset: rows}


def _ingest_symbol(lake: Lake, api: _Api, sym: str, dataset: str,
                   windows: list[tuple[dt.date, dt.date]], start: dt.date,
                   report: Callable[[str], None]) -> int:
    key = {"adjusted": api.cfg.adjusted} if dataset.startswith("bars") else {}
    ck = IngestCheckpoint(lake.root, "polygon", dataset, sym, key)
    done = ck.resume_after(start)
    if done is not None:
        report(f"polygon {sym} {dataset}: resuming after {done}")
    rows, first = 0, True
    for w0, w1 in windows:
        if done is not None and w1 <= done:
            continue
        n0 = api.stats.requests
        if dataset == "bars_1d":
            frame = daily_bars(api, sym, w0, w1)
        elif dataset == "bars_1m":
            frame = aggregates(api, sym, "1m", w0, w1)
        else:
            frame = ticks(api, dataset, sym, w0)
        if first and done is None and frame.height == 0:
            api.check_ticker(sym, w0)  # an empty first window: a typo, or no data?
        first = False
        if frame.height:
            lake.write(dataset, sym, frame, "polygon")
        ck.save(start, w1)
        rows += frame.height
        report(f"polygon {sym} {dataset} {w0}..{w1}: {frame.height:,} rows "
               f"({api.stats.requests - n0} requests)")
    ck.clear()
    return rows

"""The yfinance source: the real yfinance package against a loopback Yahoo chart server."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import polars as pl
import pytest

from framework.data import Lake
from framework.data.calendar import sessions
from framework.data.settings import YFinanceConfig
from framework.data.sources.ratelimit import SourceError
from framework.data.sources.yfinance_source import history, ingest_yfinance
from tests.data.sources.silent_server import SilentServer
from tests.data.sources.yahoo_chart_server import YahooChartServer


@pytest.fixture(autouse=True)
def _yf_cache(tmp_path, monkeypatch):
    import yfinance as yf

    yf.set_tz_cache_location(str(tmp_path / "yf-cache"))


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    from tests.data.lake_testkit import minute_bars

    lake = Lake(tmp_path_factory.mktemp("yf"))
    dates, opens, _ = sessions(dt.date(2024, 1, 2), dt.date(2024, 2, 29))
    n = len(dates)
    c = 100 + np.arange(n, dtype=float)
    lake.write("bars_1d", "SPY", pl.DataFrame({
        "ts": opens, "open": c, "high": c + 1, "low": c - 1, "close": c + 0.5, "volume": 1e6,
        "adj_factor": np.linspace(0.95, 1.0, n)}), "test")
    lake.write("bars_1m", "SPY", minute_bars(dt.date(2024, 2, 5), dt.date(2024, 2, 6)), "test")
    return lake, opens


def test_daily_history_with_dividend(src, tmp_path):
    lake, opens = src
    div_t = int(opens[10] // 10**9)
    with YahooChartServer(lake, dividends={"SPY": {div_t: 1.25}}) as srv:
        got = history("SPY", dt.date(2024, 1, 2), dt.date(2024, 2, 29), "1d",
                      YFinanceConfig(base_url=srv.url))
        dest = Lake(tmp_path / "dest")
        rows = ingest_yfinance(dest, YFinanceConfig(base_url=srv.url), ["SPY"],
                               dt.date(2024, 1, 2), dt.date(2024, 2, 29), "1d")
    assert any(p.startswith("/v8/finance/chart/SPY?period1=") for p in srv.paths)
    want = lake.bars("SPY", timeframe="1d")
    assert got["ts"].to_list() == want["ts"].to_list()
    assert np.allclose(got["close"], want["close"])
    assert np.allclose(got["adj_factor"], want["adj_factor"])
    assert got["dividend"].sum() == 1.25 and got["dividend"][10] == 1.25
    assert (got["split_factor"] == 1.0).all()
    assert rows == {"bars_1d": want.height}
    assert dest.bars("SPY", timeframe="1d").height == want.height


def test_intraday_history(src):
    lake, _ = src
    with YahooChartServer(lake) as srv:
        got = history("SPY", dt.date(2024, 2, 5), dt.date(2024, 2, 6), "1m",
                      YFinanceConfig(base_url=srv.url))
    want = lake.bars("SPY", "2024-02-05", "2024-02-06")
    assert got["ts"].to_list() == want["ts"].to_list()
    assert np.allclose(got["open"], want["open"]) and np.allclose(got["low"], want["low"])


def test_silent_server_times_out_in_one_line(tmp_path):
    """A server that accepts and never answers: the ingest stops within its retry budget
    with one line naming the URL and the cause, and writes nothing."""
    cfg = YFinanceConfig(connect_timeout_s=0.5, read_timeout_s=0.3, max_retries=1,
                         backoff_s=0.05, requests_per_minute=60_000)
    with SilentServer() as srv:
        t0 = time.monotonic()
        with pytest.raises(SourceError) as err:
            ingest_yfinance(Lake(tmp_path / "lake"), cfg.model_copy(update={"base_url": srv.url}),
                            ["SPY"], dt.date(2024, 1, 2), dt.date(2024, 1, 5), "1d")
        took = time.monotonic() - t0
    msg = str(err.value)
    assert "\n" not in msg and srv.url in msg and "no answer within the read timeout" in msg
    assert "after 2 attempt(s)" in msg
    assert took < 10  # yfinance makes a handful of requests, each bounded by the budget
    assert not (tmp_path / "lake" / "bars_1d").exists()

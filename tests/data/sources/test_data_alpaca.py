"""The Alpaca source (real alpaca-py client) against the loopback data REST simulator."""

from __future__ import annotations

import datetime as dt
import socket
import time

import numpy as np
import polars as pl
import pytest

from framework.data import Lake
from framework.data.settings import AlpacaConfig
from framework.data.sources.alpaca_source import fetch, ingest_alpaca, make_client
from framework.data.sources.ratelimit import SourceError, TokenBucket
from live.simulator.data_rest import DataRestServer
from tests.data.sources.silent_server import SilentServer

DAY0, DAY1 = dt.datetime(2024, 1, 2, tzinfo=dt.UTC), dt.datetime(2024, 1, 4, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def source_lake(tmp_path_factory):
    from tests.data.lake_testkit import minute_bars, write_ticks

    lake = Lake(tmp_path_factory.mktemp("src"))
    lake.write("bars_1m", "SPY", minute_bars(DAY0.date(), DAY1.date(), seed=1), "test")
    lake.write("bars_1m", "QQQ", minute_bars(DAY0.date(), DAY1.date(), p0=400, seed=2), "test")
    write_ticks(lake, "SPY", "V", "@,I", (100.0, 300.0))
    return lake


def test_pagination_and_retry_on_429_and_500(source_lake):
    with DataRestServer(source_lake, page_cap=97, faults=[429, 500, 503]) as srv:
        cfg = AlpacaConfig(base_url=srv.url, backoff_s=0.01, requests_per_minute=60_000)
        client, adapter = make_client(cfg, "key", "secret")
        out = fetch(client, "bars", ["SPY", "QQQ"], DAY0, DAY1)
    expected = source_lake.bars(["SPY", "QQQ"], DAY0, DAY1)
    pages = -(-expected.height // 97)
    statuses = [s for _, _, s in srv.requests]
    assert statuses[:3] == [429, 500, 503] and statuses[3:] == [200] * pages
    assert adapter.retried == 3
    assert sum("page_token=" in p for _, p, _ in srv.requests) == pages - 1
    assert all("feed=iex" in p for _, p, _ in srv.requests)
    for sym in ("SPY", "QQQ"):
        want = expected.filter(pl.col("symbol") == sym).drop("symbol")
        assert out[sym].equals(want)


def test_backoff_is_exponential(source_lake):
    with DataRestServer(source_lake, faults=[429, 429, 429]) as srv:
        cfg = AlpacaConfig(base_url=srv.url, backoff_s=0.05, requests_per_minute=60_000)
        client, _ = make_client(cfg, "key", "secret")
        fetch(client, "trades", ["SPY"], DAY0, DAY1)
    t = [r[0] for r in srv.requests]
    gaps = np.diff(t[:4])
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[2] >= 0.2


def test_retries_exhausted_raise(source_lake):
    with DataRestServer(source_lake, faults=[500] * 5) as srv:
        cfg = AlpacaConfig(base_url=srv.url, backoff_s=0.0, max_retries=2,
                           requests_per_minute=60_000)
        client, _ = make_client(cfg, "key", "secret")
        with pytest.raises(SourceError, match="alpaca: bars of SPY: HTTP 500") as err:
            fetch(client, "bars", ["SPY"], DAY0, DAY1)
    assert "\n" not in str(err.value)
    assert len(srv.requests) == 3


def test_silent_server_times_out_within_the_budget(tmp_path):
    """A server that accepts the connection and never answers: each attempt ends at the
    read timeout, retries stop at max_retries, and the error is one line naming the URL."""
    with SilentServer() as srv:
        cfg = AlpacaConfig(base_url=srv.url, connect_timeout_s=0.5, read_timeout_s=0.3,
                           max_retries=2, backoff_s=0.05, requests_per_minute=60_000)
        t0 = time.monotonic()
        with pytest.raises(SourceError) as err:
            ingest_alpaca(Lake(tmp_path / "lake"), cfg, "key", "secret", ["SPY"], DAY0.date(),
                          DAY1.date())
        took = time.monotonic() - t0
        assert srv.accepted == 3
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"alpaca: {srv.url}/v2/stocks/bars: ")
    assert "no answer within the read timeout after 3 attempt(s)" in msg
    assert 0.9 <= took < 5  # 3 x 0.3 s read timeouts + 0.15 s backoff
    # the budget caps the retries too: a budget of 0.5 s stops after the second attempt
    with SilentServer() as srv:
        cfg = cfg.model_copy(update={"base_url": srv.url, "max_retries": 10,
                                     "retry_budget_s": 0.5})
        with pytest.raises(SourceError, match=r"after 2 attempt\(s\)"):
            fetch(make_client(cfg, "k", "s")[0], "bars", ["SPY"], DAY0, DAY1)


def test_offline_connection_refused_is_one_line():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = AlpacaConfig(base_url=f"http://127.0.0.1:{port}", max_retries=1, backoff_s=0.01,
                       requests_per_minute=60_000)
    with pytest.raises(SourceError, match=r"connection refused after 2 attempt\(s\)"):
        fetch(make_client(cfg, "key", "secret")[0], "trades", ["SPY"], DAY0, DAY1)


def test_rate_limiter_paces_requests(source_lake):
    with DataRestServer(source_lake, page_cap=50) as srv:
        # 600/min = one request per 0.1 s once the single-token burst is spent
        cfg = AlpacaConfig(base_url=srv.url, requests_per_minute=600)
        client, _ = make_client(cfg, "key", "secret")
        out = fetch(client, "trades", ["SPY"], DAY0, DAY1)
    assert out["SPY"].height == 300
    t = np.array([r[0] for r in srv.requests])
    assert len(t) == 6 and t[-1] - t[0] >= 0.45


def test_token_bucket_rate_with_fake_clock():
    now = [0.0]
    waits = []

    def sleep(s):
        waits.append(s)
        now[0] += s

    b = TokenBucket(200, burst=5, clock=lambda: now[0], sleep=sleep)
    for _ in range(205):
        b.acquire()
    # 5 burst tokens, then 200 more at 200/min take 60 s
    assert now[0] == pytest.approx(60.0, rel=1e-6)
    assert len(waits) == 200


def test_trades_quotes_and_ingest_into_lake(source_lake, tmp_path):
    with DataRestServer(source_lake, page_cap=128) as srv:
        cfg = AlpacaConfig(base_url=srv.url, requests_per_minute=60_000)
        client, _ = make_client(cfg, "key", "secret")
        tr = fetch(client, "trades", ["SPY"], DAY0, DAY1)["SPY"]
        qu = fetch(client, "quotes", ["SPY"], DAY0, DAY1)["SPY"]
        dest = Lake(tmp_path / "dest")
        rows = ingest_alpaca(dest, cfg, "key", "secret", ["SPY", "QQQ"], DAY0.date(),
                             DAY1.date(), "bars", "1m")
        ingest_alpaca(dest, cfg, "key", "secret", ["SPY", "QQQ"], DAY0.date(), DAY1.date(),
                      "bars", "1m")
    src_tr = source_lake.trades("SPY").drop("symbol")
    assert tr.equals(src_tr)  # nanosecond timestamps and condition lists survive
    assert qu.equals(source_lake.quotes("SPY").drop("symbol"))
    assert rows == {"bars_1m": 2 * 3 * 390}
    assert dest.bars(["SPY", "QQQ"]).equals(source_lake.bars(["SPY", "QQQ"]))
    assert set(dest.catalog()["source"]) == {"alpaca"}


def test_missing_keys_are_rejected(source_lake):
    with DataRestServer(source_lake) as srv:
        cfg = AlpacaConfig(base_url=srv.url, requests_per_minute=60_000)
        client, _ = make_client(cfg, "key", "secret")
        client._api_key = ""  # an unauthenticated request gets Alpaca's 403
        with pytest.raises(SourceError, match="HTTP 403: .*forbidden"):
            fetch(client, "bars", ["SPY"], DAY0, DAY1)


def test_cli_ingest_alpaca_with_env_keys(source_lake, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from framework.cli import data_cmd

    monkeypatch.setenv("APCA_API_KEY_ID", "loopback-key")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "loopback-secret")
    with DataRestServer(source_lake, page_cap=500, faults=[429]) as srv:
        cfg = tmp_path / "data.toml"
        cfg.write_text(f'[alpaca]\nbase_url = "{srv.url}"\nbackoff_s = 0.01\n')
        r = CliRunner().invoke(data_cmd.app, [
            "ingest", "--source", "alpaca", "--symbols", "SPY,QQQ", "--start", "2024-01-02",
            "--end", "2024-01-04", "--config", str(cfg), "--lake", str(tmp_path / "lake")])
    assert r.exit_code == 0, r.output
    assert "bars_1m 2,340 rows" in r.output
    assert "loopback-secret" not in r.output
    assert Lake(tmp_path / "lake").bars("QQQ").equals(source_lake.bars("QQQ"))

"""The Polygon/Massive source (real ``massive`` client) against the loopback REST server."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from framework.data import Lake
from framework.data.calendar import sessions
from framework.data.ingest_checkpoint import IngestCheckpoint
from framework.data.settings import PolygonConfig
from framework.data.sources.polygon_client import PolygonError, make_client
from framework.data.sources.polygon_source import ingest_polygon
from framework.data.sources.ratelimit import TokenBucket
from live.simulator.polygon_rest import PolygonRestServer

D0, D1 = dt.date(2024, 1, 2), dt.date(2024, 1, 12)  # 9 sessions
KEY = "loopback-key"


def _cfg(srv: PolygonRestServer, **kw) -> PolygonConfig:
    return PolygonConfig(**({"base_url": srv.url, "requests_per_minute": 600_000,
                             "backoff_s": 0.01} | kw))


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Lake:
    """Raw 1m bars (regular session + some pre/post-market minutes), daily bars, ticks."""
    from tests.data.lake_testkit import minute_bars, write_ticks

    lake = Lake(tmp_path_factory.mktemp("poly-src"))
    for sym, p0, seed in (("SPY", 470.0, 1), ("QQQ", 400.0, 2)):
        reg = minute_bars(D0, D1, p0=p0, seed=seed)
        _, opens, closes = sessions(D0, D1)
        ext = np.concatenate([np.r_[o - 60_000_000_000 * np.arange(90, 0, -1),
                                    c + 60_000_000_000 * np.arange(30)]
                              for o, c in zip(opens, closes, strict=True)])
        px = p0 + np.arange(ext.size) % 7 / 100
        lake.write("bars_1m", sym, pl.concat([reg, pl.DataFrame({
            "ts": ext, "open": px, "high": px + 0.05, "low": px - 0.05, "close": px,
            "volume": 100.0, "vwap": px, "n": 3}).cast({"n": pl.Int64})]), "test")
        c = p0 + np.arange(len(opens), dtype=float)
        lake.write("bars_1d", sym, pl.DataFrame({
            "ts": opens, "open": c, "high": c + 2, "low": c - 2, "close": c + 1, "volume": 1e6,
            "vwap": c + 0.5, "n": 50_000}), "test")
    write_ticks(lake, "SPY", "11", "12,37", (2.0, 3.0))  # Polygon's numeric ids
    return lake


def test_pagination_windows_and_auth(src, tmp_path):
    with PolygonRestServer(src, page_cap=500) as srv:
        dest = Lake(tmp_path / "dest")
        rows = ingest_polygon(dest, _cfg(srv, minute_chunk_sessions=4), KEY, ["SPY", "QQQ"],
                              D0, D1)
    want = src.bars(["SPY", "QQQ"])
    assert rows == {"bars_1m": want.height}
    assert dest.bars(["SPY", "QQQ"]).equals(want)  # pre/post-market minutes kept
    paths = [p for _, p, _ in srv.requests]
    # 3 windows (4+4+1 sessions) per symbol; 510 bars a session -> 5, 5 and 2 pages of 500
    firsts = [p for p in paths if "cursor=" not in p]
    assert [p.split("?")[0].rsplit("/", 2)[1:] for p in firsts[:3]] == [
        ["2024-01-02", "2024-01-05"], ["2024-01-08", "2024-01-11"], ["2024-01-12", "2024-01-12"]]
    assert len(firsts) == 6 and len(paths) == 2 * (5 + 5 + 2)
    assert all("adjusted=false" in p for p in firsts)
    assert set(dest.catalog()["source"]) == {"polygon"}
    assert not (dest.root / ".ingest" / "polygon" / "bars_1m" / "SPY.json").exists()


def test_429_burst_and_5xx_are_retried_with_backoff(src, tmp_path):
    faults = [429, 429, 429, 500, 502]
    with PolygonRestServer(src, faults=faults) as srv:
        cfg = PolygonConfig(base_url=srv.url, requests_per_minute=600_000, backoff_s=0.02)
        client, stats = make_client(cfg, KEY)
        ingest_polygon(Lake(tmp_path), cfg, KEY, ["SPY"], D0, D0, client=(client, stats))
    assert [s for _, _, s in srv.requests] == faults + [200]
    assert stats.retried == 5 and stats.requests == 1
    gaps = np.diff([t for t, _, _ in srv.requests])
    # urllib3 backoff: backoff_s * 2**(k-1) after the k-th consecutive failure (none after the first)
    assert gaps[1] >= 0.04 and gaps[2] >= 0.08 and gaps[3] >= 0.16 and gaps[4] >= 0.32


def test_retry_budget_is_bounded_and_named(src, tmp_path):
    with PolygonRestServer(src, faults=[429] * 10) as srv:
        with pytest.raises(PolygonError) as err:
            ingest_polygon(Lake(tmp_path), _cfg(srv, max_retries=2), KEY, ["SPY"], D0, D0)
    assert len(srv.requests) == 3
    msg = str(err.value)
    assert "\n" not in msg and "rate limited after 2 retries" in msg
    assert "HTTP 429: You've exceeded the maximum requests per minute" in msg


def test_retry_after_is_honoured_but_capped(src, tmp_path):
    """A server asking for an hour's pause cannot stall the run: waits are capped at
    ``max_backoff_s`` (here 1 s, so Retry-After: 3600 waits 1 s)."""
    with PolygonRestServer(src, faults=[429], retry_after="3600") as srv:
        ingest_polygon(Lake(tmp_path), _cfg(srv, max_backoff_s=1.0), KEY, ["SPY"], D0, D0)
    t = [r[0] for r in srv.requests]
    assert [s for _, _, s in srv.requests] == [429, 200] and 1.0 <= t[1] - t[0] < 30


def test_silent_server_hits_the_read_timeout(src, tmp_path):
    with PolygonRestServer(src, faults=["hang"]) as srv:  # retried once: the second answers
        rows = ingest_polygon(Lake(tmp_path / "a"), _cfg(srv, read_timeout_s=0.3), KEY, ["SPY"],
                              D0, D0)
    assert rows == {"bars_1m": 510}
    with PolygonRestServer(src, faults=["hang"] * 3) as srv:
        with pytest.raises(PolygonError, match=r"gave up after 2 attempts, no answer within 0.3 s"):
            ingest_polygon(Lake(tmp_path / "b"), _cfg(srv, read_timeout_s=0.3, max_retries=1),
                           KEY, ["SPY"], D0, D0)
    assert [s for _, _, s in srv.requests] == [0, 0]


def test_bad_key_plan_and_unknown_ticker_are_one_line(src, tmp_path):
    with PolygonRestServer(src, entitled=("aggs", "reference")) as srv:
        cfg = _cfg(srv)
        with pytest.raises(PolygonError) as bad_key:
            ingest_polygon(Lake(tmp_path), cfg, "wrong-key", ["SPY"], D0, D0)
        with pytest.raises(PolygonError) as plan:
            ingest_polygon(Lake(tmp_path), cfg, KEY, ["SPY"], D0, D0, kind="trades")
        with pytest.raises(PolygonError) as unknown:
            ingest_polygon(Lake(tmp_path), cfg, KEY, ["ZZZZ"], D0, D1)
    assert str(bad_key.value) == ("polygon: API key rejected (HTTP 401: Unknown API Key); "
                                  "check POLYGON_API_KEY / MASSIVE_API_KEY")
    assert str(plan.value) == ("polygon: trades SPY 2024-01-02: your plan does not include "
                               "this data (HTTP 403: You are not entitled to this data. Please "
                               "upgrade your plan at https://massive.com/pricing)")
    assert str(unknown.value) == ("polygon: unknown ticker 'ZZZZ' (no reference data for it on "
                                  "2024-01-02)")
    # an empty first window costs one reference lookup, which decides
    assert [p.split("?")[0] for _, p, _ in srv.requests[-2:]] == [
        "/v2/aggs/ticker/ZZZZ/range/1/minute/2024-01-02/2024-01-12",
        "/v3/reference/tickers/ZZZZ"]


def test_trades_and_quotes_keep_ns_and_polygon_ids(src, tmp_path):
    dest = Lake(tmp_path)
    with PolygonRestServer(src, page_cap=128) as srv:
        for kind in ("trades", "quotes"):
            assert ingest_polygon(dest, _cfg(srv), KEY, ["SPY"], D0, D1, kind=kind) == {kind: 300}
    assert dest.trades("SPY").equals(src.trades("SPY"))  # exchange "11", conditions "12,37"
    assert dest.quotes("SPY").equals(src.quotes("SPY"))
    pages = [p for _, p, _ in srv.requests if p.startswith("/v3/trades/SPY")]
    assert len(pages) == 9 + 2  # one request per session, the first day paged 128+128+44


def test_token_bucket_holds_five_per_minute_with_a_fake_clock():
    now, naps = [0.0], []

    def sleep(s):
        naps.append(s)
        now[0] += s

    bucket = TokenBucket(5, clock=lambda: now[0], sleep=sleep)
    stamps = []
    for _ in range(11):
        bucket.acquire()
        stamps.append(now[0])
    assert stamps == pytest.approx([12.0 * k for k in range(11)])
    t = np.array(stamps)
    assert max(np.sum((t >= s) & (t < s + 60)) for s in t) == 5  # any 60 s window


def test_client_requests_are_paced_by_the_bucket(src, tmp_path):
    now = [0.0]
    bucket = TokenBucket(5, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    with PolygonRestServer(src, page_cap=200, faults=[503]) as srv:
        cfg = _cfg(srv, requests_per_minute=5)
        ingest_polygon(Lake(tmp_path), cfg, KEY, ["SPY"], D0, D0,
                       client=make_client(cfg, KEY, bucket))
    # 510 bars in pages of 200 = 3 requests, plus one retried 503: 4 tokens, 3 waits of 12 s
    assert len(srv.requests) == 4 and now[0] == pytest.approx(36.0)


def test_same_bars_land_identically_through_alpaca_and_polygon(src, tmp_path):
    from framework.data.settings import AlpacaConfig
    from framework.data.sources.alpaca_source import ingest_alpaca
    from live.simulator.data_rest import DataRestServer

    via_a, via_p = Lake(tmp_path / "alpaca"), Lake(tmp_path / "polygon")
    syms = ["SPY", "QQQ"]
    with DataRestServer(src) as a, PolygonRestServer(src, page_cap=700) as p:
        acfg = AlpacaConfig(base_url=a.url, requests_per_minute=600_000)
        for tf in ("1m", "1d"):
            ingest_alpaca(via_a, acfg, "k", "s", syms, D0, D1, "bars", tf)
            ingest_polygon(via_p, _cfg(p), KEY, syms, D0, D1, "bars", tf)
    for tf in ("1m", "1d"):
        got = via_p.bars(syms, timeframe=tf)
        assert got.equals(via_a.bars(syms, timeframe=tf))
        assert got.equals(src.bars(syms, timeframe=tf))


def _daily_lake(root, closes: list[float], start=dt.date(2024, 3, 4)) -> tuple[Lake, list]:
    dates, opens, _ = sessions(start, start + dt.timedelta(days=3 * len(closes)))
    c = np.array(closes)
    lake = Lake(root)
    lake.write("bars_1d", "XYZ", pl.DataFrame({
        "ts": opens[: len(c)], "open": c, "high": c + 1, "low": c - 1, "close": c,
        "volume": 1000.0, "vwap": c, "n": 10}), "test")
    return lake, dates[: len(c)]


def test_daily_split_and_dividend_factors_by_hand(tmp_path):
    # raw closes; a 2-for-1 split at the open of session 3, $1 dividend ex session 5
    lake, d = _daily_lake(tmp_path / "src", [100.0, 102.0, 51.0, 50.0, 49.0, 49.5])
    splits = {"XYZ": [(d[2], 1, 2)]}
    divs = {"XYZ": [(d[4], 1.0)]}
    out = {}
    for adjusted in (False, True):
        with PolygonRestServer(lake, splits=splits, dividends=divs) as srv:
            dest = Lake(tmp_path / f"adj{adjusted}")
            ingest_polygon(dest, _cfg(srv, adjusted=adjusted), KEY, ["XYZ"], d[1], d[5],
                           timeframe="1d")
        out[adjusted] = dest.bars("XYZ", timeframe="1d")
    raw, adj = out[False], out[True]
    k = 1 - 1.0 / 50.0  # the dividend over the close of the session before its ex-date
    assert raw["close"].to_list() == [102.0, 51.0, 50.0, 49.0, 49.5]  # from d[1]: d[0] not kept
    assert raw["split_factor"].to_list() == [1.0, 2.0, 1.0, 1.0, 1.0]
    assert raw["dividend"].to_list() == [0.0, 0.0, 0.0, 1.0, 0.0]
    assert raw["adj_factor"].to_list() == pytest.approx([0.5 * k, k, k, 1.0, 1.0])
    # split-adjusted by the vendor: prices halved before the split, factor = dividends only
    assert adj["close"].to_list() == pytest.approx([51.0, 51.0, 50.0, 49.0, 49.5])
    assert adj["volume"].to_list() == pytest.approx([2000.0, 1000.0, 1000.0, 1000.0, 1000.0])
    assert adj["adj_factor"].to_list() == pytest.approx([k, k, k, 1.0, 1.0])
    assert adj["split_factor"].to_list() == raw["split_factor"].to_list()
    assert np.allclose(raw["close"] * raw["adj_factor"], adj["close"] * adj["adj_factor"])


def test_daily_factors_match_quandl_adjusted_close(shared_data, tmp_path):
    """AAPL 2014 (7:1 split on 2014-06-09, four dividends) served raw; our adj_factor,
    normalised to the last day, equals Quandl WIKI's adj_close / close."""
    import zipfile

    with zipfile.ZipFile(shared_data / "daily/zipline/quandl_samples/QUANDL_ARCHIVE.zip") as z:
        q = pl.read_csv(z.read("QUANDL_SAMPLE_TABLE.csv")).filter(pl.col("ticker") == "AAPL")
    q = q.with_columns(pl.col("date").str.to_date()).sort("date")
    dates, opens, _ = sessions(q["date"][0], q["date"][-1])
    assert dates == q["date"].to_list()
    lake = Lake(tmp_path / "src")
    lake.write("bars_1d", "AAPL", q.select(
        pl.Series("ts", opens), "open", "high", "low", "close", "volume", vwap="close",
        n=pl.lit(1)), "quandl")
    splits = {"AAPL": [(r["date"], 1, r["split_ratio"])
                       for r in q.filter(pl.col("split_ratio") != 1).iter_rows(named=True)]}
    divs = {"AAPL": [(r["date"], r["ex-dividend"])
                     for r in q.filter(pl.col("ex-dividend") > 0).iter_rows(named=True)]}
    assert len(splits["AAPL"]) == 1 and len(divs["AAPL"]) == 4
    with PolygonRestServer(lake, splits=splits, dividends=divs) as srv:
        dest = Lake(tmp_path / "dest")
        ingest_polygon(dest, _cfg(srv), KEY, ["AAPL"], dates[0], dates[-1], timeframe="1d")
    got = dest.bars("AAPL", timeframe="1d")["adj_factor"].to_numpy()
    ref = (q["adj_close"] / q["close"]).to_numpy()
    # the factor steps on the same days (the day before each ex-date / split), and its
    # values agree within Quandl's own rounding: its dividend steps differ from
    # 1 - cash / previous close by up to 4e-5 (a missed dividend would be ~6e-3)
    steps = np.flatnonzero(np.abs(np.diff(got)) > 1e-12)
    assert np.array_equal(steps, np.flatnonzero(np.abs(np.diff(ref / ref[-1])) > 1e-9))
    assert len(steps) == 5
    assert np.allclose(got / got[-1], ref / ref[-1], rtol=1e-4, atol=0)
    assert got[0] / got[-1] < 1 / 7  # the split and the dividends both count


def test_killed_ingest_resumes_after_the_last_complete_window(src, tmp_path):
    """A real ``fw data ingest`` process is SIGKILLed while it waits on its 4th window;
    the rerun starts at that window and the lake ends equal to the source."""
    lake_dir, cfg_file = tmp_path / "lake", tmp_path / "data.toml"
    windows = [(dt.date(2024, 1, 2), dt.date(2024, 1, 3)), (dt.date(2024, 1, 4), dt.date(2024, 1, 5)),
               (dt.date(2024, 1, 8), dt.date(2024, 1, 9)), (dt.date(2024, 1, 10), dt.date(2024, 1, 11))]
    with PolygonRestServer(src, faults=[None, None, None, "hang"]) as srv:
        cfg_file.write_text(f'[polygon]\nbase_url = "{srv.url}"\nrequests_per_minute = 600000.0\n'
                            'minute_chunk_sessions = 2\n')
        env = {**os.environ, "POLYGON_API_KEY": KEY}
        child = subprocess.Popen(
            [sys.executable, "-c", "from framework.cli.app import main; main()", "data", "ingest",
             "--source", "polygon", "--symbols", "SPY", "--start", str(D0), "--end", str(D1),
             "--config", str(cfg_file), "--lake", str(lake_dir)],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert srv.hanging.wait(120), child.communicate(timeout=5)[0]
        finally:
            os.kill(child.pid, signal.SIGKILL)
            out = child.communicate()[0]
        assert child.returncode == -signal.SIGKILL
    assert "2024-01-08..2024-01-09: 1,020 rows" in out and KEY not in out
    lake = Lake(lake_dir)
    ck = IngestCheckpoint(lake.root, "polygon", "bars_1m", "SPY", {"adjusted": False})
    assert ck.resume_after(D0) == windows[2][1]
    assert lake.bars("SPY").equals(src.bars("SPY", D0, windows[2][1]))

    lines: list[str] = []
    with PolygonRestServer(src) as srv:
        cfg = _cfg(srv, minute_chunk_sessions=2)
        rows = ingest_polygon(lake, cfg, KEY, ["SPY"], D0, D1, report=lines.append)
    assert lines[0] == "polygon SPY bars_1m: resuming after 2024-01-09"
    assert srv.requests[0][1].startswith("/v2/aggs/ticker/SPY/range/1/minute/2024-01-10/2024-01-11")
    assert len(srv.requests) == 2 and rows == {"bars_1m": 3 * 510}
    assert lake.bars("SPY").equals(src.bars("SPY"))  # nothing duplicated, nothing missing
    assert ck.resume_after(D0) is None


def test_window_written_but_not_recorded_is_refetched_without_duplicates(src, tmp_path,
                                                                         monkeypatch):
    """Fault injection: the process dies after the lake write of window 2, before its
    checkpoint; the rerun fetches window 2 again and the day-replace keeps one copy."""
    saves = []

    def dying_save(self, start, through):
        saves.append(through)
        if len(saves) == 2:
            raise KeyboardInterrupt("killed")
        real_save(self, start, through)

    real_save = IngestCheckpoint.save
    lake = Lake(tmp_path / "lake")
    with PolygonRestServer(src) as srv:
        cfg = _cfg(srv, minute_chunk_sessions=3)
        monkeypatch.setattr(IngestCheckpoint, "save", dying_save)
        with pytest.raises(KeyboardInterrupt):
            ingest_polygon(lake, cfg, KEY, ["QQQ"], D0, D1)
        monkeypatch.setattr(IngestCheckpoint, "save", real_save)
        assert lake.bars("QQQ").height == 6 * 510  # window 2 is in the lake, unrecorded
        ingest_polygon(lake, cfg, KEY, ["QQQ"], D0, D1)
    assert [p.split("?")[0].rsplit("/", 2)[1] for _, p, _ in srv.requests[2:]] == [
        "2024-01-05", "2024-01-10"]
    assert lake.bars("QQQ").equals(src.bars("QQQ"))


def test_cli_key_from_dotenv_is_never_printed(src, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from framework.cli import data_cmd

    for var in ("POLYGON_API_KEY", "MASSIVE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    args = ["ingest", "--source", "polygon", "--symbols", "SPY,QQQ", "--start", "2024-01-02",
            "--end", "2024-01-03", "--timeframe", "1d", "--lake", str(tmp_path / "lake")]
    with PolygonRestServer(src, faults=[429]) as srv:
        (tmp_path / "data.toml").write_text(
            f'[polygon]\nbase_url = "{srv.url}"\nrequests_per_minute = 600000.0\n'
            'backoff_s = 0.01\n')
        args += ["--config", str(tmp_path / "data.toml")]
        missing = CliRunner().invoke(data_cmd.app, args)
        (tmp_path / ".env").write_text(f"MASSIVE_API_KEY={KEY}\n")
        r = CliRunner().invoke(data_cmd.app, args)
    assert "'POLYGON_API_KEY' (or 'MASSIVE_API_KEY') is not set" in str(missing.exception)
    assert r.exit_code == 0, r.output
    assert "bars_1d 4 rows" in r.output and KEY not in r.output
    assert Lake(tmp_path / "lake").bars("QQQ", timeframe="1d")["close"].to_list() == [401.0, 402.0]

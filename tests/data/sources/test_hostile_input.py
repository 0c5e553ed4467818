"""Hostile input through every source: nothing stored wrong, every refusal names the file,
line (or row), column and cause; absurd magnitudes are held for review, not written.

Each case was accepted (or crashed) before the hardening of issue 21."""

from __future__ import annotations

import datetime as dt
import json
import math
import struct

import numpy as np
import polars as pl
import pytest

from framework.data import DataError, Lake
from framework.data.review import REVIEW_DIR, held
from framework.data.settings import AlpacaConfig, CsvMapping, YFinanceConfig
from framework.data.sources.alpaca_source import ingest_alpaca
from framework.data.sources.csv_source import read_csv
from framework.data.sources.itch import book_events, decode_itch
from framework.data.sources.lobster import load_lobster
from framework.data.sources.yfinance_source import ingest_yfinance
from framework.marketdata.book.prints import write_book_data
from live.simulator.data_rest import DataRestServer
from tests.data.lake_testkit import minute_bars
from tests.data.sources.yahoo_chart_server import YahooChartServer

HEADER = "time,o,h,l,c,v\n"
ROW2 = "2024-01-02 09:30,10,11,9,10.5,100\n"
ROW3 = "2024-01-02 09:31,10.5,11,10,10.8,200\n"
MAPPING = CsvMapping(dataset="bars_1m", timestamp="time", timestamp_format="%Y-%m-%d %H:%M",
                     columns={"open": "o", "high": "h", "low": "l", "close": "c", "volume": "v"})


def _parquet(lake: Lake) -> list:
    return sorted(lake.root.rglob("*.parquet")) if lake.root.exists() else []


def _csv_write(tmp_path, lake: Lake, text: str) -> None:
    f = tmp_path / "in.csv"
    f.write_text(text)
    lake.write("bars_1m", "X", read_csv(f, MAPPING), "csv", origin=str(f))


@pytest.mark.parametrize("text, needle", [
    # a year past 2262 overflowed int64 ns and was stored as 1816 (verify said nothing)
    (HEADER + ROW2 + ROW3.replace("2024-01-02", "9999-12-31"),
     "line 3, column 'time': '9999-12-31 09:31' is outside 1900-01-01 .. 2100-01-01"),
    (HEADER + ROW2.replace(",10.5,", ",inf,").replace(",11,", ",inf,"),
     "non_finite_price: line 2, column 'high'"),
    (HEADER + ROW2 + ROW3.replace(",10.8,", ",inf,").replace(",11,", ",inf,"),
     "non_finite_price: line 3, column 'high'"),
    (HEADER + ROW2 + ROW3.replace(",200", ",NaN"), "bad_size: line 3, column 'volume'"),
    (HEADER + ROW2.replace(",100", ",inf") + ROW3, "bad_size: line 2, column 'volume'"),
    (HEADER + ROW3 + ROW2.replace(",9,", ",-9,"), "non_positive_price: line 3, column 'low'"),
])
def test_csv_non_finite_and_out_of_range_rejected_at_the_files_line(tmp_path, lake, text,
                                                                     needle):
    """Rows are sorted by time before the checks; the message still names the file line."""
    with pytest.raises(DataError) as err:
        _csv_write(tmp_path, lake, text)
    assert needle in str(err.value) and "in.csv" in str(err.value)
    assert _parquet(lake) == []


def test_absurd_magnitude_is_held_for_review_then_accepted_or_dropped(tmp_path, lake):
    big = HEADER + ROW2 + "2024-01-02 09:31,10.5,1e300,10,1e300,200\n"
    with pytest.raises(DataError, match=r"held for review, nothing written") as err:
        _csv_write(tmp_path, lake, big)
    msg = str(err.value)
    assert "absurd_price: line 3, column 'high'" in msg and "fw data review accept" in msg
    assert _parquet(lake) == [] or all(REVIEW_DIR in p.parts for p in _parquet(lake))
    (item,) = held(lake.root)
    assert (item["dataset"], item["symbol"], item["rows"]) == ("bars_1m", "X", 2)
    rep = lake.review_accept(item["id"])  # a person looked and says it is right
    assert rep.rows == 2 and lake.bars("X")["close"][1] == 1e300 and held(lake.root) == []
    # a tiny positive price is absurd too; drop discards the hold
    with pytest.raises(DataError, match="held for review"):
        _csv_write(tmp_path, lake, HEADER + ROW2.replace("10,11,9,10.5", "1e-9,1e-9,1e-9,1e-9"))
    from framework.data.review import drop

    drop(lake.root, held(lake.root)[0]["id"])
    assert held(lake.root) == [] and lake.bars("X").height == 2


def test_timestamps_outside_the_sane_range_are_a_hard_check(lake):
    """What the old CSV path stored for 9999-12-31: int64 ns wrapped to 1816."""
    frame = minute_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 2)).head(3)
    wrapped = frame.with_columns(pl.Series("ts", [frame["ts"][0], -4852168431933722624,
                                                  frame["ts"][2]]))
    with pytest.raises(DataError, match=r"ts_out_of_range: row 1, column 'ts'.*1816-03-29"):
        lake.write("bars_1m", "X", wrapped, "t")
    assert _parquet(lake) == []


def _lobster(tmp_path, rows: list[str]):
    f = tmp_path / "AMZN_message.csv"
    f.write_text("".join(r + "\n" for r in rows))
    return load_lobster(f, None, "AMZN", dt.date(2012, 6, 21))


@pytest.mark.parametrize("bad, needle", [
    ("34200.2,1,6,nan,2238100,1", "line 2: Size must be a finite number"),
    ("34200.2,1,6,inf,2238100,1", "line 2: Size must be a finite number"),
    ("34200.2,1,6,100,0,1", "line 2: Price must be > 0 for types 1-6"),
    ("34200.2,4,5,100,-5,1", "line 2: Price must be > 0 for types 1-6"),
    ("34200.2,1,6,100,9223372036854775808,1",
     "line 2: price '9223372036854775808' is not an integer that fits Int64"),
    ("34200.2,7,0,0,2,1", "line 2: Price of a halt (type 7) must be -1, 0 or 1"),
])
def test_lobster_bad_sizes_and_prices_name_the_line(tmp_path, bad, needle):
    with pytest.raises(DataError) as err:
        _lobster(tmp_path, ["34200.1,1,5,100,2238100,1", bad])
    assert needle in str(err.value) and "AMZN_message.csv" in str(err.value)
    assert "\n" not in str(err.value)


def test_book_events_hard_checks_cover_every_book_source(lake):
    """The lake's own rule for book_events (what a LOBSTER, ITCH or synthetic flow
    writes): finite prices, a price > 0 on adds, finite non-negative sizes."""
    ts = 1_340_285_400_000_000_000 + np.arange(3, dtype=np.int64)
    ev = pl.DataFrame({"ts": ts, "local_ts": ts, "kind": np.array([1, 1, 3], np.int8),
                       "side": np.array([1, -1, 1], np.int8), "order_id": [1, 2, 1],
                       "price": [10.0, 10.1, 0.0], "size": [100.0, 100.0, 0.0],
                       "new_order_id": 0})
    assert lake.write("book_events", "AMZN", ev, "t").rows == 3  # a delete may carry price 0
    for col, value, needle in [("price", math.inf, "non_finite_price: row 1"),
                               ("price", 0.0, "non_positive_price: row 1"),
                               ("size", math.nan, "bad_size: row 1"),
                               ("size", -5.0, "negative_size: row 1")]:
        bad = ev.with_columns(pl.when(pl.int_range(3) == 1).then(value).otherwise(pl.col(col))
                              .alias(col))
        with pytest.raises(DataError, match=needle):
            lake.write("book_events", "BAD", bad, "t")
    assert lake.symbols("book_events") == ["AMZN"]


def test_a_halt_keeps_its_state_code_in_1e4_usd_units(lake):
    """Both L3 sources store a halt's state (-1 halted, 0 quoting, 1 trading) as price
    x 1e-4 USD (the book replays ``rint(price * 1e4)``): those three are accepted, a halt
    with any other price is refused (the ITCH sample's trading-resumed halt was refused
    when the check read the code in USD)."""
    ts = 1_340_285_400_000_000_000 + np.arange(3, dtype=np.int64)
    ev = pl.DataFrame({"ts": ts, "local_ts": ts, "kind": np.array([7, 7, 7], np.int8),
                       "side": np.zeros(3, np.int8), "order_id": [0, 0, 0],
                       "price": [-0.0001, 0.0, 0.0001], "size": [0.0, 0.0, 0.0],
                       "new_order_id": 0})
    assert lake.write("book_events", "AMZN", ev, "t").rows == 3
    for value in (1.0, 0.0002, -0.5):
        bad = ev.with_columns(pl.when(pl.int_range(3) == 1).then(value)
                              .otherwise(pl.col("price")).alias("price"))
        with pytest.raises(DataError, match="non_positive_price: row 1"):
            lake.write("book_events", "BAD", bad, "t")


def test_itch_add_at_price_zero_writes_nothing(lake):
    from tests.data.sources.test_itch import STOCK, VECTORS, frame, header

    zero = header(b"A") + struct.pack(">QcI8sI", 1002, b"S", 100, STOCK, 0)  # price 0
    dec = decode_itch(frame(VECTORS["R"]) + frame(VECTORS["A"]) + frame(zero))
    ev = book_events(dec, dt.date(2020, 1, 30), "ZVZZT")
    assert ev["price"].to_list() == [123.45, 0.0]
    with lake.transaction("itch"), pytest.raises(DataError, match="non_positive_price: row 1"):
        write_book_data(lake, "ZVZZT", ev, "itch", origin="itch.bin")
    assert _parquet(lake) == []


@pytest.fixture(scope="module")
def src_lake(tmp_path_factory) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("src"))
    lake.write("bars_1m", "SPY", minute_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 3)), "t")
    dates = [dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 4)]
    from framework.data.calendar import sessions

    _, opens, _ = sessions(dates[0], dates[-1])
    lake.write("bars_1d", "SPY", pl.DataFrame({"ts": opens, "open": 470.0, "high": 472.0,
                                               "low": 469.0, "close": 471.0, "volume": 1e6}),
               "t")
    return lake


@pytest.mark.parametrize("field, value, needle", [
    ("c", math.inf, "non_finite_price"), ("v", math.nan, "bad_size"),
    ("h", 1e300, "held for review"),
])
def test_alpaca_non_finite_and_absurd_values(src_lake, tmp_path, field, value, needle):
    def edit(sym, item):
        if item["t"].startswith("2024-01-03T15:00"):
            item = item | {field: value} | ({"h": max(value, item["h"])} if field == "c" else {})
        return item

    with DataRestServer(src_lake, edit=edit) as srv:
        cfg = AlpacaConfig(base_url=srv.url, requests_per_minute=60_000)
        dest = Lake(tmp_path / "dest")
        with pytest.raises(DataError, match=needle) as err:
            ingest_alpaca(dest, cfg, "k", "s", ["SPY"], dt.date(2024, 1, 2), dt.date(2024, 1, 3))
    assert "alpaca:SPY" in str(err.value)
    assert not (dest.root / "bars_1m").exists()


@pytest.fixture(autouse=True)
def _yf_cache(tmp_path):
    import yfinance as yf

    yf.set_tz_cache_location(str(tmp_path / "yf-cache"))


@pytest.mark.parametrize("k, field, value, needle", [
    (0, "close", 1e300, "held for review"), (1, "high", math.inf, "non_finite_price"),
    (2, "volume", -5, "negative_size"),
])
def test_yfinance_non_finite_and_absurd_values(src_lake, tmp_path, k, field, value, needle):
    def edit(sym, quote):
        quote = json.loads(json.dumps(quote))
        quote[field][1] = value
        if field == "close":
            quote["high"][1] = value
        return quote

    with YahooChartServer(src_lake, edit=edit) as srv:
        dest = Lake(tmp_path / "dest")
        with pytest.raises(DataError, match=needle) as err:
            # a different start per case: yfinance caches answers by URL in-process
            ingest_yfinance(dest, YFinanceConfig(base_url=srv.url), ["SPY"],
                            dt.date(2024, 1, 2) - dt.timedelta(days=k), dt.date(2024, 1, 4), "1d")
    assert "yfinance:SPY" in str(err.value)
    assert not (dest.root / "bars_1d").exists()

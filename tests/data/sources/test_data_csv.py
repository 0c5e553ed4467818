"""CSV import with a TOML column mapping, on real vendor files and on broken inputs."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from framework.config import ConfigError
from framework.data import DataError
from framework.data.settings import CsvMapping, DataConfig, load_data_config
from framework.data.sources.csv_source import read_csv

CFG = load_data_config("config/data.toml")


def test_spy_month_ingests_and_verify_flags_real_bad_prints(lake, shared_data):
    path = shared_data / "intraday" / "spy_1min_2025-07" / "SPY_1min.csv"
    # the shipped mapping keeps the regular session: 20 x 390 minutes + the 07-03 half day
    assert read_csv(path, CFG.csv["spy_1min"]).height == 20 * 390 + 210
    frame = read_csv(path, CFG.csv["spy_1min"], session="extended")
    # 19,953 rows 04:00-20:00; the 21 bars stamped 20:00 start after the post-market
    assert frame.height == 19953 - 21 and frame["ts"].is_sorted()
    # 2025-07-01 04:00 New York (EDT) is 08:00 UTC
    assert frame["ts"][0] == int(dt.datetime(2025, 7, 1, 8, 0, tzinfo=dt.UTC).timestamp()) * 10**9
    rep = lake.write("bars_1m", "SPY", frame, "csv", origin=str(path))
    assert len(rep.partitions) == 21
    (v,) = lake.verify(["bars_1m"])
    assert not v.hard
    outliers = [f for f in v.findings if f.check == "outlier"]
    flagged = {round(frame[c][f.row], 4) for f in outliers for c in (f.column,)}
    assert {580.397, 564.5945} <= flagged  # the post-market bad prints SOURCES.md names


def test_eqker_end_labels_newest_first_and_gaps(lake, shared_data):
    path = shared_data / "intraday" / "eqker" / "QQQ_1min.csv"
    frame = read_csv(path, CFG.csv["eqker"])
    assert frame["ts"].is_sorted()
    first = dt.datetime(2019, 2, 11, 14, 30, tzinfo=dt.UTC)  # 09:31 end label -> 09:30 start
    assert frame["ts"][0] == int(first.timestamp()) * 10**9
    lake.write("bars_1m", "QQQ", frame, "csv")
    (v,) = lake.verify(["bars_1m"])
    gap = [f for f in v.findings if f.check == "calendar_gap"]
    assert gap and gap[0].message.startswith("2 regular-session minute(s) missing: 2019-02-14")


def _mapping(**kw) -> CsvMapping:
    base = dict(dataset="bars_1m", timestamp="time", timestamp_format="%Y-%m-%d %H:%M",
                columns={"open": "o", "high": "h", "low": "l", "close": "c", "volume": "v"})
    return CsvMapping(**(base | kw))


GOOD = "time,o,h,l,c,v\n2024-01-02 09:30,10,11,9,10.5,100\n2024-01-02 09:31,10.5,11,10,10.8,200\n"


def test_bad_csv_paths_name_file_and_write_nothing(tmp_path, lake):
    f = tmp_path / "x.csv"
    f.write_text(GOOD)
    assert read_csv(f, _mapping()).height == 2
    cases = [
        (GOOD.replace("o,h", "open,h"), _mapping(), "lacks column(s) named in"),
        (GOOD.replace("2024-01-02 09:31", "yesterday"), _mapping(), "line 3, column 'time'"),
        ("", _mapping(), "not a readable CSV"),
        (GOOD, _mapping(columns={"opn": "o"}), "key 'columns.opn'"),
    ]
    for text, m, needle in cases:
        f.write_text(text)
        with pytest.raises(DataError) as err:
            lake.write("bars_1m", "X", read_csv(f, m, "data.toml [csv.x]"), "csv", origin=str(f))
        assert needle in str(err.value), str(err.value)
    with pytest.raises(DataError, match="file not found"):
        read_csv(tmp_path / "missing.csv", _mapping())
    # parses, but the hard checks reject it: high below close
    f.write_text(GOOD.replace("10,11,9,10.5", "10,10.2,9,10.5"))
    with pytest.raises(DataError, match=r"x.csv: bars_1m rejected, nothing written"):
        lake.write("bars_1m", "X", read_csv(f, _mapping()), "csv", origin=str(f))
    assert not lake.root.exists() or not list(lake.root.rglob("*.parquet"))


def test_bad_toml_mapping_key_names_file_and_key(tmp_path):
    p = tmp_path / "data.toml"
    p.write_text('[csv.spy]\ntimestamp = "t"\ntimezon = "UTC"\ncolumns = { open = "o" }\n')
    with pytest.raises(ConfigError) as err:
        load_data_config(p)
    assert str(p) in str(err.value) and "csv.spy.timezon" in str(err.value)
    p.write_text('[synthetic]\nseed = "x"\n')
    with pytest.raises(ConfigError, match="synthetic.seed"):
        load_data_config(p)
    assert isinstance(DataConfig(), DataConfig)


def test_timezone_handling(tmp_path):
    f = tmp_path / "utc.csv"
    f.write_text("time,o,h,l,c,v\n2024-07-01T13:30:00Z,1,1,1,1,1\n")
    fr = read_csv(f, _mapping(timestamp_format=None))
    assert fr["ts"][0] == int(dt.datetime(2024, 7, 1, 13, 30, tzinfo=dt.UTC).timestamp()) * 10**9
    f.write_text(GOOD)
    fr = read_csv(f, _mapping(timezone="UTC", session="regular"))
    assert fr.height == 0  # 09:30 UTC is before the New York open
    fr = read_csv(f, _mapping(session="regular"))
    assert fr.height == 2 and isinstance(fr, pl.DataFrame)

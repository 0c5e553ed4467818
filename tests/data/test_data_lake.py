"""Lake writes and reads: round trip, idempotency, catalog, pushdown, bad input."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from framework.data import DataError, Lake
from framework.data.catalog import partitions


def _files(lake: Lake) -> list:
    return sorted(lake.root.rglob("*.parquet"))


def test_round_trip_layout_and_catalog(lake, make_bars):
    bars = make_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 5))
    rep = lake.write("bars_1m", "spy", bars, "test")
    assert rep.rows == bars.height and len(rep.partitions) == 4
    p = lake.root / "bars_1m" / "symbol=SPY" / "date=2024-01-03" / "part.parquet"
    assert p.is_file()
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(p).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    back = lake.bars("SPY")
    assert back.columns == ["symbol", "ts", "open", "high", "low", "close", "volume", "vwap", "n"]
    assert back.drop("symbol").equals(bars)
    cat = lake.catalog()
    row = cat.row(0, named=True)
    assert (row["symbol"], row["dataset"], row["source"], row["rows"]) == ("SPY", "bars_1m",
                                                                           "test", bars.height)
    assert row["first_ts"] == bars["ts"][0] and row["last_ts"] == bars["ts"][-1]
    assert row["schema_version"] == 1 and len(row["fingerprint"]) == 64
    import duckdb

    con = duckdb.connect(str(lake.root / "catalog.duckdb"), read_only=True)
    n = con.execute("SELECT count(*) FROM bars_1m WHERE symbol = 'SPY' "
                    "AND date = DATE '2024-01-03'").fetchone()[0]
    con.close()
    assert n == 390


def test_idempotent_reingest_and_partial_overlap(lake, make_bars):
    bars = make_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 3))
    lake.write("bars_1m", "SPY", bars, "test")
    fp1 = lake.fingerprint("bars_1m", "SPY")
    lake.write("bars_1m", "SPY", bars, "test")
    assert lake.fingerprint("bars_1m", "SPY") == fp1
    assert lake.bars("SPY").drop("symbol").equals(bars)
    # a later re-ingest of the middle of a day replaces only that span
    mid = bars.slice(100, 50).with_columns(pl.col("volume") + 1)
    lake.write("bars_1m", "SPY", mid, "test")
    back = lake.bars("SPY")
    assert back.height == bars.height and back["ts"].is_unique().all()
    assert (back["volume"] - bars["volume"]).sum() == 50
    assert lake.catalog()["rows"][0] == bars.height


def test_time_bounds_and_multi_symbol_sort(lake, make_bars):
    a = make_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 4), seed=1)
    b = make_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 4), p0=50, seed=2)
    lake.write("bars_1m", "AAA", a, "t")
    lake.write("bars_1m", "BBB", b, "t")
    day = lake.bars(["BBB", "AAA"], "2024-01-03", "2024-01-03")
    assert day.height == 780
    assert day["symbol"].to_list()[:2] == ["AAA", "BBB"]
    assert (day["ts"].diff().drop_nulls() >= 0).all()
    t0 = int(a["ts"][400])
    sub = lake.bars("AAA", t0, dt.datetime.fromtimestamp((t0 + 600e9) / 1e9, dt.UTC))
    assert sub.height == 10 and sub["ts"][0] == t0
    assert lake.bars("AAA", "2024-02-01").height == 0
    assert lake.bars("ZZZ").height == 0


def test_one_symbol_day_touches_only_its_partition(lake, make_bars):
    lake.write("bars_1m", "SPY", make_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 12)), "t")
    lake.write("bars_1m", "QQQ", make_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 12)), "t")
    target = lake.root / "bars_1m" / "symbol=SPY" / "date=2024-01-08" / "part.parquet"
    # make every other file unreadable: a read that opened one of them would fail
    for p in _files(lake):
        if p != target:
            p.write_bytes(b"not parquet")
    df = lake.bars("SPY", "2024-01-08", "2024-01-08")
    assert df.height == 390
    bad = lake.root / "bars_1m" / "symbol=SPY" / "date=2024-01-09" / "part.parquet"
    with pytest.raises(DataError, match="not a readable Parquet file") as err:
        lake.bars("SPY", "2024-01-09", "2024-01-09")  # the corrupted files really are unreadable
    assert str(err.value).startswith(f"{bad}: ")


@pytest.mark.parametrize(
    "dataset, change, needle",
    [
        ("bars_1m", lambda f: f.drop("close"), "lacks required column(s) close"),
        ("bars_1m", lambda f: f.with_columns(pl.when(pl.int_range(pl.len()) == 7).then(-1.0)
                                             .otherwise(pl.col("low")).alias("low")),
         "row 7, column 'low'"),
        ("bars_1m", lambda f: f.with_columns(pl.when(pl.int_range(pl.len()) == 3)
                                             .then(pl.col("low") - 5).otherwise(pl.col("high"))
                                             .alias("high")), "ohlc_inconsistent: row 3"),
        ("bars_1m", lambda f: pl.concat([f, f.slice(10, 1)]), "duplicate_ts"),
        ("bars_1m", lambda f: f.with_columns(pl.col("open").cast(pl.String)
                                             .replace({f["open"].cast(pl.String)[5]: "abc"})),
         "column 'open' row 5"),
    ],
)
def test_bad_input_rejected_nothing_written(lake, make_bars, dataset, change, needle):
    good = make_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 2))
    lake.write(dataset, "OK", good, "t")
    before = {p: p.read_bytes() for p in _files(lake)}
    with pytest.raises(DataError) as err:
        lake.write(dataset, "BAD", change(good), "t", origin="in.csv")
    assert "in.csv" in str(err.value) and needle in str(err.value)
    assert {p: p.read_bytes() for p in _files(lake)} == before
    assert lake.catalog()["symbol"].to_list() == ["OK"]


def test_crossed_and_negative_quotes_rejected(lake):
    ts = np.arange(5, dtype=np.int64) * 1_000_000 + 1_704_205_800_000_000_000
    q = pl.DataFrame({"ts": ts, "bid": [10.0, 10.0, 10.2, 10.0, 10.0],
                      "bid_size": 100.0, "ask": [10.1, 10.1, 10.1, 10.1, 10.1], "ask_size": 100.0})
    with pytest.raises(DataError, match=r"crossed_quote: row 2, column 'bid'"):
        lake.write("quotes", "SPY", q, "t")
    with pytest.raises(DataError, match=r"non_positive_price: row 0, column 'price'"):
        lake.write("trades", "SPY", pl.DataFrame({"ts": ts, "price": [0.0, 1, 1, 1, 1],
                                                  "size": 1.0}), "t")
    assert _files(lake) == []


def test_unknown_dataset_and_bad_symbol(lake, make_bars):
    with pytest.raises(DataError, match="unknown dataset 'bars_5m'"):
        lake.write("bars_5m", "SPY", make_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 2)), "t")
    with pytest.raises(DataError, match="invalid symbol"):
        lake.bars("../etc")
    with pytest.raises(DataError, match="unknown timeframe"):
        lake.bars("SPY", timeframe="5m")


def test_staging_leftovers_cleaned_and_catalog_rebuild(lake, make_bars):
    lake.write("bars_1m", "SPY", make_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 3)), "t")
    staging = lake.root / ".staging"
    (staging / "999999999-dead.parquet").write_bytes(b"partial")
    Lake(lake.root)
    assert list(staging.iterdir()) == []
    (lake.root / "catalog.duckdb").unlink()
    assert Lake(lake.root).rebuild_catalog() == 2
    assert lake.catalog()["rows"].to_list() == [780]
    assert partitions(lake.root)["source"].to_list() == ["unknown", "unknown"]


def test_verify_reports_gaps_and_outliers(lake, make_bars):
    bars = make_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 3))
    bad = bars.filter(pl.int_range(pl.len()) != 200).with_columns(
        pl.when(pl.int_range(pl.len()) == 300).then(pl.col("close") * 0.9)
        .otherwise(pl.col("low")).alias("low"))
    lake.write("bars_1m", "SPY", bad, "t")
    (rep,) = lake.verify(["bars_1m"])
    checks = {(f.check, f.column) for f in rep.findings}
    assert ("calendar_gap", "ts") in checks and ("outlier", "low") in checks
    assert not rep.hard
    gap = next(f for f in rep.findings if f.check == "calendar_gap")
    assert gap.message.startswith("1 regular-session minute(s) missing")

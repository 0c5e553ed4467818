"""The lake's files against its catalog: a truncated file or a flipped bit is named by
`fw data verify` (exit 1), by every read, and by a re-ingest; `fw data repair` moves the
damaged file to quarantine and rebuilds the catalog; `fw data delete` and `--dry-run`;
findings export and the per-ingest summary."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from typer.testing import CliRunner

from framework.cli import data_cmd
from framework.data import DataError, Lake
from framework.data.catalog import partitions
from framework.data.integrity import QUARANTINE_DIR

runner = CliRunner()
DAYS = (dt.date(2024, 1, 2), dt.date(2024, 1, 4))


def _part(lake: Lake, day: str, sym: str = "SPY") -> object:
    return lake.root / "bars_1m" / f"symbol={sym}" / f"date={day}" / "part.parquet"


@pytest.fixture
def three_days(lake, make_bars):
    bars = make_bars(*DAYS)
    lake.write("bars_1m", "SPY", bars, "csv")
    lake.write("bars_1m", "QQQ", make_bars(*DAYS, p0=400, seed=3), "csv")
    return lake, bars


def test_truncated_file_is_named_by_verify_reads_and_reingest(three_days):
    lake, bars = three_days
    bad = _part(lake, "2024-01-03")
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    (rep,) = lake.verify(["bars_1m"], ["SPY"])  # used to crash with a bare ComputeError
    (hard,) = rep.hard
    assert hard.check == "unreadable_file" and str(bad) in hard.message
    assert rep.rows == 2 * 390  # the intact days were still checked
    r = runner.invoke(data_cmd.app, ["verify", "--lake", str(lake.root)])
    assert r.exit_code == 1 and "unreadable_file" in r.output and "fw data repair" in r.output
    with pytest.raises(DataError, match=f"^{bad}: not a readable Parquet file"):
        lake.bars("SPY", "2024-01-02", "2024-01-04")
    with pytest.raises(DataError, match=f"^{bad}: not a readable Parquet file.*fw data repair"):
        lake.write("bars_1m", "SPY", bars, "csv")  # re-ingesting the day used to crash
    # repair: the damaged file goes to quarantine, the catalog is rebuilt, the day re-ingests
    rep = lake.repair()
    assert [p.check for p in rep.problems] == ["unreadable_file"] and rep.partitions == 5
    assert not bad.exists()
    moved = rep.quarantine / "bars_1m" / "symbol=SPY" / "date=2024-01-03" / "part.parquet"
    assert moved.is_file() and rep.quarantine.parent.name == QUARANTINE_DIR
    reasons = json.loads((rep.quarantine / "reasons.json").read_text())
    assert reasons[0]["check"] == "unreadable_file" and reasons[0]["source"] == "csv"
    assert not any(r.hard for r in lake.verify(["bars_1m"]))
    lake.write("bars_1m", "SPY", bars, "csv")
    assert lake.bars("SPY").drop("symbol").equals(bars)
    assert not any(r.hard for r in lake.verify(["bars_1m"]))


def _flip_until_data_changes(path) -> None:
    """Flip one bit in a data page so that the file still reads but a value changed (what
    a bad disk or copy does silently)."""
    raw = path.read_bytes()
    good = pl.read_parquet(path)
    for pos in range(len(raw) // 4, len(raw) // 2):
        b = bytearray(raw)
        b[pos] ^= 0x04
        path.write_bytes(bytes(b))
        try:
            changed = not pl.read_parquet(path).equals(good)
        except Exception:
            continue
        if changed:
            return
    raise AssertionError("no silent bit flip found")


def test_flipped_bit_is_a_hard_checksum_finding(three_days):
    lake, _ = three_days
    target = _part(lake, "2024-01-04", "QQQ")
    _flip_until_data_changes(target)
    lake.bars("QQQ")  # still reads: nothing but the checksum can tell
    (rep,) = lake.verify(["bars_1m"], ["QQQ"])
    (hard,) = rep.hard
    assert hard.check == "checksum_mismatch" and str(target) in hard.message
    r = runner.invoke(data_cmd.app, ["repair", "--lake", str(lake.root), "--dry-run"])
    assert r.exit_code == 0 and "quarantine: " in r.output and target.is_file()
    r = runner.invoke(data_cmd.app, ["repair", "--lake", str(lake.root)])
    assert r.exit_code == 0 and "re-ingest: bars_1m QQQ 2024-01-04 (source: csv)" in r.output
    assert not target.exists() and len(partitions(lake.root)) == 5
    assert runner.invoke(data_cmd.app, ["verify", "--lake", str(lake.root)]).exit_code == 0


def test_uncatalogued_and_missing_files_are_hard_and_repair_reindexes(three_days):
    lake, _ = three_days
    src = _part(lake, "2024-01-02")
    stray = _part(lake, "2024-01-02", "IWM")
    stray.parent.mkdir(parents=True)
    stray.write_bytes(src.read_bytes())
    _part(lake, "2024-01-04").unlink()
    checks = sorted(f.check for r in lake.verify(["bars_1m"]) for f in r.hard)
    assert checks == ["missing_file", "uncatalogued_file"]
    rep = lake.repair()
    assert rep.quarantine is None and rep.partitions == 6  # the stray is readable: indexed
    assert set(lake.catalog()["symbol"]) == {"SPY", "QQQ", "IWM"}
    assert not any(r.hard for r in lake.verify(["bars_1m"]))


def test_delete_with_dry_run(three_days):
    lake, _ = three_days
    args = ["delete", "--dataset", "bars_1m", "--symbols", "SPY", "--start", "2024-01-03",
            "--lake", str(lake.root)]
    before = sorted(lake.root.rglob("part.parquet"))
    r = runner.invoke(data_cmd.app, [*args, "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "would delete: bars_1m SPY 2024-01-03 (390 rows)" in r.output
    assert "would delete 2 partition(s), 780 rows; nothing changed" in r.output
    assert sorted(lake.root.rglob("part.parquet")) == before
    r = runner.invoke(data_cmd.app, args)
    assert r.exit_code == 0 and "deleted 2 partition(s), 780 rows" in r.output
    assert lake.bars("SPY")["ts"].max() < _first_ns("2024-01-03")
    cat = lake.catalog().filter(pl.col("symbol") == "SPY")
    assert cat["partitions"].to_list() == [1] and cat["rows"].to_list() == [390]
    assert lake.bars("QQQ").height == 3 * 390  # other symbols untouched
    assert not (lake.root / "bars_1m" / "symbol=SPY" / "date=2024-01-03").exists()
    lake.delete(["bars_1m"], ["SPY"])
    assert lake.symbols("bars_1m") == ["QQQ"] and "SPY" not in set(lake.catalog()["symbol"])
    with pytest.raises(DataError, match="whole session dates"):
        lake.delete(["bars_1m"], ["QQQ"], "2024-01-03T10:00:00")


def _first_ns(day: str) -> int:
    from framework.data.calendar import sessions

    return int(sessions(dt.date.fromisoformat(day), dt.date.fromisoformat(day))[1][0])


def test_verify_exports_findings_and_ingests_are_summarised(tmp_path, make_bars):
    lake = tmp_path / "lake"
    csv = tmp_path / "spy.csv"
    bars = make_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 2))
    spiky = bars.with_columns(pl.when(pl.int_range(pl.len()) == 200).then(pl.col("close") * 0.9)
                              .otherwise(pl.col("low")).alias("low"))
    spiky.select(pl.col("ts").cast(pl.Datetime("ns", "UTC")).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                 .alias("time"), "open", "high", "low", "close", "volume").write_csv(csv)
    cfg = tmp_path / "data.toml"
    cfg.write_text("[csv.x]\ntimestamp = 'time'\ntimezone = 'UTC'\n"
                   "columns = { open = 'open', high = 'high', low = 'low', close = 'close', "
                   "volume = 'volume' }\n")
    r = runner.invoke(data_cmd.app, ["ingest", "--source", "csv", "--csv-format", "x",
                                     "--config", str(cfg), "--symbols", "SPY", "--lake",
                                     str(lake), str(csv)])
    assert r.exit_code == 0, r.output
    assert "(1 partition files, one commit)" in r.output
    assert "findings (rows flagged" in r.output and "bars_1m outlier 1" in r.output
    r = runner.invoke(data_cmd.app, ["list", "--ingests", "--lake", str(lake)])
    assert "fw data ingest --source csv SPY" in r.output and '"bars_1m outlier": 1' in r.output
    for suffix in ("parquet", "csv"):
        out = tmp_path / f"findings.{suffix}"
        r = runner.invoke(data_cmd.app, ["verify", "--lake", str(lake), "--export", str(out)])
        assert r.exit_code == 0 and f"written to {out}" in r.output
        got = pl.read_parquet(out) if suffix == "parquet" else pl.read_csv(out)
        row = got.filter(pl.col("check") == "outlier").row(0, named=True)
        assert (row["origin"], row["severity"], row["column"], row["row"]) == (
            "bars_1m/symbol=SPY", "soft", "low", 200)
    assert "outlier" in r.output and "summary" in r.output


def test_lake_root_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "notalake"
    f.write_text("x")
    with pytest.raises(DataError, match="the lake root must be a folder"):
        Lake(f)

"""An ingest killed with SIGKILL, or a write that fails half way through a file or at the
rename, leaves no partial partition and a consistent catalog."""

from __future__ import annotations

import datetime as dt
import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from lake_testkit import minute_bars

from framework.data import Lake
from framework.data.catalog import partitions
from framework.data.partitions import file_fingerprint

# A child that writes many large trade partitions, one session date per write call.
_CHILD = textwrap.dedent("""
    import sys, numpy as np, polars as pl
    from framework.data import Lake
    from framework.data.calendar import sessions
    import datetime as dt
    lake = Lake(sys.argv[1])
    dates, opens, closes = sessions(dt.date(2024, 1, 2), dt.date(2024, 12, 31))
    rng = np.random.default_rng(0)
    n = 400_000
    for k, (o, c) in enumerate(zip(opens, closes)):
        ts = np.sort(rng.integers(o, c, n))
        frame = pl.DataFrame({"ts": ts, "price": 100 + rng.random(n), "size": 100.0,
                              "exchange": "V", "conditions": "@"})
        lake.write("trades", "SPY", frame, "child")
        if k == 1:
            print("started", flush=True)
""")


def _check_consistent(root) -> int:
    """Every file is a complete parquet; every catalog entry matches its file."""
    files = sorted(root.rglob("part.parquet"))
    for p in files:
        pq.read_table(p)  # raises on a truncated / partial file
    cat = partitions(root) if (root / "catalog.duckdb").exists() else pl.DataFrame()
    for r in cat.iter_rows(named=True):
        p = root / r["dataset"] / f"symbol={r['symbol']}" / f"date={r['date']}" / "part.parquet"
        assert p.is_file(), f"catalog lists missing {p}"
        assert pq.ParquetFile(p).metadata.num_rows == r["rows"]
        assert file_fingerprint(p) == r["fingerprint"]
    return len(files)


def test_sigkill_mid_ingest_leaves_lake_consistent(tmp_path):
    root = tmp_path / "lake"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(root)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "started"
        time.sleep(0.7)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    n_files = _check_consistent(root)
    assert 2 <= n_files < 252
    # the dead writer's staging file (if the kill landed mid-write) is removed on next open
    lake = Lake(root)
    assert not any((root / ".staging").iterdir())
    # the catalog may lag the files by at most the partition being recorded; a rebuild
    # (or re-running the ingest) brings it level
    assert len(partitions(root)) in (n_files, n_files - 1)
    lake.rebuild_catalog()
    assert len(partitions(root)) == n_files
    assert lake.trades("SPY").height == 400_000 * n_files


_WRITER = textwrap.dedent("""
    import sys, datetime as dt
    sys.path.insert(0, sys.argv[3])
    from lake_testkit import minute_bars
    from framework.data import Lake
    lake = Lake(sys.argv[1])
    for k in range(6):
        lake.write("bars_1m", sys.argv[2], minute_bars(dt.date(2024, 1, 2 + k // 3 * 7),
                                                       dt.date(2024, 1, 5 + k // 3 * 7)), "w")
""")


def test_two_processes_share_the_catalog(tmp_path):
    """Concurrent writers (different symbols) wait for DuckDB's catalog lock instead of failing."""
    root = tmp_path / "lake"
    here = str(Path(__file__).parent)
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(root), sym, here],
                              stderr=subprocess.PIPE, text=True) for sym in ("AAA", "BBB")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    cat = Lake(root).catalog()
    assert cat["symbol"].to_list() == ["AAA", "BBB"] and cat["partitions"].to_list() == [8, 8]


DAY = dt.date(2024, 1, 2)


def _torn_write(self, file, *args, **kwargs):
    """Fault injection: the disk fills up half way through the file."""
    _REAL_WRITE(self, file, *args, **kwargs)
    os.truncate(file, os.path.getsize(file) // 2)
    raise OSError(errno.ENOSPC, "No space left on device", str(file))


_REAL_WRITE = pl.DataFrame.write_parquet


def test_a_write_torn_half_way_leaves_the_old_partition(tmp_path, monkeypatch):
    root = tmp_path / "lake"
    lake = Lake(root)
    lake.write("bars_1m", "SPY", minute_bars(DAY, DAY), "t")
    (path,) = root.rglob("part.parquet")
    before, listed = path.read_bytes(), partitions(root)
    monkeypatch.setattr(pl.DataFrame, "write_parquet", _torn_write)
    with pytest.raises(OSError, match="No space left"):
        lake.write("bars_1m", "SPY", minute_bars(DAY, DAY, p0=50.0, seed=1), "t")
    monkeypatch.undo()
    assert path.read_bytes() == before  # the old partition, whole, still in place
    assert partitions(root).equals(listed)
    assert not any((root / ".staging").iterdir())
    assert _check_consistent(root) == 1
    assert lake.bars("SPY")["close"].equals(minute_bars(DAY, DAY)["close"])


def test_a_failed_rename_leaves_nothing_visible(tmp_path, monkeypatch):
    root = tmp_path / "lake"
    lake = Lake(root)

    def refuse(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    # the move into place, however it is spelled, fails: nothing may have been written at
    # the partition's path before it
    monkeypatch.setattr(os, "replace", refuse)
    monkeypatch.setattr(os, "rename", refuse)
    with pytest.raises(OSError, match="Input/output error"):
        lake.write("bars_1m", "SPY", minute_bars(DAY, DAY), "t")
    monkeypatch.undo()
    assert not list(root.rglob("part.parquet"))
    assert not any((root / ".staging").iterdir())
    assert _check_consistent(root) == 0

"""An ingest killed with SIGKILL, or a write that fails half way through a file or at the
rename, leaves no partial partition and a consistent catalog; a multi-dataset ingest
commits as one unit (killed before its commit point: nothing; after it: completed by
the next opener); concurrent ingests are serialised by the writer lock."""

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

from framework.data import Lake
from framework.data.catalog import partitions
from framework.data.partitions import file_fingerprint
from tests.data.lake_testkit import minute_bars

# a child ``python -c`` has its working directory on sys.path: started in the repository
# root it imports the test kit as the tests do (``tests.data.lake_testkit``)
ROOT = Path(__file__).resolve().parents[2]

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
    # opening the lake removes the dead writer's staging file (if the kill landed mid-write)
    # and completes a commit the kill interrupted: the catalog matches the files exactly,
    # with no rebuild
    lake = Lake(root)
    assert not any((root / ".staging").iterdir())
    assert len(partitions(root)) == _check_consistent(root) == n_files
    assert lake.trades("SPY").height == 400_000 * n_files


_WRITER = textwrap.dedent("""
    import sys, datetime as dt
    from tests.data.lake_testkit import minute_bars
    from framework.data import Lake
    lake = Lake(sys.argv[1])
    for k in range(6):
        lake.write("bars_1m", sys.argv[2], minute_bars(dt.date(2024, 1, 2 + k // 3 * 7),
                                                       dt.date(2024, 1, 5 + k // 3 * 7)), "w")
""")


def test_two_processes_share_the_catalog(tmp_path):
    """Concurrent writers (different symbols) wait for DuckDB's catalog lock instead of failing."""
    root = tmp_path / "lake"
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(root), sym], cwd=ROOT,
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


# One transaction over two symbols x two datasets x three days (12 partition files); the
# child SIGKILLs itself at the ``kill_at``-th os.replace of the commit (1 = the journal,
# the commit point; 2..13 = the partition files moved into place), or while staging when
# kill_at is 0; -1 runs to the end.
_TX_CHILD = textwrap.dedent("""
    import os, signal, sys, datetime as dt
    from tests.data.lake_testkit import minute_bars
    import framework.data.commit as commit
    from framework.data import Lake
    from framework.data.sources.synthetic import daily_from_minute
    kill_at, seed = int(sys.argv[2]), int(sys.argv[3])
    calls = [0]
    real = os.replace
    def replace(a, b):
        calls[0] += 1
        if calls[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(a, b)
    commit.os.replace = replace
    lake = Lake(sys.argv[1])
    with lake.transaction("test ingest"):
        for k, sym in enumerate(("AAA", "BBB")):
            bars = minute_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 4), seed=seed + k)
            lake.write("bars_1m", sym, bars, f"seed{seed}")
            lake.write("bars_1d", sym, daily_from_minute(bars), f"seed{seed}")
            if kill_at == 0 and k == 1:
                os.kill(os.getpid(), signal.SIGKILL)
""")


def _tx_child(root: Path, kill_at: int, seed: int) -> int:
    p = subprocess.run([sys.executable, "-c", _TX_CHILD, str(root), str(kill_at), str(seed)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    return p.returncode


def _sources(root: Path) -> set[str]:
    return set(partitions(root)["source"]) if (root / "catalog.duckdb").exists() else set()


def test_kill_before_the_commit_point_leaves_nothing_of_the_transaction(tmp_path):
    root = tmp_path / "lake"
    assert _tx_child(root, -1, seed=1) == 0  # committed normally: the first run
    before = {p: p.read_bytes() for p in root.rglob("part.parquet")}
    for kill_at in (0, 1):  # while staging; at the journal's own rename
        assert _tx_child(root, kill_at, seed=2) == -signal.SIGKILL
        Lake(root)
        assert {p: p.read_bytes() for p in root.rglob("part.parquet")} == before
        assert _sources(root) == {"seed1"} and _check_consistent(root) == 12
        assert not any((root / ".staging").iterdir())
        assert sorted(p.name for p in root.glob(".journal*")) == []


def test_kill_after_the_commit_point_is_completed_by_the_next_opener(tmp_path):
    root = tmp_path / "lake"
    assert _tx_child(root, -1, seed=1) == 0
    for kill_at in (2, 7, 13):  # after 0, 5 and 11 of the 12 partition files were moved
        assert _tx_child(root, kill_at, seed=2 + kill_at) == -signal.SIGKILL
        assert (root / ".journal.json").exists()
        Lake(root)  # rolls the journal forward
        assert not (root / ".journal.json").exists()
        assert _sources(root) == {f"seed{2 + kill_at}"}  # every partition: the new run
        assert _check_consistent(root) == 12
        want = minute_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 4), seed=2 + kill_at + 1)
        assert Lake(root).bars("BBB").drop("symbol").equals(want)
    ingests = Lake(root).ingests()
    assert ingests.height == 4 and set(ingests["label"]) == {"test ingest"}


_INGEST = textwrap.dedent("""
    import sys
    from framework.cli.app import main
    sys.argv = ["fw", "data", "ingest", "--source", "synthetic", "--symbols", "SPY,QQQ",
                "--start", "2024-01-02", "--end", "2024-01-03", "--seed", sys.argv[2],
                "--lake", sys.argv[1]]
    main()
""")


def test_concurrent_ingests_are_serialised_and_each_symbol_is_from_one_run(tmp_path):
    """Two synthetic ingests with different seeds at once: the writer lock makes them
    commit one after the other, so every symbol's bars aggregate its stored trades
    (before the lock, bars of one run could sit beside trades of the other)."""
    root = tmp_path / "lake"
    env = {**os.environ, "FW_LAKE_LOCK_WAIT_S": "300"}
    procs = [subprocess.Popen([sys.executable, "-c", _INGEST, str(root), str(seed)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for seed in (1, 2)]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    lake = Lake(root)
    assert _check_consistent(root) == 2 * 2 * 4
    for sym in ("SPY", "QQQ"):
        trades, bars = lake.trades(sym), lake.bars(sym)
        assert trades["size"].sum() == pytest.approx(bars["volume"].sum())
        assert trades["price"].max() == pytest.approx(bars["high"].max())
    assert lake.ingests().height == 2

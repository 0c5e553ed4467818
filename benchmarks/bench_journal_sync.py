"""What it costs to put one small record on this disk durably, by method: the floor under
the live journal's commit before a POST (``live.journal``, docs/live.md "Figures").

For each method, ``--n`` commits of one ~200-byte record, p50 / p99 in us: append +
``fsync``; append + ``fdatasync``; ``pwrite`` into a preallocated file opened
``O_DSYNC`` (no metadata to update); SQLite in WAL mode at ``synchronous = FULL`` (the
journal's intent commits) and ``NORMAL`` (its other commits: no fsync).

    python benchmarks/bench_journal_sync.py [--dir DIR] [--n 200]

``--dir``: where the files go (default: a temporary folder under ./reports, the disk the
run folders live on). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

RECORD = b"x" * 200
BLOCK = 512


def pct(ns: list[int]) -> str:
    a = np.asarray(ns, dtype=np.float64) / 1e3
    return f"p50 {np.percentile(a, 50):8.0f}  p99 {np.percentile(a, 99):8.0f} us"


def timed(n: int, write) -> list[int]:
    out = []
    for i in range(n):
        t0 = time.perf_counter_ns()
        write(i)
        out.append(time.perf_counter_ns() - t0)
    return out


def appended(path: Path, n: int, sync) -> list[int]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC)
    try:
        return timed(n, lambda i: (os.write(fd, RECORD), sync(fd)))
    finally:
        os.close(fd)


def preallocated_dsync(path: Path, n: int) -> list[int]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DSYNC)
    try:
        os.pwrite(fd, b"\0" * (n * BLOCK), 0)  # blocks allocated and written once
        os.fsync(fd)
        rec = RECORD.ljust(BLOCK, b"\0")
        return timed(n, lambda i: os.pwrite(fd, rec, i * BLOCK))
    finally:
        os.close(fd)


def sqlite_wal(path: Path, n: int, level: str) -> list[int]:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={level}")
    db.execute("CREATE TABLE IF NOT EXISTS t (a BLOB)")

    def commit(i: int) -> None:
        db.execute("BEGIN")
        db.execute("INSERT INTO t VALUES (?)", (RECORD,))
        db.execute("COMMIT")

    try:
        return timed(n, commit)
    finally:
        db.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--n", type=int, default=200)
    a = ap.parse_args()
    base = a.dir or Path("reports")
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        d = Path(tmp)
        print(f"{a.n} durable commits of one {len(RECORD)}-byte record, in {d}")
        print(f"  append + fsync                 {pct(appended(d / 'a', a.n, os.fsync))}")
        print(f"  append + fdatasync             {pct(appended(d / 'b', a.n, os.fdatasync))}")
        print(f"  preallocated O_DSYNC pwrite    {pct(preallocated_dsync(d / 'c', a.n))}")
        print(f"  SQLite WAL synchronous=FULL    {pct(sqlite_wal(d / 'f.sqlite', a.n, 'FULL'))}")
        print(f"  SQLite WAL synchronous=NORMAL  "
              f"{pct(sqlite_wal(d / 'n.sqlite', a.n, 'NORMAL'))}  (not durable: no fsync)")


if __name__ == "__main__":
    main()

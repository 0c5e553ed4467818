"""Hive partition paths and atomic partition writes.

Layout: ``<root>/<dataset>/symbol=<SYM>/date=<YYYY-MM-DD>/part.parquet`` (zstd). A write
goes to ``<root>/.staging/<pid>-<random>.parquet`` first and is moved into place with
``os.replace`` by the transaction that staged it (``framework.data.commit``), so a reader
or a crash never sees half a partition. Staging files of dead processes are removed by
``clean_staging``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import uuid
from pathlib import Path

import polars as pl

from framework.data.schemas import DataError

STAGING = ".staging"
PART_FILE = "part.parquet"
_SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-_]{0,15}$")


def check_symbol(symbol: str) -> str:
    """Normalise a ticker (upper case) and refuse anything unsafe as a path component."""
    sym = symbol.strip().upper()
    if not _SYMBOL_RE.match(sym):
        raise DataError(f"invalid symbol '{symbol}': expected letters/digits/.-_ (max 16)")
    return sym


def partition_path(root: Path, dataset: str, symbol: str, date: dt.date) -> Path:
    return root / dataset / f"symbol={symbol}" / f"date={date.isoformat()}" / PART_FILE


def list_partitions(root: Path, dataset: str, symbol: str,
                    start: dt.date | None = None, end: dt.date | None = None
                    ) -> list[tuple[dt.date, Path]]:
    """Existing partitions of one symbol with start <= date <= end, sorted by date.

    Only the symbol's own directory is listed, so a query never walks the whole lake.
    """
    sym_dir = root / dataset / f"symbol={symbol}"
    try:
        names = os.listdir(sym_dir)
    except FileNotFoundError:
        return []
    lo = start.isoformat() if start else ""
    hi = end.isoformat() if end else "9999-12-31"
    out = []
    for name in sorted(names):
        if not name.startswith("date="):
            continue
        d = name[5:]
        if lo <= d <= hi:
            p = sym_dir / name / PART_FILE
            if p.is_file():
                out.append((dt.date.fromisoformat(d), p))
    return out


def file_fingerprint(path: Path) -> str:
    """sha256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def stage_partition(root: Path, frame: pl.DataFrame) -> tuple[Path, str]:
    """Write ``frame`` as a complete Parquet file under ``<root>/.staging``; return its
    path and content fingerprint. A transaction moves it into place at commit
    (``os.replace``, atomic on POSIX within one file system)."""
    staging = root / STAGING
    staging.mkdir(parents=True, exist_ok=True)
    tmp = staging / f"{os.getpid()}-{uuid.uuid4().hex}.parquet"
    try:
        frame.write_parquet(tmp, compression="zstd", compression_level=3, statistics=True)
        return tmp, file_fingerprint(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_partition(root: Path, path: Path) -> None:
    """Delete a partition file and the ``date=``/``symbol=`` folders it leaves empty."""
    path.unlink(missing_ok=True)
    for folder in (path.parent, path.parent.parent):
        try:
            if folder != root and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        except OSError:  # another file appeared meanwhile: keep the folder
            return


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (staging names carry the pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_staging(root: Path) -> int:
    """Delete staging leftovers of processes that no longer run; return how many."""
    staging = root / STAGING
    if not staging.is_dir():
        return 0
    removed = 0
    for p in staging.iterdir():
        pid_s = p.name.split("-", 1)[0]
        if pid_s.isdigit() and int(pid_s) != os.getpid() and pid_alive(int(pid_s)):
            continue
        if pid_s.isdigit() and int(pid_s) == os.getpid():
            continue
        p.unlink(missing_ok=True)
        removed += 1
    return removed

"""One writer at a time, and every change to the lake applied all or nothing.

**Writer lock.** A writer holds ``fcntl.flock`` on ``<root>/.writer.lock`` (the file
names the holder: pid, command, since). The kernel drops the lock when its process
dies, however it dies. A second writer waits for it (up to ``wait_s``, then
``LakeBusyError`` naming the holder). Readers take no lock.

**Transaction.** Partition files are staged complete in ``<root>/.staging`` while the
transaction runs; nothing in the lake changes. Commit:

1. write ``<root>/.journal.json`` (temp file, fsync, ``os.replace``): every file to move
   into place or delete, and every catalog row. This is the commit point.
2. move each staged file into place (``os.replace``) and delete the deleted ones;
3. apply the catalog rows in one DuckDB transaction (``catalog.apply``);
4. remove the journal.

**Recovery** (when a writer takes the lock, and when a ``Lake`` is opened and the lock
is free): a journal left by a killed writer is applied again from step 2 (each step is
idempotent: roll forward); staging files no journal names are deleted (roll back). So
after a kill the lake holds either all of a transaction or none of it, and the catalog
matches the files once anyone opens the lake.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from framework.data import catalog as _catalog
from framework.data.partitions import (
    clean_staging,
    partition_path,
    remove_partition,
    stage_partition,
)
from framework.types.errors import FwError

LOCK_FILE = ".writer.lock"
JOURNAL_FILE = ".journal.json"
log = logging.getLogger("fw.data")


class LakeBusyError(FwError):
    """Another process holds the lake's writer lock for longer than we may wait."""


@dataclass
class _Held:
    """This process's hold on one lake's lock: threads queue on ``rlock``; ``depth``
    counts nested holders in the owning thread."""

    rlock: threading.RLock
    fd: int = -1
    depth: int = 0


_HELD: dict[str, _Held] = {}
_GUARD = threading.Lock()
_ACTIVE = threading.local()  # root -> the Transaction this thread has open


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
        return f"pid {info.get('pid')} ({info.get('command')}, since {info.get('since')})"
    except (OSError, ValueError):
        return "another process"


def _flock(root: Path, wait_s: float) -> int:
    """Open and exclusively lock ``<root>/.writer.lock``, waiting up to ``wait_s``."""
    path = root / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait_s
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LakeBusyError(f"{root}: the lake's writer lock is held by "
                                    f"{_holder(path)}; gave up after {wait_s:g} s") from None
            if not told:
                log.warning("%s: waiting for the lake's writer lock, held by %s", root,
                            _holder(path))
                told = True
            time.sleep(0.05)
    info = {"pid": os.getpid(), "command": " ".join(sys.argv[:4])[:200],
            "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)
    return fd


@contextmanager
def writer_lock(root: Path, wait_s: float) -> Iterator[None]:
    """Hold the lake's writer lock (re-entrant within a thread); on first acquisition,
    recover what a killed writer left."""
    with _GUARD:
        held = _HELD.setdefault(str(root), _Held(threading.RLock()))
    if not held.rlock.acquire(timeout=wait_s):
        raise LakeBusyError(f"{root}: the lake's writer lock is held by another thread of "
                            f"this process; gave up after {wait_s:g} s")
    try:
        if held.depth == 0:
            root.mkdir(parents=True, exist_ok=True)
            held.fd = _flock(root, wait_s)
            try:
                _recover_locked(root)
            except BaseException:
                os.close(held.fd)
                raise
        held.depth += 1
        try:
            yield
        finally:
            held.depth -= 1
            if held.depth == 0:
                os.close(held.fd)  # closing the descriptor releases the flock
    finally:
        held.rlock.release()


def recover_if_free(root: Path) -> None:
    """Recover a killed writer's leftovers if no writer holds the lock now (a writer that
    does will recover them itself). Quietly does nothing on a read-only lake."""
    if getattr(_ACTIVE, "tx", {}).get(str(root)) is not None:
        return
    held = _HELD.get(str(root))
    if held is not None and held.depth > 0:
        return
    try:
        fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return
    try:
        _recover_locked(root)
    finally:
        os.close(fd)


def _recover_locked(root: Path) -> None:
    journal = root / JOURNAL_FILE
    if journal.is_file():
        doc = json.loads(journal.read_text())
        log.warning("%s: completing the transaction '%s' of pid %s that was interrupted "
                    "after its commit point", root, doc.get("label"), doc.get("pid"))
        _apply(root, doc)
    for tmp in root.glob(f"{JOURNAL_FILE}.*.tmp"):  # a journal killed before its rename
        tmp.unlink(missing_ok=True)
    clean_staging(root)


def _write_json_atomic(path: Path, doc: dict) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(doc, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _apply(root: Path, doc: dict) -> None:
    """Steps 2-4 of a commit from its journal; safe to repeat."""
    puts, deletes = [], []
    for op in doc["ops"]:
        final = root / op["path"]
        day = dt.date.fromisoformat(op["date"])
        if op["staged"] is None:
            remove_partition(root, final)
            deletes.append((op["dataset"], op["symbol"], day))
            continue
        staged = root / op["staged"]
        if staged.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
        puts.append((op["dataset"], op["symbol"], day, op["source"], op["rows"], op["first_ts"],
                     op["last_ts"], op["fingerprint"]))
    _catalog.apply(root, puts, deletes, doc.get("ingest"))
    (root / JOURNAL_FILE).unlink(missing_ok=True)


class Transaction:
    """Changes staged for one commit: partition files to put, partitions to delete, and
    the quality findings of what was written (the ingest's summary)."""

    def __init__(self, root: Path, label: str):
        self.root = root
        self.label = label
        self.id = uuid.uuid4().hex[:12]
        self.started = dt.datetime.now(dt.UTC)
        self._ops: dict[tuple[str, str, dt.date], dict] = {}
        self.rows: Counter[str] = Counter()
        self.findings: Counter[str] = Counter()
        self.committed = False

    def existing(self, dataset: str, symbol: str, day: dt.date) -> Path | None:
        """The partition file as this transaction sees it (its own staged version first)."""
        op = self._ops.get((dataset, symbol, day))
        if op is not None:
            return None if op["staged"] is None else self.root / op["staged"]
        path = partition_path(self.root, dataset, symbol, day)
        return path if path.is_file() else None

    def put(self, dataset: str, symbol: str, day: dt.date, frame: pl.DataFrame,
            source: str) -> Path:
        """Stage ``frame`` as the whole partition; return the path it will have."""
        staged, fp = stage_partition(self.root, frame)
        self._drop_staged(dataset, symbol, day)
        final = partition_path(self.root, dataset, symbol, day)
        self._ops[(dataset, symbol, day)] = {
            "dataset": dataset, "symbol": symbol, "date": day.isoformat(),
            "path": final.relative_to(self.root).as_posix(),
            "staged": staged.relative_to(self.root).as_posix(), "source": source,
            "rows": frame.height, "first_ts": int(frame["ts"][0]),
            "last_ts": int(frame["ts"][-1]), "fingerprint": fp}
        return final

    def delete(self, dataset: str, symbol: str, day: dt.date) -> None:
        """Remove the partition at commit."""
        self._drop_staged(dataset, symbol, day)
        final = partition_path(self.root, dataset, symbol, day)
        self._ops[(dataset, symbol, day)] = {
            "dataset": dataset, "symbol": symbol, "date": day.isoformat(),
            "path": final.relative_to(self.root).as_posix(), "staged": None}

    def _drop_staged(self, dataset: str, symbol: str, day: dt.date) -> None:
        old = self._ops.pop((dataset, symbol, day), None)
        if old is not None and old["staged"] is not None:
            (self.root / old["staged"]).unlink(missing_ok=True)

    @property
    def partitions(self) -> int:
        return sum(op["staged"] is not None for op in self._ops.values())

    @property
    def deleted(self) -> int:
        return sum(op["staged"] is None for op in self._ops.values())

    def commit(self) -> None:
        """Write the journal (the commit point), then apply it."""
        if not self._ops:
            return
        doc = {"pid": os.getpid(), "label": self.label, "ops": list(self._ops.values()),
               "ingest": {"id": self.id, "label": self.label, "pid": os.getpid(),
                          "started": self.started.replace(tzinfo=None).isoformat(),
                          "partitions": self.partitions, "deleted": self.deleted,
                          "rows": sum(self.rows.values()), "findings": dict(self.findings)}}
        try:
            _write_json_atomic(self.root / JOURNAL_FILE, doc)
        except BaseException:
            self.abort()
            raise
        _apply(self.root, doc)
        self.committed = True

    def abort(self) -> None:
        """Drop every staged file; the lake is as before the transaction."""
        for op in self._ops.values():
            if op["staged"] is not None:
                (self.root / op["staged"]).unlink(missing_ok=True)
        self._ops.clear()


@contextmanager
def transaction(root: Path, label: str, wait_s: float) -> Iterator[Transaction]:
    """Open a transaction on the lake at ``root`` (or join the one this thread has open
    there): it commits when the outermost block ends normally, and is dropped whole when
    the block raises."""
    open_txs = _ACTIVE.__dict__.setdefault("tx", {})
    outer = open_txs.get(str(root))
    if outer is not None:
        yield outer
        return
    with writer_lock(root, wait_s):
        tx = Transaction(root, label)
        open_txs[str(root)] = tx
        try:
            yield tx
        except BaseException:
            tx.abort()
            raise
        else:
            tx.commit()
        finally:
            open_txs.pop(str(root), None)

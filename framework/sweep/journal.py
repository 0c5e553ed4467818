"""A journal file whose appends can be grouped: one lock, one write and one fsync for a
whole batch of Optuna storage operations instead of one each.

Optuna's ``JournalFileBackend`` takes its file lock, appends one line and fsyncs for
every storage operation (creating a trial, each parameter, each user attribute, each
state change): about ten per trial, and on a busy disk each costs 10-20 ms, which made
the storage, not the trials, the bulk of a vector-routed sweep. Inside
:meth:`BatchedJournalBackend.batch` the lock is held from the start, appended lines are
kept in memory and served back to this process's reads after the file's own lines, and
the lot is written once when the block ends (also when it ends by an exception: this
process's storage has already applied those lines). Because the lock is held for the
whole block, no other process can append in between, so the order of the lines in the
file is the order this process replayed them in: trial ids stay the same in every
process. Outside a block it behaves as Optuna's backend. A process killed inside a
block loses that block's lines (the file stays well formed) and leaves the lock file,
which Optuna's lock breaks after its grace period.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any

from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock


class BatchedJournalBackend(JournalFileBackend):
    """Optuna's journal file backend with :meth:`batch` (see the module docstring)."""

    def __init__(self, file_path: str) -> None:
        self._file_lock = JournalFileSymlinkLock(file_path)  # Optuna's default lock
        super().__init__(file_path, lock_obj=self._file_lock)
        self._path = file_path
        self._pending: list[dict[str, Any]] | None = None
        self._file_lines = 0  # complete lines in the file when the open batch began

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the file lock for the block and append its lines with one write."""
        if self._pending is not None:  # nested: the outer block writes
            yield
            return
        self._file_lock.acquire()
        try:
            with open(self._path, "rb") as f:
                self._file_lines = f.read().count(b"\n")
            self._pending = []
            try:
                yield
            finally:
                pending, self._pending = self._pending, None
                if pending:
                    self._write(pending)
        finally:
            self._file_lock.release()

    def _write(self, logs: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs)
        with open(self._path, "ab") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        """Append now (outside a batch) or at the end of the open batch."""
        if self._pending is None:
            super().append_logs(logs)
        else:
            self._pending.extend(logs)

    def read_logs(self, log_number_from: int) -> Generator[dict[str, Any], None, None]:
        """The file's lines from ``log_number_from`` on, then the open batch's."""
        if self._pending is None or log_number_from < self._file_lines:
            yield from super().read_logs(log_number_from)
        if self._pending is not None:
            yield from self._pending[max(0, log_number_from - self._file_lines):]

"""The journal's durability rule: every commit goes to the WAL without an fsync (read
off SQLite's own statement trace: ``synchronous`` is never raised), and ``durable()``
fsyncs the WAL file (the real ``os.fsync``, watched) with ``sync="full"`` -- the session
calls it after a row's POSTs -- and never with ``sync="normal"``."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from framework.types import BAR_DTYPE
from live.journal import Journal, JournalError


def _bar(ts: int) -> np.ndarray:
    row = np.zeros(1, BAR_DTYPE)
    row["ts"], row["close"] = ts, 100.0
    return row


def _levels(j: Journal) -> list[str]:
    """Every COMMIT, intent insert and ``synchronous`` change SQLite runs."""
    out: list[str] = []

    def trace(sql: str) -> None:
        if sql.startswith("PRAGMA synchronous") or sql == "COMMIT" or "INTO intents" in sql:
            out.append("intent" if "INTO intents" in sql else sql)

    j.db.set_trace_callback(trace)
    return out


@pytest.fixture
def fsyncs(monkeypatch) -> list[str]:
    """The files ``os.fsync`` is called on (the real call still runs)."""
    seen: list[str] = []
    real = os.fsync

    def watched(fd: int) -> None:
        seen.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", watched)
    return seen


def test_commits_never_fsync_and_durable_fsyncs_the_wal(tmp_path, fsyncs):
    j = Journal(tmp_path / "j.sqlite")
    seen = _levels(j)
    j.add_bars(_bar(1))  # a row that sends nothing
    j.commit()
    j.add_bars(_bar(2))  # a row that sends two orders: bars and intents in one commit
    assert j.intend("a", 0, "submit", {"qty": 1}, 2)
    assert j.intend("b", 1, "submit", {"qty": 2}, 2)
    j.commit()
    assert seen == ["COMMIT", "intent", "intent", "COMMIT"]  # synchronous stays NORMAL
    assert fsyncs == []
    j.durable()  # after the POSTs
    assert fsyncs == [str((tmp_path / "j.sqlite-wal").resolve())]
    j.resolve("a", "confirmed", "id-a", "new")
    j.commit()
    other = sqlite3.connect(tmp_path / "j.sqlite")  # another connection reads it
    assert other.execute("SELECT cid, outcome FROM intents ORDER BY cid").fetchall() == [
        ("a", "confirmed"), ("b", "pending")]
    other.close()
    j.close()
    back = Journal(tmp_path / "j.sqlite", create=False)
    assert len(back.bars()) == 2 and [i.cid for i in back.intents()] == ["a", "b"]
    back.close()


def test_sync_normal_never_fsyncs_and_a_bad_level_is_refused(tmp_path, fsyncs):
    j = Journal(tmp_path / "n.sqlite", sync="normal")
    j.add_bars(_bar(1))
    j.intend("a", 0, "submit", {}, 1)
    j.commit()
    j.durable()
    assert fsyncs == []
    j.close()
    with pytest.raises(JournalError, match=r"x\.sqlite: journal sync 'off'"):
        Journal(tmp_path / "x.sqlite", sync="off")


def test_a_refused_fsync_fails_the_journal(tmp_path, monkeypatch):
    j = Journal(tmp_path / "f.sqlite")
    j.add_bars(_bar(1))
    j.commit()

    def eio(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", eio)
    with pytest.raises(JournalError, match=r"f\.sqlite: cannot write the journal "
                                           r"\(OSError: .*Input/output error"):
        j.durable()
    with pytest.raises(JournalError):  # every later write too: nothing more is sent
        j.add_bars(_bar(2))
    j.close()
    assert Path(tmp_path / "f.sqlite").is_file()

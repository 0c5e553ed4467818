"""The journal's durability rule, read off SQLite's own statement trace: a commit that
holds an intent runs at ``synchronous = FULL`` (fsync'd before it returns, so before the
POST), a row that sends nothing commits at ``NORMAL`` (no fsync), and ``sync="normal"``
never asks for an fsync."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from framework.types import BAR_DTYPE
from live.journal import Journal, JournalError


def _bar(ts: int) -> np.ndarray:
    row = np.zeros(1, BAR_DTYPE)
    row["ts"], row["close"] = ts, 100.0
    return row


def _levels(j: Journal) -> list[tuple[str, str]]:
    """(statement, synchronous level in force) for every COMMIT and intent insert."""
    out: list[tuple[str, str]] = []
    level = ["NORMAL"]

    def trace(sql: str) -> None:
        if sql.startswith("PRAGMA synchronous="):
            level[0] = sql.split("=")[1]
        elif sql == "COMMIT" or "INTO intents" in sql:
            out.append(("COMMIT" if sql == "COMMIT" else "intent", level[0]))

    j.db.set_trace_callback(trace)
    return out


def test_only_a_commit_with_an_intent_is_fsynced(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    seen = _levels(j)
    j.add_bars(_bar(1))  # a row that sends nothing
    j.commit()
    assert seen == [("COMMIT", "NORMAL")]
    seen.clear()
    j.add_bars(_bar(2))  # a row that sends two orders
    assert j.intend("a", 0, "submit", {"qty": 1}, 2)
    assert j.intend("b", 1, "submit", {"qty": 2}, 2)
    j.commit()
    # the row's bars first (no fsync), then both intents in one fsync'd commit
    assert seen == [("COMMIT", "NORMAL"), ("intent", "FULL"), ("intent", "FULL"),
                    ("COMMIT", "FULL")]
    seen.clear()
    j.resolve("a", "confirmed", "id-a", "new")  # the outcome: no fsync
    j.commit()
    assert seen == [("COMMIT", "NORMAL")]
    # another connection reads what was committed
    other = sqlite3.connect(tmp_path / "j.sqlite")
    assert other.execute("SELECT cid, outcome FROM intents ORDER BY cid").fetchall() == [
        ("a", "confirmed"), ("b", "pending")]
    other.close()
    j.close()
    back = Journal(tmp_path / "j.sqlite", create=False)
    assert len(back.bars()) == 2 and [i.cid for i in back.intents()] == ["a", "b"]
    back.close()


def test_sync_normal_never_fsyncs_and_a_bad_level_is_refused(tmp_path):
    j = Journal(tmp_path / "n.sqlite", sync="normal")
    seen = _levels(j)
    j.add_bars(_bar(1))
    j.intend("a", 0, "submit", {}, 1)
    j.commit()
    assert seen == [("intent", "NORMAL"), ("COMMIT", "NORMAL")]
    j.close()
    with pytest.raises(JournalError, match=r"x\.sqlite: journal sync 'off'"):
        Journal(tmp_path / "x.sqlite", sync="off")

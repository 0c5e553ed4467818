"""The live run's journal: one SQLite file in the run folder (WAL mode), the record a
crashed run resumes from.

What it holds, and the rule each table keeps:

* ``bars``: every bar the strategy saw, in order, with the bar index it closed in; a
  resumed run replays them through the same compiled loop to rebuild its state;
* ``intents``: every order command **before** it is sent, under a deterministic
  ``client_order_id``; its outcome once known: ``confirmed`` (the broker has it),
  ``rejected`` (the broker proved it did not take it: 403/422 on create), ``denied``
  (refused here, never sent), ``unresolved`` (timeout, transport error, 5xx: it may
  exist; resolved by a lookup by client order id, never by sending it again);
* ``events``: the broker's fills (keyed by ``execution_id``: a duplicate is ignored) and
  the orders it closed on its own, each with the bar whose step booked it;
* ``meta``: the run's settings (strategy hashes, venue, session).

Writes gather in one transaction until ``commit()``; the session commits once per row of
bars: after the loop decided and before the row's first POST (the row's bars, the broker
events it booked, every intent), or at the row's end when it sends nothing. What a crash
loses from an open transaction is what the broker still has (its events, read back by
reconciliation) or a row not yet acted on.

Durability (``sync``): ``"full"`` (the default) fsyncs every commit that holds an intent
before it returns (``synchronous = FULL``), so an intent is on disk before its POST;
commits without one (a row that sends nothing, outcomes, broker events) are written to
the WAL without an fsync (``synchronous = NORMAL``: they survive a crash of the process
at once, and an OS crash from the next intent's fsync on, which flushes the whole WAL).
So one fsync per row that sends orders, none for the others. ``"normal"``: no fsync at
all -- every commit survives a crash of ``fw live``, not of the OS or the machine (then
the deterministic client order ids and reconciliation are what stop a duplicate: an
order the broker has that the journal lost is found by its id, or blocks trading as
foreign).

A write the disk refuses (full, read-only, I/O error) raises ``JournalError`` naming the
file, rolls the open transaction back (what was committed stays intact) and marks the
journal ``failed``: every later write raises too, so a session stops trading instead of
sending an order whose intent is not on disk.

Units: ns UTC, shares, USD.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from framework.types import BAR_DTYPE
from framework.types.errors import FwError

OUTCOMES = ("pending", "confirmed", "rejected", "denied", "unresolved")
SYNCS = ("full", "normal")
TERMINAL = ("filled", "canceled", "expired", "rejected", "replaced", "done_for_day")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bars (seq INTEGER PRIMARY KEY, row BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS intents (
    cid TEXT PRIMARY KEY, order_id INTEGER NOT NULL, kind TEXT NOT NULL,
    body TEXT NOT NULL, decision_ts INTEGER NOT NULL, outcome TEXT NOT NULL,
    broker_id TEXT, status TEXT, detail TEXT);
CREATE TABLE IF NOT EXISTS events (
    key TEXT PRIMARY KEY, cid TEXT NOT NULL, kind TEXT NOT NULL, ts INTEGER NOT NULL,
    qty REAL, price REAL, order_qty REAL, status TEXT, bar INTEGER NOT NULL);
"""


class JournalError(FwError):
    """The journal is missing, belongs to another run, or cannot be written."""


def client_order_id(run_id: str, decision_ts: int, symbol: str, seq: int) -> str:
    """Deterministic ``client_order_id`` of an order command: the same run, decision
    instant (ns), symbol and sequence (the loop's order id) give the same id, so a
    resumed run recognises its own orders and the broker's uniqueness rule (422) stops
    a duplicate. ``[A-Za-z0-9-]``, 35 characters (Alpaca allows 48)."""
    h = hashlib.blake2b(f"{run_id}|{decision_ts}|{symbol}|{seq}".encode(), digest_size=12)
    return f"fw-{h.hexdigest()}-{seq}"[:48]


@dataclass(frozen=True)
class Intent:
    """One journalled order command."""

    cid: str
    order_id: int  # the loop's order id
    kind: str  # submit | cancel
    body: dict  # what was (or would be) sent
    decision_ts: int
    outcome: str
    broker_id: str | None
    status: str | None


def _intent(row: tuple) -> Intent:
    """An ``Intent`` from a row of ``Journal._INTENT`` (the body is JSON text)."""
    cid, order_id, kind, body, decision_ts, outcome, broker_id, status = row
    return Intent(cid, order_id, kind, json.loads(body), decision_ts, outcome, broker_id,
                  status)


class Journal:
    """The journal of one run (``path``: ``<run folder>/journal.sqlite``)."""

    def __init__(self, path: Path, *, create: bool = True, sync: str = "full"):
        """``sync``: ``"full"`` or ``"normal"`` (see the module doc)."""
        path = Path(path)
        if sync not in SYNCS:
            raise JournalError(f"{path}: journal sync {sync!r} is not one of {SYNCS}")
        if not create and not path.is_file():
            raise JournalError(f"{path}: no journal to resume from")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.sync = sync
        self._full = False  # the open transaction commits with an fsync
        try:
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
        except sqlite3.Error as err:
            raise JournalError(f"{path}: cannot open the journal: {err}") from err
        self.path = path
        self.failed: JournalError | None = None  # the write the disk refused, if one was
        self._bar_seq = self.db.execute("SELECT COALESCE(MAX(seq), -1) FROM bars").fetchone()[0]

    def _write(self, sql: str, args=(), many: bool = False) -> sqlite3.Cursor:
        """One write inside the open transaction (begun here); a refused write fails the
        journal (see the module doc)."""
        if self.failed is not None:
            raise self.failed
        try:
            if not self.db.in_transaction:
                self.db.execute("BEGIN")
            return self.db.executemany(sql, args) if many else self.db.execute(sql, args)
        except sqlite3.Error as err:
            raise self._fail(err) from err

    def _fail(self, err: sqlite3.Error) -> JournalError:
        if self.db.in_transaction:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the connection rolls back on close anyway
        self.failed = JournalError(f"{self.path}: cannot write the journal "
                                   f"({type(err).__name__}: {err})")
        return self.failed

    def commit(self) -> None:
        """Commit every write so far: fsync'd when it holds an intent (``sync="full"``),
        which also makes every earlier commit durable; ``JournalError`` if the disk refuses
        it (the transaction is then rolled back)."""
        if self.failed is not None:
            raise self.failed
        if self.db.in_transaction:
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error as err:
                raise self._fail(err) from err
        if self._full:
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._full = False

    def _durable(self) -> None:
        """The open transaction must be fsync'd at its commit: the level cannot change
        inside a transaction, so what it holds so far is committed first (no fsync; the
        fsync to come flushes it too)."""
        if self.sync != "full" or self._full:
            return
        self.commit()
        self.db.execute("PRAGMA synchronous=FULL")
        self._full = True

    def close(self) -> None:
        """Commit and close the file (unless the journal failed: what is on disk stays);
        with ``sync="full"`` a checkpoint first (SQLite fsyncs the WAL before it and the
        database after it)."""
        try:
            if self.failed is None:
                self.commit()
                if self.sync == "full":
                    self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:  # closed even when the disk refuses the last write (it stays unmountable
            self.db.close()  # otherwise, and the error goes to the caller)

    # ------------------------------------------------------------------ meta
    def set_meta(self, **values) -> None:
        """Store run settings (JSON values)."""
        self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [(k, json.dumps(v, default=str)) for k, v in values.items()], many=True)
        self.commit()

    def meta(self) -> dict:
        """Every stored setting."""
        return {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM meta")}

    # ------------------------------------------------------------------ bars
    def add_bars(self, bars: np.ndarray) -> None:
        """Append bars (``BAR_DTYPE`` rows, stored as their bytes) as received."""
        rows = []
        for b in np.ascontiguousarray(bars, BAR_DTYPE):
            self._bar_seq += 1
            rows.append((self._bar_seq, b.tobytes()))
        self._write("INSERT INTO bars VALUES (?, ?)", rows, many=True)

    def bars(self) -> np.ndarray:
        """Every journalled bar, in the order received (``BAR_DTYPE``)."""
        rows = self.db.execute("SELECT row FROM bars ORDER BY seq").fetchall()
        return np.frombuffer(b"".join(r[0] for r in rows), BAR_DTYPE).copy()

    # ------------------------------------------------------------------ intents
    def intend(self, cid: str, order_id: int, kind: str, body: dict, decision_ts: int) -> bool:
        """Record an order command (``commit()`` before sending it); False if ``cid`` is
        already journalled (a resumed run re-deciding an order it sent before: not sent again)."""
        self._durable()
        cur = self._write(
            "INSERT OR IGNORE INTO intents VALUES (?,?,?,?,?,?,NULL,NULL,NULL)",
            (cid, order_id, kind, json.dumps(body), decision_ts, "pending"))
        return cur.rowcount == 1

    def resolve(self, cid: str, outcome: str, broker_id: str | None = None,
                status: str | None = None, detail: str | None = None) -> None:
        """Set the outcome of ``cid`` (one of ``OUTCOMES``) and what the broker said."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        self._write(
            "UPDATE intents SET outcome=?, broker_id=COALESCE(?, broker_id), "
            "status=COALESCE(?, status), detail=COALESCE(?, detail) WHERE cid=?",
            (outcome, broker_id, status, detail, cid))

    def set_status(self, cid: str, status: str) -> None:
        """The broker's latest status of ``cid``'s order."""
        self._write("UPDATE intents SET status=? WHERE cid=?", (status, cid))

    _INTENT = ("SELECT cid, order_id, kind, body, decision_ts, outcome, broker_id, status "
               "FROM intents")

    def intents(self, kind: str | None = None) -> list[Intent]:
        """Every journalled command (of ``kind``), in the order written."""
        q = self._INTENT + (" WHERE kind=?" if kind else "") + " ORDER BY rowid"
        return [_intent(r) for r in self.db.execute(q, (kind,) if kind else ())]

    def intent(self, cid: str) -> Intent | None:
        """The command journalled under ``cid``, if any (by its key: a cancel's lookup
        does not grow with the session)."""
        row = self.db.execute(self._INTENT + " WHERE cid=?", (cid,)).fetchone()
        return None if row is None else _intent(row)

    # ------------------------------------------------------------------ events
    def add_event(self, key: str, cid: str, kind: str, ts: int, bar: int, qty: float = 0.0,
                  price: float = 0.0, order_qty: float = float("nan"),
                  status: str | None = None) -> bool:
        """Record a broker fill (``key`` its ``execution_id``) or close (``key``
        ``close:<cid>``) and the bar that books it; False when already recorded (a
        duplicate update: ignore it)."""
        cur = self._write("INSERT OR IGNORE INTO events VALUES (?,?,?,?,?,?,?,?,?)",
                          (key, cid, kind, ts, qty, price, order_qty, status, bar))
        return cur.rowcount == 1

    def events(self) -> list[tuple]:
        """``(key, cid, kind, ts, qty, price, order_qty, status, bar)`` in the order
        recorded."""
        return self.db.execute("SELECT key, cid, kind, ts, qty, price, order_qty, status, "
                               "bar FROM events ORDER BY rowid").fetchall()

    def filled_qty(self, cid: str) -> float:
        """Shares of ``cid``'s order the journal has fills for."""
        return self.db.execute("SELECT COALESCE(SUM(qty), 0) FROM events WHERE cid=? AND "
                               "kind='fill'", (cid,)).fetchone()[0]

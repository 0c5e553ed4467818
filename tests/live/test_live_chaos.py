"""Each fault kind of a chaos run (``live.venue.faults``), one at a time, against the
local venue through alpaca-py's real clients: the adapter survives it (the venue's own
records and the journal agree: ``live.venue.audit``), and a deliberately broken
adapter -- the bug each defence exists for -- does not (the same audit catches it).

``kill`` runs ``fw live`` in a child process the venue SIGKILLs, then resumes it;
``benchmarks/chaos_live.py --quick`` (``test_chaos_quick``) mixes every kind in full
sessions."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from alpaca.common.exceptions import APIError

from live import session as session_mod
from live.adapter.gateway import Gateway, Outcome
from live.adapter.messages import ns_of
from live.journal import Journal, JournalError
from live.reconcile import Report
from live.runner import run_live
from live.session import LiveError, LiveSession
from live.venue import Venue
from live.venue.audit import ZERO, audit
from live.venue.disk import FailingDisk
from live.venue.faults import CHAOS_KINDS
from tests.live.conftest import ROOT, SESSION

pytestmark = pytest.mark.slow
TOML = ROOT / "strategies" / "bollinger_mr.toml"
# trades often on the small lake: limit entries that time out (cancels), brackets, exits,
# partial fills from the 10 % participation cap
CHAOS = {"params.window": 5, "params.entry_z": 0.8, "params.exit_z": 0.2,
         "decision.entry_timeout_bars": 2, "decision.max_hold_bars": 8,
         "decision.size": 0.05, "data.start": SESSION.isoformat(),
         "data.end": SESSION.isoformat(), "execution.tick_prices": True}
STEPS = 45


def _trade(venue: Venue, lake: Path, tmp: Path, faults: dict[int, list[dict]] | None = None,
           *, steps: int | None = STEPS, resume: str | None = None, **kw):
    """``fw live`` on ``venue`` for ``steps`` lockstep steps, ``faults[step]`` scheduled
    after that step; returns the run and the audit (one window: this start)."""
    def hook(step: int) -> None:
        for spec in (faults or {}).get(step, []):
            venue.fault(**spec)

    t0 = time.monotonic()
    run = run_live(TOML, {**CHAOS, "backtest.reports": str(tmp)}, lake=lake,
                   venue_url=venue.urls.trading, force_reason="test", max_steps=steps,
                   resume=resume, on_start=lambda s: s.step_hooks.append(hook), **kw)
    return run, audit(venue.core, list(venue.requests), run.out_dir, [t0])


def _clean(a: dict) -> bool:
    return a["orders"] > 0 and not any(a[z] for z in ZERO)


@pytest.fixture
def chaos_venue(live_venue, small_lake):
    return lambda **kw: live_venue("bollinger_mr", CHAOS, small_lake, **kw)


def _blind_retry(self: Gateway, cid: str) -> Outcome:
    """Broken: an unclear POST is sent again under a new id (SDKs that mint ids do)."""
    body = {**self.journal.intent(cid).body, "client_order_id": f"r-{uuid.uuid4().hex}"}
    try:
        order = self.client.post("/orders", body)
    except (APIError, requests.RequestException) as err:
        return Outcome("unresolved", detail=str(err))
    self.journal.resolve(cid, "confirmed", order["id"], order["status"])
    return Outcome("confirmed", order)


@pytest.mark.parametrize("fault", [
    {"kind": "order_timeout", "count": 4, "seconds": 0.6},
    {"kind": "http", "status": 503, "count": 4, "method": "POST", "path": "/v2/orders"},
    {"kind": "http", "status": 429, "count": 6},
], ids=["order_timeout", "http_5xx", "http_429"])
def test_unclear_posts_are_looked_up_never_resent(chaos_venue, small_lake, tmp_path,
                                                  monkeypatch, fault):
    _, a = _trade(chaos_venue(), small_lake, tmp_path / "ok", {5: [fault]},
                  request_timeout_s=0.3)
    assert _clean(a), a
    if fault.get("status") == 429:
        return  # a 429 proves the POST was not processed: waiting and retrying is right
    monkeypatch.setattr(Gateway, "resolve", _blind_retry)
    _, bad = _trade(chaos_venue(), small_lake, tmp_path / "bad", {5: [fault]},
                    request_timeout_s=0.3)
    assert bad["duplicate_orders"] > 0, bad


def test_duplicated_updates_are_counted_once(chaos_venue, small_lake, tmp_path,
                                             monkeypatch):
    faults = {5: [{"kind": "duplicate", "count": 200}]}
    run, a = _trade(chaos_venue(), small_lake, tmp_path / "ok", faults)
    assert _clean(a) and run.session.stats.duplicates > 0, a
    add = Journal.add_event
    monkeypatch.setattr(Journal, "add_event", lambda self, key, *args, **kw: add(
        self, f"{key}#{uuid.uuid4().hex[:6]}" if args[1] == "fill" else key, *args, **kw))
    _, bad = _trade(chaos_venue(), small_lake, tmp_path / "bad", faults)
    assert bad["double_fills"] > 0, bad


def _no_reconcile(self: LiveSession, unsent: set[str] = frozenset()) -> Report:
    """Broken: trusts the stream; never reads the broker back."""
    self._reconcile_due = self._periodic_due = False
    return Report()


# a silence is bounded in steps, not wall seconds (a lockstep step can take a few ms: a
# wall-time silence could outlast the run, which ends at STEPS without a final
# reconciliation): silent from step 6, read back by the periodic reconciliations of rows
# 15 (still silent) and 30 (after the silence ends at step 25)
SILENCE = {6: [{"kind": "silence", "stream": "trade_updates", "seconds": None}],
           25: [{"kind": "silence", "stream": "trade_updates", "seconds": 0}]}


@pytest.mark.parametrize("faults", [
    {s: [{"kind": "drop", "stream": "trade_updates"}] for s in range(6, 16, 3)}, SILENCE,
], ids=["drop", "silence"])
def test_missed_updates_are_read_back(chaos_venue, small_lake, tmp_path, monkeypatch, faults):
    _, a = _trade(chaos_venue(), small_lake, tmp_path / "ok", faults)
    assert _clean(a), a
    monkeypatch.setattr(LiveSession, "reconcile", _no_reconcile)
    _, bad = _trade(chaos_venue(), small_lake, tmp_path / "bad", faults)
    assert bad["lost_fills"] + bad["position_mismatches"] > 0, bad


@pytest.mark.parametrize("fault", [
    {"kind": "fill_race", "count": 100},
    {"kind": "delay", "count": 6, "seconds": 0.3},
    {"kind": "reorder", "count": 3},
], ids=["fill_race", "delay", "reorder"])
def test_late_fills_still_land(chaos_venue, small_lake, tmp_path, monkeypatch, fault):
    faults = {s: [fault] for s in range(4, 24, 4)}  # read back by row 30's reconciliation
    _, a = _trade(chaos_venue(), small_lake, tmp_path / "ok", faults)
    assert _clean(a), a
    cancelled: set[str] = set()
    on_update, cancel, close_row = (LiveSession.on_trade_update, Gateway.cancel,
                                    LiveSession.close_row)

    async def drop_late(self, msg):  # broken: a fill after the order ended (or was asked
        d = msg["data"]  # to cancel) is ignored, and one older than the last row is stale
        cid = d["order"]["client_order_id"]
        late = cid in self.done or cid in cancelled or ns_of(d["timestamp"]) < self.last_row
        if d["event"] in ("fill", "partial_fill") and late:
            self._tu_received += 1  # read (lockstep counts it), then dropped
            return None
        return await on_update(self, msg)

    def remember(self, cid):
        cancelled.add(cid)
        return cancel(self, cid)

    def track(self):
        self.last_row = self.driver.pending_ts or self.last_row
        close_row(self)

    monkeypatch.setattr(LiveSession, "on_trade_update", drop_late)
    monkeypatch.setattr(Gateway, "cancel", remember)
    monkeypatch.setattr(LiveSession, "close_row", track)
    monkeypatch.setattr(LiveSession, "last_row", 0, raising=False)
    monkeypatch.setattr(session_mod, "RECONCILE_EVERY_ROWS", 10**9)  # trusts its stream
    _, bad = _trade(chaos_venue(), small_lake, tmp_path / "bad", faults)
    assert bad["lost_fills"] + bad["position_mismatches"] > 0, bad


def test_fills_reported_after_the_last_row_are_booked(chaos_venue, small_lake, tmp_path,
                                                     monkeypatch):
    """The trade updates go silent 30 rows before the session's end (and no periodic
    reconciliation reads them back): the fills of those rows reach the session only
    through the final reconciliation, after the last row closed. They must be in the
    loop (``fills.parquet``, its positions), not only in the journal."""
    monkeypatch.setattr(session_mod, "RECONCILE_EVERY_ROWS", 10**9)
    venue = chaos_venue()
    silent = {360: [{"kind": "silence", "stream": "trade_updates", "seconds": None}]}
    run, a = _trade(venue, small_lake, tmp_path, silent, steps=None)
    assert run.session.stats.reconciliations[-1]["fills_added"] > 0  # the case arose
    assert _clean(a), a
    last = run.result.positions.row(-1, named=True)
    for sym in run.session.symbols:
        qty = venue.core.account.positions.get(sym, (0.0, 0.0))[0]
        assert float(qty) == pytest.approx(last[sym], abs=1e-9), sym


def test_venue_restart_mid_session(chaos_venue, small_lake, tmp_path, monkeypatch):
    def restarting(tag: str):
        venue = chaos_venue(state_path=tmp_path / f"{tag}.json")
        box = {"venue": venue}

        def hook(step: int) -> None:
            if step in (10, 25):
                v = box["venue"]
                v.stop()
                port = int(v.urls.trading.rsplit(":", 1)[1])
                box["venue"] = Venue(v.cfg.model_copy(update={"port": port}))
                box["venue"].start()
                box["requests"] = box.get("requests", []) + list(v.requests)
        t0 = time.monotonic()
        run = run_live(TOML, {**CHAOS, "backtest.reports": str(tmp_path / tag)},
                       lake=small_lake, venue_url=venue.urls.trading, force_reason="test",
                       max_steps=STEPS, on_start=lambda s: s.step_hooks.append(hook))
        v = box["venue"]
        reqs = box["requests"] + list(v.requests)
        a = audit(v.core, reqs, run.out_dir, [t0])
        v.stop()
        return run, a

    run, a = restarting("ok")
    assert _clean(a) and run.session.stats.reconnects >= 6, a
    control = LiveSession._control

    async def no_retry(self, http, method, path, body=None, *, retry=True):
        return await control(self, http, method, path, body, retry=False)

    monkeypatch.setattr(LiveSession, "_control", no_retry)  # broken: gives up at once
    with pytest.raises(LiveError, match="unreachable"):
        restarting("bad")


@pytest.fixture(params=["full", "read_only"])
def failing_disk(request, tmp_path):
    """``(reports folder, hook(session))``: the hook makes the journal's disk refuse
    writes at step 12 -- ``full``: the database may not grow by one more page;
    ``read_only``: the file system the run folder is on goes read-only under the open
    journal (``live.venue.disk``: the kernel's ext4 error path; needs root)."""
    if request.param == "full":
        def fill(session):
            def hook(step: int) -> None:
                if step == 12:
                    db = session.journal.db
                    db.execute(f"PRAGMA max_page_count = "
                               f"{db.execute('PRAGMA page_count').fetchone()[0]}")
            session.step_hooks.append(hook)
        yield tmp_path / "reports", fill, None
        return
    why = FailingDisk.unavailable()
    if why:
        pytest.skip(f"read-only disk fault: {why}")
    disk = FailingDisk(tmp_path / "disk.img", tmp_path / "disk")

    def fail(session):
        session.step_hooks.append(lambda step: disk.fail() if step == 12 else None)
    try:
        yield disk.mountpoint / "reports", fail, disk
    finally:
        disk.close()


def test_journal_disk_failure_stops_trading_and_resume_recovers(
        chaos_venue, small_lake, tmp_path, monkeypatch, failing_disk):
    reports, fail, disk = failing_disk
    venue = chaos_venue()
    with pytest.raises(LiveError, match="cannot write the journal.*--resume"):
        run_live(TOML, {**CHAOS, "backtest.reports": str(reports)}, lake=small_lake,
                 venue_url=venue.urls.trading, force_reason="test", max_steps=STEPS,
                 on_start=fail)
    if disk is not None:
        assert disk.read_only
        disk.repair()  # what an operator does before resuming
    (run_id,) = [p.name for p in reports.iterdir()]
    journal = Journal(reports / run_id / "journal.sqlite", create=False)
    journalled = {i.cid for i in journal.intents()}
    journal.close()
    # every order the venue has was journalled (fsync'd) before it was sent
    assert {o.client_order_id for o in venue.core.orders.values()} <= journalled
    assert not [o for o in venue.core.orders.values() if o.is_open]  # cancelled
    run, a = _trade(venue, small_lake, reports, resume=run_id)
    assert _clean(a), a

    write, commit = Journal._write, Journal.commit

    def careless_write(self, sql, args=(), many=False):  # broken: a refused write is
        try:  # ignored and the order goes out anyway
            return write(self, sql, args, many)
        except JournalError:
            self.failed = None
            return SimpleNamespace(rowcount=1)

    def careless_commit(self):
        try:
            commit(self)
        except JournalError:
            self.failed = None

    if disk is not None:
        disk.repair()
    venue2 = chaos_venue()
    monkeypatch.setattr(Journal, "_write", careless_write)
    monkeypatch.setattr(Journal, "commit", careless_commit)
    bad_reports = reports.parent / "bad"
    try:
        run_live(TOML, {**CHAOS, "backtest.reports": str(bad_reports)}, lake=small_lake,
                 venue_url=venue2.urls.trading, force_reason="test", max_steps=STEPS,
                 on_start=fail)
    except (OSError, sqlite3.Error):  # a read-only disk refuses the results and the
        pass  # journal's checkpoint too; the orders went out
    if disk is not None:
        disk.repair()
    (bad_id,) = [p.name for p in bad_reports.iterdir()]
    bad = audit(venue2.core, list(venue2.requests), bad_reports / bad_id, [0.0])
    assert bad["duplicate_orders"] > 0, bad  # sent, never journalled


@pytest.mark.parametrize("older", [False, True], ids=["journalled", "older_fw"])
def test_a_row_lost_before_its_intents_is_abandoned_alike_by_every_later_resume(
        chaos_venue, small_lake, tmp_path, older):
    """The journal refuses the first intent of a row whose bars it committed (a disk
    failing between the two): the resume closes that row's orders as never sent, and a
    second resume must replay the close where the first booked it -- else its loop keeps
    them open, decides otherwise from there on, books the journal's fills (by client
    order id) onto other orders and never again agrees with the broker. ``older``: the
    first resume journalled no close (fw before this test): the second one books it."""
    venue = chaos_venue()
    reports = tmp_path / "reports"

    def refuse(session):  # SQLite itself refuses the write, as a failing disk would
        session.step_hooks.append(lambda step: session.journal.db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON intents BEGIN "
            "SELECT RAISE(ABORT, 'disk I/O error'); END") if step == 12 else None)
    with pytest.raises(LiveError, match="cannot write the journal"):
        run_live(TOML, {**CHAOS, "backtest.reports": str(reports)}, lake=small_lake,
                 venue_url=venue.urls.trading, force_reason="test", max_steps=STEPS,
                 on_start=refuse)
    (run_id,) = [p.name for p in reports.iterdir()]
    path = reports / run_id / "journal.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP TRIGGER refuse")  # the disk repaired
    _trade(venue, small_lake, reports, steps=15, resume=run_id)
    abandoned = db.execute("SELECT count(*) FROM intents WHERE detail = "
                           "'decided before a crash, never sent'").fetchone()[0]
    if older:
        db.execute("DELETE FROM events WHERE key IN (SELECT 'close:' || cid FROM "
                   "intents WHERE detail = 'decided before a crash, never sent')")
    db.close()
    assert abandoned > 0  # the case under test happened
    run, a = _trade(venue, small_lake, reports, resume=run_id)
    assert [r["problems"] for r in run.session.stats.reconciliations if not r["ok"]] == []
    assert _clean(a), a
    broker = {s: float(v[0]) for s, v in venue.core.account.positions.items()}
    assert run.session.positions() == pytest.approx(
        {s: broker.get(s, 0.0) for s in run.session.symbols}, abs=1e-6)


@pytest.mark.parametrize("at", ["before_send", "after_send", "mid_fill", "reconcile"])
def test_kill_9_then_resume(chaos_venue, small_lake, tmp_path, monkeypatch, at):
    venue = chaos_venue()
    reports = tmp_path / "reports"
    sets = [f"--set={k}={v}" for k, v in {**CHAOS, "backtest.reports": reports}.items()]
    args = [str(Path(sys.executable).parent / "fw"), "live", "--paper", str(TOML),
            "--venue", venue.urls.trading, "--lake", str(small_lake), "--force", "test", *sets]
    t0 = time.monotonic()
    child = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    while venue.state()["orders"] < 20 and child.poll() is None:
        time.sleep(0.05)
    venue.fault(kind="kill", pid=child.pid, at=at)
    assert child.wait(300) == -9
    (run_id,) = [p.name for p in reports.iterdir()]
    t1 = time.monotonic()
    run, _ = _trade(venue, small_lake, reports, resume=run_id)
    a = audit(venue.core, list(venue.requests), run.out_dir, [t0, t1])
    assert _clean(a), a
    assert run.session.stats.reconciliations[0]["ok"]


def test_chaos_quick(tmp_path):
    """``benchmarks/chaos_live.py --quick``: every fault kind at least once, figures
    printed; no duplicate order, lost or double-counted fill, position mismatch,
    unreconciled send or failed session."""
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "chaos_live.py"),
                          "--quick", "--out", str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True)
    rows = {ln.split()[0]: ln.split()[1:] for ln in out.stdout.splitlines()
            if ln.split() and ln.split()[0] in (*CHAOS_KINDS, "total")}
    # the read-only disk needs root and a loop device; the harness says when it has none
    kinds = {*CHAOS_KINDS} - ({"read_only"} if FailingDisk.unavailable() else set())
    assert set(rows) == {*kinds, "total"}, out.stdout[-3000:] + out.stderr[-3000:]
    assert all(int(r[1]) >= 1 for r in rows.values())  # every kind injected
    _sessions, _faults, orders, dup, lost, double, pos, unrec, failed = \
        (int(x) for x in rows["total"][:9])
    assert orders > 0 and dup == lost == double == pos == unrec == failed == 0, out.stdout
    assert out.returncode == 0, out.stdout
    assert "any order sent while unreconciled: no" in out.stdout

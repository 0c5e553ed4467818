"""Chaos run: ``fw live --paper`` against ``fw venue`` under a seeded fault schedule, and
what survived it, counted from the venue's own records and the journal independently.

Each session: a lockstep local venue (``live.venue``, in this process, on a loopback
port, with a state file so it can be restarted) over one session of the small synthetic
lake, and ``fw live --paper`` in a child process trading bollinger_mr with short windows
(limit entries that time out and are cancelled, stop-loss / take-profit brackets, exits,
partial fills from a 10 % participation cap). The schedule (``live.venue.faults.
schedule``, seeded) lands faults at lockstep steps: every venue fault kind, ``kill``
(SIGKILL of the child before an order is booked, after it is booked before the reply,
right after a fill update, or while it lists orders to reconcile -- then ``fw live
--resume``), ``restart`` (the venue stopped and started again on its state file),
``disk_full`` (the child's file size limit dropped to 4 KiB: the journal cannot grow;
the child must stop with a clear message; resumed with the limit lifted) and
``read_only`` (the run folder is on an ext4 image that the kernel turns read-only under
the child; repaired with e2fsck, then resumed).

Checks, per session, after the last run of the child ended the session:

duplicate orders, lost and double-counted fills, position mismatches and orders sent
while unreconciled, from the venue's own records and the journal (``live.venue.audit``;
windows: every child start and venue restart), and the recovery time: wall time from a
(re)start to its first ``GET /v2/account`` (the end of a reconciliation).

    python benchmarks/chaos_live.py [--quick | --soak] [--sessions N] [--faults N]
                                    [--seed S] [--lake DIR] [--out DIR]

``--quick``: 1 session x 13 faults (every kind at least once): a few minutes on a
busy 2-core box. Default: 12 sessions x 90 faults (>= 1,000 faults; more faults per
session, fewer sessions: a session's replay costs minutes, a fault seconds), the
figures so far printed after each session. ``--soak``: one session, 78 faults of the
kinds that restart no process (every 5 session minutes on average), the RSS and open
descriptors of ``fw live`` and of this process (the venue's) sampled every 2 s, the
decision latency per hour. ``read_only`` needs root and a loop device
(``live.venue.disk``); without them it is left out and the output says why.
Exit status 1 when any count that must be zero is not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from framework.engine.run_config import load_strategy  # noqa: E402
from framework.types.nytime import iso_ny  # noqa: E402
from live.runner import venue_config  # noqa: E402
from live.venue import Venue, statefile  # noqa: E402
from live.venue.audit import ZERO as AUDIT_ZERO  # noqa: E402
from live.venue.audit import audit  # noqa: E402
from live.venue.disk import FailingDisk  # noqa: E402
from live.venue.faults import CHAOS_KINDS, RESTARTING, schedule  # noqa: E402

DAY = dt.date(2024, 1, 8)
TOML = ROOT / "strategies" / "bollinger_mr.toml"
# trades often: short window, low entry threshold, short entry timeout and hold
OVERRIDES = {"params.window": 5, "params.entry_z": 0.8, "params.exit_z": 0.2,
             "decision.entry_timeout_bars": 2, "decision.max_hold_bars": 8,
             "decision.size": 0.05, "data.start": DAY.isoformat(), "data.end": DAY.isoformat()}
FULL_DISK_BYTES = 4096
RESUMES_MAX = 40  # a session that needs more restarts than this is reported as failed
CHILD_TIMEOUT_S = 1800.0  # one fw live process longer than this: reported as hung
ZERO = (*AUDIT_ZERO, "failed_sessions")
SOAK_FAULTS = 78  # one every 5 minutes of the 6.5-hour session, on average
SAMPLE_S = 2.0  # soak: wall seconds between RSS / descriptor samples


class Child:
    """One ``fw live`` process; its output kept (last lines) for the report."""

    def __init__(self, args: list[str], env: dict):
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env=env, cwd=ROOT)
        self.t0 = time.monotonic()
        self.lines: list[str] = []
        self._t = threading.Thread(target=self._drain, daemon=True)
        self._t.start()

    def _drain(self) -> None:
        for line in self.proc.stdout:
            self.lines = (self.lines + [line.decode(errors="replace").rstrip()])[-40:]

    def wait(self) -> int:
        rc = self.proc.wait()
        self._t.join(5)
        return rc


def fw_live(venue_url: str, out: Path, lake: Path, resume: str | None) -> list[str]:
    sets = [f"--set={k}={v}" for k, v in OVERRIDES.items()]
    args = [str(Path(sys.executable).parent / "fw"), "live", "--paper", str(TOML),
            "--venue", venue_url, "--lake", str(lake), "--out", str(out),
            "--force", "chaos run", *sets]
    return args + (["--resume", resume] if resume else [])


def restart(venue: Venue, path: Path) -> Venue:
    """Stop ``venue``, write its state file, start a new venue on the same port from
    it. (The state file is written here, not after every request as a venue started
    with ``state_path`` does: that costs minutes per session on a slow disk.)"""
    venue.stop()
    statefile.save(path, statefile.snapshot(venue.core, venue.timeline.k, venue.clock.now(),
                                            venue.ended))
    port = int(venue.urls.trading.rsplit(":", 1)[1])
    cfg = venue.cfg.model_copy(update={"port": port})
    new = Venue(cfg.model_copy(update={"state_path": path}))
    new.cfg = cfg  # restored; it need not write the file again
    new.start()
    return new


def usage(pid: int) -> tuple[float, int]:
    """RSS (MiB) and open file descriptors of process ``pid`` (Linux ``/proc``)."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS:")))
    return rss_kb / 1024, len(os.listdir(f"/proc/{pid}/fd"))


def run_session(seed: int, n_faults: int, lake: Path, work: Path,
                kinds: tuple[str, ...] = CHAOS_KINDS, sample_s: float | None = None) -> dict:
    """One session under ``schedule(seed, ...)`` (over the venue's replay steps: every
    trade, quote and bar instant) of ``kinds``; its counts. ``sample_s``: every that
    many wall seconds, record the venue's clock, the RSS and open descriptors of the
    ``fw live`` child and of this process (the venue's), as ``samples``."""
    cfg, _ = load_strategy(TOML, {**OVERRIDES, "execution.tick_prices": True}, lake,
                           prepare=False)
    venue = Venue(venue_config(cfg, lake, DAY, rate_limit=100_000))
    urls = venue.start()
    venues = [venue]
    plan = schedule(seed, venue.timeline.n_steps, n_faults, kinds)
    injected: dict[str, int] = defaultdict(int)
    windows = []  # (kind, start wall s): a child (re)start or a venue restart
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    disk = FailingDisk(work / "disk.img", work / "disk") if "read_only" in kinds else None
    out = (work if disk is None else disk.mountpoint) / "reports"
    run_id = None
    child = Child(fw_live(urls.trading, out, lake, None), env)
    windows.append(("start", child.t0))
    resumes, failed, messages, samples = 0, None, [], []
    next_sample = time.monotonic()
    try:
        while True:
            while child.proc.poll() is None:
                if time.monotonic() - child.t0 > CHILD_TIMEOUT_S:
                    child.proc.kill()
                    failed = (f"fw live hung > {CHILD_TIMEOUT_S:g} s: "
                              + " | ".join(child.lines[-5:]))
                    break
                st = venue.state()
                k = st["steps_done"]
                if sample_s is not None and time.monotonic() >= next_sample:
                    next_sample += sample_s
                    try:
                        samples.append((time.monotonic(), int(st["clock"]),
                                         *usage(child.proc.pid), *usage(os.getpid())))
                    except (OSError, StopIteration):  # the child just exited
                        pass
                while plan and plan[0][0] <= k:
                    _, spec = plan.pop(0)
                    kind = spec["kind"]
                    injected[kind] += 1
                    if kind == "restart":
                        venue = restart(venue, work / "venue.json")
                        venues.append(venue)
                        windows.append(("venue", time.monotonic()))
                    elif kind == "disk_full":
                        resource.prlimit(child.proc.pid, resource.RLIMIT_FSIZE,
                                         (FULL_DISK_BYTES, FULL_DISK_BYTES))
                    elif kind == "read_only":
                        disk.fail()
                    elif kind == "kill":
                        venue.fault(**spec, pid=child.proc.pid)
                    else:
                        venue.fault(**spec)
                time.sleep(0.01)
            rc = child.wait()
            if failed is not None:
                break
            st = venue.state()
            if rc == 0 and st["ended"]:
                break
            if rc not in (0, -9):
                messages.append(next((ln for ln in reversed(child.lines) if ln.strip()),
                                     f"rc {rc}"))
            if disk is not None and disk.read_only:
                disk.repair()  # what an operator does before resuming
            runs = [p.name for p in out.iterdir()] if out.is_dir() else []
            if len(runs) != 1 or resumes >= RESUMES_MAX:
                failed = f"cannot resume (rc {rc}, runs {runs}): " + " | ".join(child.lines[-5:])
                break
            run_id = runs[0]
            resumes += 1
            venue.clear_faults()  # a kill aimed at the dead process must not hit the next
            child = Child(fw_live(urls.trading, out, lake, run_id), env)
            windows.append(("resume", child.t0))
        for v in venues:
            v.stop()
        res = check(venues, out, windows) if failed is None else {"failed": failed}
    finally:
        if disk is not None:
            disk.close()
    res.update(seed=seed, injected=dict(injected), resumes=resumes, messages=messages,
               samples=samples)
    return res


def check(venues: list[Venue], out: Path, windows: list[tuple[str, float]]) -> dict:
    """``live.venue.audit`` of the session, plus what the last run's ``live.json`` says."""
    (run_dir,) = list(out.iterdir())
    res = audit(venues[-1].core, [r for v in venues for r in v.requests], run_dir,
                [w[1] for w in windows])
    summary = json.loads((run_dir / "live.json").read_text())
    kinds = [w[0] for w in sorted(windows, key=lambda w: w[1])]
    res["unreconciled_at"] = [f"{kinds[w]} window +{s:.3f} s" for w, s in res["unreconciled_at"]]
    res["final_reconciliation_ok"] = summary["reconciliations"][-1]["ok"]
    res["bad_input"] = summary["bad_input"]
    res["summary"] = summary
    return res


def report(results: list[dict], kinds: tuple[str, ...] = CHAOS_KINDS) -> int:
    """Print per fault kind and in total; returns the exit status."""
    rows = {}
    for kind in (*kinds, "total"):
        rs = [r for r in results if kind == "total" or r["injected"].get(kind)]
        ok = [r for r in rs if "failed" not in r]
        rec = np.array([x for r in ok for x in r["recovery_s"]] or [np.nan])
        rows[kind] = {
            "sessions": len(rs),
            "faults": sum(r["injected"].get(kind, 0) if kind != "total"
                          else sum(r["injected"].values()) for r in rs),
            "orders": sum(r["orders"] for r in ok),
            **{z: sum(r.get(z, 0) for r in ok) for z in ZERO[:-1]},
            "failed_sessions": len(rs) - len(ok),
            "recovery_p50_s": float(np.nanpercentile(rec, 50)) if rec.size else float("nan"),
            "recovery_p99_s": float(np.nanpercentile(rec, 99)) if rec.size else float("nan")}
    head = ("kind", "sessions", "faults", "orders", "dup", "lost", "double", "pos!=",
            "unrec", "failed", "rec p50 s", "rec p99 s")
    print(("{:<14}" + "{:>10}" * (len(head) - 1)).format(*head))
    for kind, r in rows.items():
        print(("{:<14}" + "{:>10}" * 9 + "{:>10.2f}{:>10.2f}").format(
            kind, r["sessions"], r["faults"], r["orders"], r["duplicate_orders"],
            r["lost_fills"], r["double_fills"], r["position_mismatches"],
            r["unreconciled_sends"], r["failed_sessions"], r["recovery_p50_s"],
            r["recovery_p99_s"]))
    for r in results:
        if "failed" in r:
            print(f"seed {r['seed']}: FAILED {r['failed']}")
        for m in r["messages"]:
            print(f"seed {r['seed']}: child said: {m}")
        for u in r.get("unreconciled_at", []):
            print(f"seed {r['seed']}: order sent while unreconciled: {u}")
        for f in r.get("findings", []):
            print(f"seed {r['seed']}: {f}")
    bad = defaultdict(int)
    for r in results:
        for stream in r.get("bad_input", {}).values():
            for k, n in stream.items():
                bad[k] += n
    print("bad input skipped (last run of each session):", dict(bad) or "none")
    total = rows["total"]
    print(f"any order sent while unreconciled: {'yes' if total['unreconciled_sends'] else 'no'}")
    return 1 if any(total[z] for z in ZERO) else 0


def soak_report(r: dict, run_dir_summary: dict | None) -> None:
    """The soak's figures: RSS and descriptors at each half hour of the session, the
    decision latency per hour."""
    samples = r.get("samples", [])
    if samples:
        print("session time   wall s   fw live RSS MiB  fds   venue RSS MiB  fds")
        t_wall0 = samples[0][0]
        shown = set()
        for wall, clock, rss, fds, vrss, vfds in samples:
            hhmm = iso_ny(clock)[11:16]
            half = hhmm[:3] + ("00" if hhmm[3:] < "30" else "30")
            if half in shown and (wall, clock) != samples[-1][:2]:
                continue
            shown.add(half)
            print(f"{hhmm:<12} {wall - t_wall0:>8.0f} {rss:>16.1f} {fds:>4} {vrss:>15.1f} "
                  f"{vfds:>4}")
        # from 10:00 (started, warm) to the last row (the results written after it)
        day = [x for x in samples if "10:00" <= iso_ny(x[1])[11:16] < "16:00"]
        if day:
            for name, i in (("fw live", 2), ("venue", 4)):
                rss = np.array([x[i] for x in day])
                fds = np.array([x[i + 1] for x in day])
                print(f"{name}, 10:00-16:00 ({len(day)} samples): RSS first {rss[0]:.1f}, "
                      f"last {rss[-1]:.1f}, max {rss.max():.1f} MiB; open fds min "
                      f"{fds.min()}, max {fds.max()}")
    by_hour = (run_dir_summary or {}).get("decision_latency_by_hour_us") or {}
    if by_hour:
        print("hour (New York)  rows   decision p50 ms  p99 ms")
        for h, v in by_hour.items():
            if v:
                print(f"{h:<16} {v['n']:>5} {v['p50'] / 1e3:>16.2f} {v['p99'] / 1e3:>7.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--soak", action="store_true",
                    help="1 session, faults that restart no process, RSS/fds sampled")
    ap.add_argument("--sessions", type=int)
    ap.add_argument("--faults", type=int, help="faults per session")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lake", type=Path)
    ap.add_argument("--out", type=Path, help="keep the sessions' folders here")
    a = ap.parse_args()
    kinds = CHAOS_KINDS
    why = FailingDisk.unavailable()
    if why is not None:
        kinds = tuple(k for k in kinds if k != "read_only")
        print(f"read_only: not injected here: {why}")
    if a.soak:  # the same processes all session long: what they hold must stay flat
        kinds = tuple(k for k in kinds if k not in RESTARTING)
    sessions = a.sessions or (1 if a.quick or a.soak else 12)
    n_faults = a.faults or (len(kinds) if a.quick else SOAK_FAULTS if a.soak else 90)
    tmp = Path(tempfile.mkdtemp(prefix="fw-chaos-"))
    lake = a.lake
    if lake is None:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_live_latency import make_lake

        lake = tmp / "lake"
        make_lake(lake, train=False)
    results = []
    t0 = time.monotonic()
    for s in range(sessions):
        work = (a.out or tmp) / f"session-{a.seed + s}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        results.append(run_session(a.seed + s, n_faults, lake, work, kinds,
                                   SAMPLE_S if a.soak else None))
        r = results[-1]
        print(f"session {s + 1}/{sessions} seed {a.seed + s}: {sum(r['injected'].values())} "
              f"faults, {r['resumes']} resumes, "
              f"{'FAILED' if 'failed' in r else str(r['orders']) + ' orders'} "
              f"({time.monotonic() - t0:.0f} s)", flush=True)
        if s + 1 < sessions:  # a long run cut short still has its figures
            print(f"--- so far ({s + 1} sessions):")
            report(results, kinds)
            print("---", flush=True)
    rc = report(results, kinds)
    if a.soak:
        soak_report(results[0], results[0].get("summary"))
    if a.out is None:
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())

"""What a client run left at the venue, checked against its journal: the figures of a
chaos run (``benchmarks/chaos_live.py``) and of the fault tests. It reads the venue's
own records (orders, FILL activities, positions, request log) and the run folder
(``journal.sqlite`` read-only, ``fills.parquet``), never the client's live objects.

Counts (each must be 0 for a run that survived its faults):

* ``duplicate_orders``: client order ids the venue booked more than once, plus orders
  at the venue the journal has no intent for (a resend under a new id: the venue's
  uniqueness rule cannot stop that one; the run must be the account's only client);
* ``lost_fills``: executions of the run's orders missing from the journal, plus orders
  whose shares filled at the venue exceed what the loop booked (``fills.parquet``);
* ``double_fills``: journalled executions the venue never made, plus orders the loop
  booked more shares of than the venue filled;
* ``position_mismatches``: symbols whose venue position differs from the sum of the
  journal's fills (signed by the journalled side);
* ``unreconciled_sends``: ``POST /v2/orders`` after a window start (a client start or
  a venue restart) and before that window's first ``GET /v2/account`` answered 200 --
  the last read of a reconciliation.

Units: shares; seconds of `time.monotonic()` (the venue's process).
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from pathlib import Path

import polars as pl

QTY_EPS = 1e-6
ZERO = ("duplicate_orders", "lost_fills", "double_fills", "position_mismatches",
        "unreconciled_sends")


def audit(core, requests: list[tuple], run_dir: Path, windows: list[float]) -> dict:
    """The counts above for the run in ``run_dir`` at the venue whose state is ``core``
    (a ``VenueCore``; a restarted venue restores every order and activity), with the
    ``requests`` of every venue process (``Venue.requests`` rows) and the monotonic seconds
    at which windows start. Also: ``orders`` (the run's at the venue), ``fills``
    (their executions), ``recovery_s`` (per window: start -> first ``GET
    /v2/account``), ``unreconciled_at`` (per unreconciled send: the index of its
    window in time order, seconds after its start), ``findings`` (one line per item
    behind a non-zero count: the execution, order or symbol, for diagnosis)."""
    db = sqlite3.connect(f"file:{Path(run_dir) / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        intents = {cid: (oid, json.loads(body)) for cid, oid, body in
                   db.execute("SELECT cid, order_id, body FROM intents WHERE kind='submit'")}
        jfills = {k: (cid, qty) for k, cid, qty in
                  db.execute("SELECT key, cid, qty FROM events WHERE kind='fill'")}
    finally:
        db.close()
    cids = [o.client_order_id for o in core.orders.values()]
    mine = {o.id: o for o in core.orders.values() if o.client_order_id in intents}
    vexec = {a["execution_id"] for a in core.account.activities if a["order_id"] in mine}
    booked: dict[int, float] = {}  # a run that wrote no results booked nothing we can see
    if (Path(run_dir) / "fills.parquet").is_file():
        loop = pl.read_parquet(Path(run_dir) / "fills.parquet").group_by("order_id").agg(
            pl.col("qty").sum())
        booked = dict(zip(loop["order_id"].to_list(), loop["qty"].to_list(), strict=True))
    acts = {a["execution_id"]: a for a in core.account.activities if a["order_id"] in mine}
    findings = [f"lost fill: execution {e} of {mine[acts[e]['order_id']].client_order_id} "
                f"({acts[e]['side']} {acts[e]['qty']} {acts[e]['symbol']} at "
                f"{acts[e]['transaction_time']}) not in the journal"
                for e in sorted(vexec - set(jfills))]
    findings += [f"double fill: journalled execution {e} of {jfills[e][0]} the venue never made"
                 for e in sorted(set(jfills) - vexec)]
    lost = len(vexec - set(jfills))
    double = len(set(jfills) - vexec)
    for o in mine.values():
        b = booked.get(intents[o.client_order_id][0], 0.0)
        if abs(o.filled_qty - b) > QTY_EPS:
            findings.append(f"{'lost' if o.filled_qty > b else 'double'} fill: "
                            f"{o.client_order_id} filled {o.filled_qty} at the venue, "
                            f"the loop booked {b}")
        lost += o.filled_qty > b + QTY_EPS
        double += b > o.filled_qty + QTY_EPS
    pos: dict[str, float] = defaultdict(float)
    for cid, qty in jfills.values():
        if cid not in intents:  # a fill the journal cannot attribute to an order of its own
            findings.append(f"double fill: journalled fill of {cid}, no intent of its own")
            double += 1
            continue
        body = intents[cid][1]
        pos[body["symbol"]] += qty if body["side"] == "buy" else -qty
    venue_pos = {s: float(v[0]) for s, v in core.account.positions.items()}
    off = sorted(s for s in set(pos) | set(venue_pos)
                 if abs(venue_pos.get(s, 0.0) - pos.get(s, 0.0)) > QTY_EPS)
    findings += [f"position mismatch: {s} venue {venue_pos.get(s, 0.0)}, journal "
                 f"{pos.get(s, 0.0)}" for s in off]
    mismatch = len(off)
    counts: dict[str, int] = defaultdict(int)
    for c in cids:
        counts[c] += 1
    findings += [f"duplicate order: {c} booked {n} times" for c, n in counts.items() if n > 1]
    findings += [f"duplicate order: {c} at the venue, no intent in the journal"
                 for c in sorted(set(cids) - set(intents))]
    reqs = sorted(requests)
    unreconciled, recovery = [], []
    starts = sorted(windows)
    for w, (t0, t1) in enumerate(zip(starts, starts[1:] + [float("inf")], strict=True)):
        inside = [r for r in reqs if t0 <= r[0] < t1]
        first = next((r[0] for r in inside if r[1:] == ("GET", "/v2/account", 200)), None)
        early = [r for r in inside if r[1:3] == ("POST", "/v2/orders")
                 and (first is None or r[0] < first)]
        unreconciled += [(w, r[0] - t0) for r in early]
        if early:  # what the client did in the window up to its last early send
            seen = [f"+{r[0] - t0:.3f} {r[1]} {r[2]} {r[3]}" for r in inside
                    if r[0] <= early[-1][0]]
            findings.append(f"unreconciled send(s) in window {w}: " + "; ".join(seen[-12:]))
        if first is not None:
            recovery.append(first - t0)
    return {"orders": len(mine), "fills": len(vexec),
            "duplicate_orders": len(cids) - len(set(cids)) + len(set(cids) - set(intents)),
            "lost_fills": lost,
            "double_fills": double, "position_mismatches": mismatch,
            "unreconciled_sends": len(unreconciled), "unreconciled_at": unreconciled,
            "recovery_s": recovery, "findings": findings}

"""The venue's state file: orders, account, clock and replay position, so a venue killed
and started again on the same file carries on where it stopped (and a client can
reconcile against it). Written atomically (temp file, fsync, rename) before the venue
answers a mutating request and before it sends the updates of a replay batch."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

from live.venue.config import VenueConfigError
from live.venue.fills import PaperFills
from live.venue.orders import VenueOrder

STATE_VERSION = 1


def snapshot(core, step: int, clock_ns: int, ended: bool) -> dict:
    """Everything a restart needs, JSON-able."""
    acct = core.account
    rng = core.rng.getstate()
    data = {
        "version": STATE_VERSION, "session": core.hours.date.isoformat(),
        "symbols": core.symbols, "fills": core.cfg.fills, "clock_ns": clock_ns, "step": step,
        "ended": ended, "boundary_done": core.boundary_done,
        "rng": [rng[0], list(rng[1]), rng[2]],
        "account": {"id": acct.id, "cash": acct.cash, "initial_cash": acct.initial_cash,
                    "fees": acct.fees, "positions": acct.positions, "last_px": acct.last_px,
                    "first_px": acct.first_px, "activities": acct.activities},
        "orders": [dataclasses.asdict(o) for o in core.orders.values()],
    }
    if isinstance(core.model, PaperFills):
        data["paper_rng"] = core.model.rng.bit_generator.state
    return data


def save(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` atomically and durably."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(f.name, path)


def load(path: Path) -> dict | None:
    """The saved state, None if the file does not exist; a clear error if unreadable."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise VenueConfigError(f"venue: state file {path} is unreadable: {err}") from None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise VenueConfigError(f"venue: state file {path} has version "
                               f"{data.get('version') if isinstance(data, dict) else '?'}, "
                               f"expected {STATE_VERSION}")
    return data


def restore(core, data: dict, path: Path) -> None:
    """Put a snapshot back into a fresh ``VenueCore`` of the same session and symbols."""
    if data["session"] != core.hours.date.isoformat() or data["symbols"] != core.symbols \
            or data["fills"] != core.cfg.fills:
        raise VenueConfigError(
            f"venue: state file {path} is for session {data['session']} "
            f"({', '.join(data['symbols'])}, fills {data['fills']}), not "
            f"{core.hours.date} ({', '.join(core.symbols)}, fills {core.cfg.fills})")
    a, acct = data["account"], core.account
    acct.id = a["id"]
    acct.number = "PA" + acct.id.replace("-", "")[:10].upper()
    acct.cash, acct.initial_cash, acct.fees = a["cash"], a["initial_cash"], a["fees"]
    acct.positions = {k: list(v) for k, v in a["positions"].items()}
    acct.last_px, acct.first_px = a["last_px"], a["first_px"]
    acct.activities = a["activities"]
    v, state, gauss = data["rng"]
    core.rng.setstate((v, tuple(state), gauss))
    core.boundary_done = data["boundary_done"]
    for d in data["orders"]:
        od = VenueOrder(**d)
        core.orders[od.id] = od
        core.by_client_id[od.client_order_id] = od
        if od.status in ("new", "partially_filled"):
            core._working.setdefault(od.sym, []).append(od)
    if "paper_rng" in data and isinstance(core.model, PaperFills):
        core.model.rng.bit_generator.state = data["paper_rng"]

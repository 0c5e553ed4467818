"""Reconciliation: the broker's orders, fills, positions and account against the journal
and the engine, before any new order (at start and after every reconnect).

What it does, in order:

1. resolves every command still ``pending``/``unresolved`` by client order id;
2. reads every order of the account (``status=all``, 500 a page, oldest first, paged by
   ``after``); a journalled order with more shares filled at the broker than in the
   journal gets its missing executions from the FILL activities (by ``execution_id``, so
   nothing is counted twice), one closed at the broker a close event;
3. an open order the journal does not know is foreign: trading stops (it could trade
   against the strategy); closed foreign orders are only listed;
4. positions: the broker's against the engine's plus the fills not yet booked, exactly;
5. the account must be ACTIVE and not blocked.

Any problem blocks new orders (cancels are still allowed) until a later reconciliation
succeeds. Units: shares, USD.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import requests
from alpaca.common.exceptions import APIError

from framework.types.errors import FwError
from live.adapter.gateway import Gateway
from live.adapter.messages import ns_of
from live.journal import TERMINAL

PAGE = 500
QTY_EPS = 1e-6  # shares: positions equal up to the wire's decimal text


@dataclass
class Report:
    """What one reconciliation found; ``ok`` when trading may go on."""

    problems: list[str] = field(default_factory=list)
    orders: int = 0
    fills_added: int = 0
    closes_added: int = 0
    foreign: list[str] = field(default_factory=list)
    positions: dict[str, float] = field(default_factory=dict)
    cash: float | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


class PagingError(FwError):
    """The broker's order list cannot be read to its end (names the instant)."""


def all_orders(gw: Gateway) -> list[dict]:
    """Every order of the account, oldest first (``GET /v2/orders`` paged by ``after``).
    ``after`` is exclusive and many orders share one ``submitted_at`` (a row's orders
    reach a lockstep venue at one instant), so the next page starts 1 us before the
    last one's instant and the orders seen twice are dropped by id: paging from the
    instant itself skipped the rest of a tie cut by the page's end (their missed fills
    were never read back)."""
    out: dict[str, dict] = {}
    after = None
    while True:
        params = {"status": "all", "limit": PAGE, "direction": "asc", "nested": "false"}
        if after:
            params["after"] = after
        page = gw._call(gw.client.get, "/orders", params) or []
        new = [o for o in page if o["id"] not in out]
        for o in new:
            out[o["id"]] = o
        if len(page) < PAGE:
            return list(out.values())
        if not new:  # a whole page at one instant: the rest cannot be reached
            raise PagingError(f"GET /v2/orders: more than {PAGE} orders submitted at "
                              f"{page[-1]['submitted_at']}; cannot page past them")
        after = f"{np.datetime64(ns_of(page[-1]['submitted_at']) // 1000 - 1, 'us')}Z"


def fill_activities(gw: Gateway) -> list[dict]:
    """Every FILL activity of the account (``GET /v2/account/activities/FILL``, paged)."""
    out, token = [], None
    while True:
        params = {"direction": "asc", "page_size": 100}
        if token:
            params["page_token"] = token
        page = gw._call(gw.client.get, "/account/activities/FILL", params) or []
        out += page
        if len(page) < 100:
            return out
        token = page[-1]["id"]


def reconcile(gw: Gateway, expected_positions: Callable[[], dict[str, float]],
              on_fill: Callable[[str, str, int, float, float, float], bool],
              on_close: Callable[[str, str, int], bool],
              unsent: set[str] = frozenset()) -> Report:
    """Reconcile (see the module docstring). ``expected_positions()``: the engine's
    shares per symbol with every journalled fill booked; ``on_fill(cid, execution_id,
    ts, qty, price, order_qty)`` / ``on_close(cid, status, ts)`` hand a missed event to
    the session (False: already known); ``unsent``: pending intents of the row being
    sent, not yet POSTed (not looked up: the broker cannot have them)."""
    rep = Report()
    j = gw.journal
    try:
        for it in j.intents("submit"):
            if it.outcome in ("pending", "unresolved") and it.cid not in unsent:
                out = gw.resolve(it.cid)
                if out.outcome == "rejected":  # never reached the broker: the loop hears
                    if on_close(it.cid, "rejected", it.decision_ts):
                        rep.closes_added += 1
                elif out.outcome == "unresolved":
                    rep.problems.append(f"order {it.cid}: unresolved ({out.detail})")
        known = {it.cid: it for it in j.intents("submit")}
        orders = all_orders(gw)
        rep.orders = len(orders)
        acts = None
        for o in orders:
            cid = o["client_order_id"]
            if cid not in known:
                rep.foreign.append(cid)
                if o["status"] not in TERMINAL:
                    rep.problems.append(f"open order {o['id']} ({o['symbol']}, {cid}) is "
                                        "not this run's")
                continue
            if known[cid].broker_id is None:
                j.resolve(cid, "confirmed", o["id"], o["status"])
            if float(o["filled_qty"] or 0) > j.filled_qty(cid) + QTY_EPS:
                if acts is None:
                    acts = fill_activities(gw)
                for a in acts:
                    if a["order_id"] == o["id"]:
                        exec_id = a.get("execution_id") or a["id"].split("::")[-1]
                        qty = float(o["qty"]) if o.get("qty") else float("nan")
                        if on_fill(cid, exec_id, ns_of(a["transaction_time"]),
                                   float(a["qty"]), float(a["price"]), qty):
                            rep.fills_added += 1
            if o["status"] in ("canceled", "expired", "rejected"):
                if on_close(cid, o["status"], ns_of(o["updated_at"])):
                    rep.closes_added += 1
            j.set_status(cid, o["status"])
        broker = {p["symbol"]: float(p["qty"]) for p in gw._call(gw.client.get, "/positions")}
        rep.positions = broker
        mine = expected_positions()
        for sym in sorted(set(broker) | {s for s, q in mine.items() if q != 0.0}):
            b, m = broker.get(sym, 0.0), mine.get(sym, 0.0)
            if abs(b - m) > QTY_EPS:
                rep.problems.append(f"position {sym}: broker {b:g} shares, engine {m:g}")
        acct = gw._call(gw.client.get, "/account")
        rep.cash = float(acct["cash"])
        if acct.get("status") != "ACTIVE" or acct.get("trading_blocked") \
                or acct.get("account_blocked"):
            rep.problems.append(f"account {acct.get('account_number')}: status "
                                f"{acct.get('status')}, trading blocked "
                                f"{acct.get('trading_blocked')}")
    except (APIError, requests.RequestException, PagingError) as err:
        rep.problems.append(f"cannot reconcile: {type(err).__name__}: {err}")
    return rep

"""Order commands to the broker, each journalled before it is sent and ended in one of
four outcomes (``live.journal``): confirmed, rejected (403/422 on create: the broker
proved it did not take it), denied (refused here: trading blocked), unresolved (timeout,
transport error, 429 after waiting, 5xx: it may exist).

A POST is never resent blindly: an unresolved submit is resolved by
``GET /v2/orders:by_client_order_id``; a 422 "client_order_id must be unique" means the
order exists and is looked up the same way. A 429 is the one reply that proves the
request was not processed, so that one is retried after the bucket's wait.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests
from alpaca.common.exceptions import APIError

from framework.execution.sizing import SIZE_SHARES
from framework.types.codes import OrderType, TimeInForce
from live.adapter.ratelimit import TokenBucket
from live.journal import Journal, client_order_id

TYPES = {int(OrderType.MARKET): "market", int(OrderType.LIMIT): "limit",
         int(OrderType.STOP): "stop", int(OrderType.STOP_LIMIT): "stop_limit"}
TIFS = {int(TimeInForce.DAY): "day", int(TimeInForce.GTC): "gtc",
        int(TimeInForce.IOC): "ioc", int(TimeInForce.FOK): "fok"}
MAX_429 = 3  # retries of a request the broker refused for rate (not processed)


def order_body(row, plan, symbol: str, cid: str) -> dict:
    """The ``POST /v2/orders`` body of the loop's order ``row`` (``ORDER_DTYPE``) with
    its ``plan`` (``PLAN_DTYPE``): quantities and prices as the loop fixed them (floats
    whose shortest text is the same number, so the broker's fills match the backtest's);
    a market order still in USD (its shares fixed at the fill) as ``notional``; a
    fractional quantity DAY only (Alpaca's rule: a GTC one is sent as DAY)."""
    body = {"symbol": symbol, "side": "buy" if row["side"] > 0 else "sell",
            "type": TYPES[int(row["type"])], "time_in_force": TIFS[int(row["tif"])],
            "client_order_id": cid}
    if plan["size_mode"] != SIZE_SHARES and row["type"] == OrderType.MARKET:
        body["notional"] = float(plan["amount"])
    else:
        body["qty"] = float(row["qty"])
    if body.get("notional") is not None or float(row["qty"]) % 1.0 != 0.0:
        if body["time_in_force"] == "gtc":
            body["time_in_force"] = "day"
    if row["type"] in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        body["limit_price"] = float(row["limit_price"])
    if row["type"] in (OrderType.STOP, OrderType.STOP_LIMIT):
        body["stop_price"] = float(row["stop_price"])
    return body


@dataclass
class Outcome:
    """What became of one command: ``outcome`` (journal OUTCOMES), the broker's order
    (dict) when known, and the error text when there was one."""

    outcome: str
    order: dict | None = None
    detail: str | None = None


class Gateway:
    """Sends the loop's order commands for one run (``run_id``) through ``client``."""

    def __init__(self, client, bucket: TokenBucket, journal: Journal, run_id: str):
        self.client = client
        self.bucket = bucket
        self.journal = journal
        self.run_id = run_id
        self.blocked: str | None = None  # why new orders are refused (kill, reconcile)
        self.sent_ns: list[int] = []  # perf_counter_ns at each POST (latency figures)
        self.throttled = 0  # 429 replies seen (each waited for and tried again)

    def cid(self, decision_ts: int, symbol: str, order_id: int) -> str:
        """The deterministic client order id of the loop's order ``order_id``."""
        return client_order_id(self.run_id, decision_ts, symbol, order_id)

    def _call(self, fn, *args):
        """One REST call under the bucket; a 429 waits and is tried again (not
        processed by the broker), other errors go to the caller."""
        for k in range(MAX_429 + 1):
            self.bucket.acquire()
            try:
                return fn(*args)
            except APIError as err:
                if err.status_code != 429 or k == MAX_429:
                    raise
                self.throttled += 1
                self.bucket.remaining = 0.0  # wait for the window the broker names
        raise AssertionError("unreachable")

    def prepare(self, order_id: int, body: dict, decision_ts: int) -> bool:
        """Journal a new order (``journal.commit()`` before ``send``); False when the
        journal already has it (a resumed run deciding an order it sent before)."""
        return self.journal.intend(body["client_order_id"], order_id, "submit", body,
                                   decision_ts)

    def send(self, body: dict) -> Outcome:
        """Send one journalled new order and settle its outcome (see the module doc)."""
        cid = body["client_order_id"]
        if self.blocked:
            self.journal.resolve(cid, "denied", detail=self.blocked)
            return Outcome("denied", detail=self.blocked)
        self.sent_ns.append(time.perf_counter_ns())
        try:
            order = self._call(self.client.post, "/orders", body)
        except APIError as err:
            if err.status_code in (403, 422) and "client_order_id" not in str(err):
                self.journal.resolve(cid, "rejected", detail=str(err))
                return Outcome("rejected", detail=str(err))
            return self.resolve(cid)  # 422 duplicate id, 5xx: it may exist
        except requests.RequestException as err:
            self.journal.resolve(cid, "unresolved", detail=f"{type(err).__name__}: {err}")
            return self.resolve(cid)
        self.journal.resolve(cid, "confirmed", order["id"], order["status"])
        return Outcome("confirmed", order)

    def resolve(self, cid: str) -> Outcome:
        """Look an order up by client order id (never resend it): found → confirmed;
        404 → rejected (the broker says it does not have it); no answer → unresolved
        (looked up again at the next reconciliation)."""
        try:
            order = self._call(self.client.get, "/orders:by_client_order_id",
                               {"client_order_id": cid})
        except APIError as err:
            if err.status_code == 404:
                self.journal.resolve(cid, "rejected", detail="not at the broker (404 by "
                                     "client_order_id)")
                return Outcome("rejected", detail="not found")
            self.journal.resolve(cid, "unresolved", detail=str(err))
            return Outcome("unresolved", detail=str(err))
        except requests.RequestException as err:
            self.journal.resolve(cid, "unresolved", detail=f"{type(err).__name__}: {err}")
            return Outcome("unresolved", detail=str(err))
        self.journal.resolve(cid, "confirmed", order["id"], order["status"])
        return Outcome("confirmed", order)

    def cancel(self, cid: str) -> bool:
        """Cancel the broker's order of ``cid`` (allowed even while blocked); False when
        it is not known there or no longer open."""
        it = self.journal.intent(cid)
        if it is None or it.broker_id is None:
            return False
        try:
            self._call(self.client.cancel_order_by_id, it.broker_id)
        except APIError:
            return False  # 404 unknown / 422 not open: its update says what happened
        except requests.RequestException:
            return False  # unreachable (a restart): reconciliation reads what became of it
        return True

    def cancel_all(self) -> list[dict]:
        """``DELETE /v2/orders``; returns the broker's answer per order (``id``,
        ``status``: 200 when the cancel was accepted)."""
        return self._call(self.client.cancel_orders) or []

    def flatten(self) -> int:
        """``DELETE /v2/positions?cancel_orders=true``; returns how many positions."""
        return len(self._call(self.client.close_all_positions, True) or [])

"""A plain-Python L3 book with the same rules as ``kernels``: the readable statement.

Dicts and lists, no numba. The test suite checks the numba book against it on random
event streams (hypothesis) and ``benchmarks/bench_book.py`` times both on the same
messages to print the speed-up. Not for production use: it is 9-26x slower there.
"""

from __future__ import annotations

from framework.types.codes import BookEvent

_EPS = 1e-9


class ReferenceBook:
    """One book. Prices in 1e-4 USD units (int), sizes shares (float)."""

    def __init__(self) -> None:
        self.orders: dict[int, list] = {}  # id -> [side 0/1, price, remaining]
        self.levels: tuple[dict[int, float], dict[int, float]] = ({}, {})
        self.queues: tuple[dict[int, list[int]], dict[int, list[int]]] = ({}, {})
        self.counters = {"unknown_id": 0, "duplicate_id": 0, "overfill": 0, "trades": 0}

    def _take(self, s: int, px: int, qty: float) -> None:
        v = self.levels[s].get(px, 0.0) - qty
        if v <= _EPS:
            self.levels[s].pop(px, None)
        else:
            self.levels[s][px] = v

    def _remove(self, oid: int) -> None:
        s, px, _ = self.orders.pop(oid)
        self.queues[s][px].remove(oid)

    def _add(self, s: int, oid: int, px: int, qty: float) -> None:
        if oid in self.orders:
            self.counters["duplicate_id"] += 1
            return
        self.orders[oid] = [s, px, qty]
        self.queues[s].setdefault(px, []).append(oid)
        self.levels[s][px] = self.levels[s].get(px, 0.0) + qty

    def apply(self, kind: int, side: int, oid: int, px: int, qty: float, new_oid: int = 0) -> None:
        """Apply one event (``framework.types.BookEvent`` kinds)."""
        s = 0 if side > 0 else 1
        if kind == BookEvent.ADD:
            self._add(s, oid, px, qty)
        elif kind in (BookEvent.CANCEL, BookEvent.DELETE, BookEvent.EXEC_VISIBLE):
            o = self.orders.get(oid)
            if o is None:
                self.counters["unknown_id"] += 1
                if px > 0:
                    self._take(s, px, qty)
                return
            take = o[2] if (kind == BookEvent.DELETE or qty <= 0) else qty
            if take > o[2] + _EPS:
                self.counters["overfill"] += 1
                take = o[2]
            self._take(o[0], o[1], take)
            o[2] -= take
            if o[2] <= _EPS:
                self._remove(oid)
        elif kind == BookEvent.REPLACE:
            o = self.orders.get(oid)
            if o is None:
                self.counters["unknown_id"] += 1
                return
            s_old = o[0]
            self._take(o[0], o[1], o[2])
            self._remove(oid)
            self._add(s_old, new_oid, px, qty)
        elif kind == BookEvent.LEVEL:
            for q in self.queues[s].pop(px, []):
                del self.orders[q]
            self.levels[s].pop(px, None)
            if qty > 0:
                self.levels[s][px] = qty
        elif kind in (BookEvent.EXEC_HIDDEN, BookEvent.CROSS, BookEvent.TRADE):
            self.counters["trades"] += 1

    def top(self, n: int) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        """(asks best first, bids best first), each up to ``n`` (price units, shares)."""
        asks = sorted(self.levels[1].items())[:n]
        bids = sorted(self.levels[0].items(), reverse=True)[:n]
        return asks, bids

    def queue_ahead(self, oid: int) -> float:
        """Shares ahead of ``oid``: earlier known orders plus the level's anonymous volume."""
        s, px, _ = self.orders[oid]
        q = self.queues[s][px]
        known = sum(self.orders[k][2] for k in q)
        ahead = sum(self.orders[k][2] for k in q[: q.index(oid)])
        return ahead + max(self.levels[s].get(px, 0.0) - known, 0.0)

"""Real-time P&L: FIFO / LIFO / average cost against a plain-Python ledger, and the identity
realized + unrealized - fees = equity change under every lot method."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from framework.risk import LotMethod, pnl_frame, summary
from framework.risk.dtypes import MAX_LOTS
from framework.risk.report import unrealized


class Ledger:
    """Reference lot accounting for one symbol, written the obvious way."""

    def __init__(self):
        self.pos = 0.0
        self.lots = deque()  # [signed qty, price], oldest first
        self.avg = 0.0
        self.real = {"fifo": 0.0, "lifo": 0.0, "average": 0.0}
        self.lots_l = []

    def fill(self, d, p):
        if self.pos == 0 or (self.pos > 0) == (d > 0):
            self.avg = (self.pos * self.avg + d * p) / (self.pos + d)
            self.lots.append([d, p])
            self.lots_l.append([d, p])
            self.pos += d
            return
        sgn = 1.0 if self.pos > 0 else -1.0
        close = min(abs(d), abs(self.pos))
        for lots, key, pop in ((self.lots, "fifo", 0), (self.lots_l, "lifo", -1)):
            left = close
            while left > 1e-9 and lots:
                lot = lots[pop]
                take = min(left, abs(lot[0]))
                self.real[key] += take * (p - lot[1]) * sgn
                lot[0] -= sgn * take
                left -= take
                if abs(lot[0]) <= 1e-9:
                    lots.popleft() if pop == 0 else lots.pop()
        self.real["average"] += close * (p - self.avg) * sgn
        self.pos += d
        if abs(self.pos) <= 1e-9:
            self.pos, self.avg = 0.0, 0.0
            self.lots.clear()
            self.lots_l.clear()
        elif (self.pos > 0) != (sgn > 0):  # flipped: the rest opens at p
            self.avg = p
            self.lots.append([self.pos, p])
            self.lots_l.append([self.pos, p])


def test_fifo_lifo_average_worked_example(new_risk):
    r = new_risk(n_symbols=1)
    r.fill(0, 1, 10, 100.0)
    r.fill(0, 1, 10, 110.0)
    r.fill(0, -1, 15, 120.0, fee=1.5)
    real = r.SS[0]["realized"]
    assert real[LotMethod.FIFO] == pytest.approx(10 * 20 + 5 * 10)  # 250
    assert real[LotMethod.LIFO] == pytest.approx(10 * 10 + 5 * 20)  # 200
    assert real[LotMethod.AVERAGE] == pytest.approx(15 * 15)  # 225
    r.mark(0, 120.0)
    # what is left: FIFO holds 5 @ 110, LIFO 5 @ 100, average 5 @ 105
    assert unrealized(r.S, LotMethod.FIFO) == pytest.approx(50)
    assert unrealized(r.S, LotMethod.LIFO) == pytest.approx(100)
    assert unrealized(r.S, LotMethod.AVERAGE) == pytest.approx(75)
    frame = pnl_frame(r.S, r.SS, ["X"])
    assert frame["unrealized_lifo"][0] == pytest.approx(100)
    assert summary(r.S)["realized_fifo"] == pytest.approx(250)


def test_flip_short_to_long(new_risk):
    r = new_risk(n_symbols=1)
    r.fill(0, -1, 10, 50.0)
    r.fill(0, 1, 25, 40.0)
    s = r.SS[0]
    assert s["position"] == 15 and s["avg_cost"] == 40.0
    assert np.allclose(s["realized"], 100.0)
    assert np.allclose(s["cost"], 15 * 40.0)


def test_a_fill_is_the_newest_last_price(new_risk):
    """Bought at an open that gapped below the last close: the shares count at the price
    paid. By hand: 10,000 cash, close 100, buy 125 @ 80 with a 10 USD fee -> cash -10,
    equity -10 + 125 x 80 = 9,990 (at the stale close it was -10 + 12,500 = 12,490)."""
    r = new_risk(n_symbols=1, equity=10_000.0, mark="last")
    r.mark(0, 100.0, ts=1)
    r.fill(0, 1, 125, 80.0, fee=10.0, ts=2)
    assert r.st["cash"] == pytest.approx(-10.0)
    assert r.st["equity"] == pytest.approx(9_990.0)
    assert r.SS[0]["last_md_ts"] == 1  # the data clock is the feed's, not the fills'
    q = new_risk(n_symbols=1, equity=10_000.0, mark="mid")
    q.quote(0, 79.0, 81.5, ts=1)
    q.fill(0, 1, 10, 81.5, ts=1)  # crossing the ask while a quote is known: the mid marks
    assert q.SS[0]["mark"] == pytest.approx(80.25)
    assert q.st["equity"] == pytest.approx(10_000.0 - 10 * 81.5 + 10 * 80.25)


steps = hs.lists(
    hs.tuples(
        hs.integers(0, 1),  # sym
        hs.sampled_from([1, -1]),
        hs.floats(0.5, 50),  # qty
        hs.floats(5, 200),  # fill price
        hs.floats(0, 2),  # fee
        hs.floats(5, 200),  # mark afterwards
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(seq=steps, last_mark=hs.booleans())
def test_pnl_identity_and_reference(new_risk, seq, last_mark):
    r = new_risk(n_symbols=2, equity=50_000.0, mark="last" if last_mark else "mid")
    ledgers = [Ledger(), Ledger()]
    cash = 50_000.0
    marks = [np.nan, np.nan]
    quoted = [False, False]
    for t, (sym, side, qty, price, fee, mark) in enumerate(seq, start=1):
        r.fill(sym, side, qty, price, fee, ts=t)
        ledgers[sym].fill(side * qty, price)
        cash -= side * qty * price + fee
        if last_mark or not quoted[sym]:
            marks[sym] = price  # a fill is a trade print: the last price, the mark without a mid
        if t % 2 == 0:
            r.quote(sym, mark - 0.01, mark + 0.01, ts=t) if not last_mark else r.mark(
                sym, mark, ts=t
            )
            marks[sym] = mark
            quoted[sym] = not last_mark
        st = r.st
        mv = sum(lg.pos * m for lg, m in zip(ledgers, marks, strict=True) if not np.isnan(m))
        equity_change = cash + mv - 50_000.0
        assert st["equity"] - 50_000.0 == pytest.approx(equity_change, abs=1e-6 * (1 + abs(cash)))
        for m in LotMethod:
            total = st["realized"][m] + unrealized(r.S, m) - st["fees"]
            assert total == pytest.approx(equity_change, abs=1e-6 * (1 + abs(cash)))
        for k in range(2):
            for m in LotMethod:
                ref = ledgers[k].real[m.name.lower()]
                assert r.SS[k]["realized"][m] == pytest.approx(ref, rel=1e-9, abs=1e-6)
            assert r.SS[k]["position"] == pytest.approx(ledgers[k].pos, abs=1e-9)


def test_lot_overflow_merges_and_keeps_identity(new_risk):
    r = new_risk(n_symbols=1)
    for k in range(MAX_LOTS + 10):
        r.fill(0, 1, 1, 100.0 + k, fee=0.1)
    assert r.SS[0]["lot_overflow"] == 20  # 10 per queue
    r.fill(0, -1, MAX_LOTS + 5, 300.0)
    r.mark(0, 300.0)
    for m in LotMethod:
        total = r.st["realized"][m] + unrealized(r.S, m) - r.st["fees"]
        assert total == pytest.approx(r.st["equity"] - 100_000.0)

"""Pre-trade checks: every reason reachable, reduce-only orders pass, limits never breached."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from framework.risk import (
    kill_switch,
    on_halt_message,
    on_latency,
    reject_counts,
    risk_events,
    set_halt,
)
from framework.types import RejectReason as R

S = 1_000_000_000


def test_accepts_within_limits_and_reserves(new_risk):
    r = new_risk(max_position_shares=100)
    assert r.check(0, 1, 60, 100.0) == 0
    assert r.SS[0]["open_buy"] == 60
    # the open order counts: 60 reserved + 50 > 100
    assert r.check(0, 1, 50, 100.0) == R.MAX_POSITION_SHARES
    r.close_order(0, 1, 60)
    assert r.check(0, 1, 50, 100.0) == 0


@pytest.mark.parametrize(
    ("cfg", "order", "reason"),
    [
        ({"max_position_shares": 100}, (0, 1, 150, 100.0), R.MAX_POSITION_SHARES),
        ({"max_position_notional": 5000}, (0, 1, 60, 100.0), R.MAX_POSITION_NOTIONAL),
        ({"max_gross_exposure": 5000}, (0, -1, 60, 100.0), R.GROSS_EXPOSURE),
        ({"max_net_exposure": 5000}, (0, -1, 60, 100.0), R.NET_EXPOSURE),
        ({"max_order_qty": 10}, (0, 1, 11, 100.0), R.MAX_ORDER_QTY),
        ({"max_order_notional": 1000}, (0, 1, 11, 100.0), R.MAX_ORDER_NOTIONAL),
        ({"allow_short": False}, (0, -1, 1, 100.0), R.SHORT_NOT_ALLOWED),
        ({"shortable": False}, (0, -1, 1, 100.0), R.SHORT_NOT_ALLOWED),
        ({"max_concentration": 0.1}, (0, 1, 200, 100.0), R.CONCENTRATION),
        ({"buying_power_multiple": 1.0}, (0, 1, 1001, 100.0), R.BUYING_POWER),
        ({}, (0, 1, 0.0, 100.0), R.INVALID_ORDER),
        ({}, (0, 1, 1.0, np.nan), R.INVALID_ORDER),
        ({}, (0, 0, 1.0, 100.0), R.INVALID_ORDER),
        ({}, (5, 1, 1.0, 100.0), R.INVALID_ORDER),
    ],
)
def test_each_static_reason(new_risk, cfg, order, reason):
    r = new_risk(**cfg)
    assert r.check(*order) == reason
    assert r.st["reject_counts"][reason] == 1
    ev = risk_events(r.S)
    assert ev["reason"][-1] == reason and ev["kind"][-1] == 1
    assert reject_counts(r.S) == {reason.name.lower(): 1}


def test_max_open_positions(new_risk):
    r = new_risk(n_symbols=3, max_open_positions=1)
    assert r.check(0, 1, 10, 100.0) == 0
    assert r.check(1, 1, 10, 100.0) == R.MAX_OPEN_POSITIONS
    assert r.check(0, 1, 10, 100.0) == 0  # same symbol: already counted
    r.fill(0, 1, 20, 100.0)
    r.fill(0, -1, 20, 100.0)  # flat again, no open orders
    assert r.check(1, 1, 10, 100.0) == 0


def test_price_collar_against_mid_then_last(new_risk):
    r = new_risk(price_collar=0.05)
    r.mark(0, 100.0)
    assert r.check(0, 1, 1, 104.9) == 0
    assert r.check(0, 1, 1, 105.1) == R.PRICE_COLLAR
    r.quote(0, 199.0, 201.0)  # mid 200 now wins over last
    assert r.check(0, 1, 1, 104.9) == R.PRICE_COLLAR
    assert r.check(0, 1, 1, 195.0) == 0


def test_order_rate_sliding_windows(new_risk):
    r = new_risk(max_orders_per_sec=3, max_orders_per_min=5)
    t0 = 10 * S
    for k in range(3):
        assert r.check(0, 1, 1, 100.0, t0 + k) == 0
    assert r.check(0, 1, 1, 100.0, t0 + S - 1) == R.ORDER_RATE
    assert r.check(0, 1, 1, 100.0, t0 + S) == 0  # the first one left the 1 s window
    assert r.check(0, 1, 1, 100.0, t0 + 2 * S) == 0  # 5 in the minute now
    assert r.check(0, 1, 1, 100.0, t0 + 30 * S) == R.ORDER_RATE
    assert r.check(0, 1, 1, 100.0, t0 + 60 * S) == 0


def test_halted_stale_kill_and_breaker(new_risk):
    r = new_risk(stale_data_s=1.0, max_latency_ms=5)
    r.mark(0, 100.0, ts=1 * S)
    assert r.check(0, 1, 1, 100.0, ts=int(2.5 * S)) == R.STALE_DATA
    r.mark(0, 100.0, ts=3 * S)
    set_halt(r.S, r.SS, 0, True, 3 * S)
    assert r.check(0, 1, 1, 100.0, ts=3 * S) == R.HALTED
    set_halt(r.S, r.SS, 0, False, 3 * S)
    assert r.check(0, 1, 1, 100.0, ts=3 * S) == 0
    on_latency(r.L, r.S, 6_000_000, 3 * S)
    assert r.check(0, 1, 1, 100.0, ts=3 * S) == R.CIRCUIT_BREAKER
    kill_switch(r.S)
    assert r.check(0, 1, 1, 100.0, ts=3 * S) == R.KILL_SWITCH


def test_reducing_orders_pass_kill_breakers_and_size_limits(new_risk):
    r = new_risk(max_order_qty=50, max_orders_per_sec=1, price_collar=0.1)
    r.mark(0, 100.0)
    r.fill(0, 1, 200, 100.0)
    kill_switch(r.S)
    assert r.check(0, 1, 1, 100.0) == R.KILL_SWITCH
    assert r.check(0, -1, 150, 100.0, ts=2) == 0  # reduces, bigger than max_order_qty
    assert r.check(0, -1, 50, 100.0, ts=3) == 0  # still within the position
    assert r.check(0, -1, 1, 100.0, ts=4) == R.KILL_SWITCH  # would flip to short
    assert r.check(0, -1, 10, 150.0, ts=5) == R.PRICE_COLLAR  # fat finger still caught


def test_covering_a_short_counts_the_buys_already_working(new_risk):
    # the short side of the rule above: a second cover must not pass the kill switch and
    # flip the account long
    r = new_risk()
    r.mark(0, 100.0)
    r.fill(0, -1, 100, 100.0)
    kill_switch(r.S)
    assert r.check(0, -1, 1, 100.0) == R.KILL_SWITCH  # adds to the short
    assert r.check(0, 1, 60, 100.0, ts=2) == 0  # covers 60 of 100
    assert r.check(0, 1, 40, 100.0, ts=3) == 0  # with the 60 working: exactly flat
    assert r.check(0, 1, 1, 100.0, ts=4) == R.KILL_SWITCH  # 60 + 40 + 1 > 100: long
    assert r.check(0, 1, 60, 100.0, ts=5) == R.KILL_SWITCH  # a second full cover


def test_consecutive_rejects_breaker(new_risk):
    r = new_risk(max_order_qty=1, max_consecutive_rejects=3)
    for _ in range(3):
        assert r.check(0, 1, 2, 100.0) == R.MAX_ORDER_QTY
    assert r.st["breakers"] != 0
    assert r.check(0, 1, 1, 100.0) == R.CIRCUIT_BREAKER


# --------------------------------------------------------------- property: hard limits
ops = hs.lists(
    hs.tuples(
        hs.sampled_from(["order", "order", "fill", "fill", "cancel", "move"]),
        hs.sampled_from([0, 0, 1, 2]),  # sym
        hs.sampled_from([1, 1, -1]),  # side
        hs.one_of(hs.sampled_from([15.0, 25.0, 45.0, 55.0, 65.0]), hs.floats(1, 80)),  # qty
        hs.floats(0.05, 1.0),  # fill fraction / price factor
    ),
    min_size=4,
    max_size=60,
)


def _run_ops(r, seq, move_prices):
    """Send orders through pre_trade_check; fill / cancel accepted ones; move prices."""
    px = np.array([100.0, 50.0, 20.0])
    for k in range(3):
        r.mark(k, px[k])
    open_orders = []  # [sym, side, remaining]
    for t, (op, sym, side, qty, u) in enumerate(seq, start=1):
        if op == "order":
            if r.check(sym, side, qty, px[sym], ts=t) == 0:
                open_orders.append([sym, side, qty])
        elif op == "fill":
            # fill every open order (fully when u > 0.5): the worst case for the limits
            for o in list(open_orders):
                q = o[2] if u > 0.5 else o[2] * u
                r.fill(o[0], o[1], q, px[o[0]], fee=0.01 * q, ts=t)
                o[2] -= q
                if o[2] <= 1e-12:
                    open_orders.remove(o)
        elif op == "cancel" and open_orders:
            o = open_orders.pop(int(u * 1e6) % len(open_orders))
            r.close_order(o[0], o[1], o[2], ts=t)
        elif op == "move" and move_prices:
            px[sym] *= 0.5 + u
            r.mark(sym, px[sym], ts=t)
        yield px


@settings(max_examples=300, deadline=None)
@given(seq=ops)
def test_no_sequence_breaches_share_limits(new_risk, seq):
    r = new_risk(n_symbols=3, max_position_shares=100, max_open_positions=2, max_order_qty=70)
    r.SL[2]["shortable"] = False
    for _ in _run_ops(r, seq, move_prices=True):
        pos = r.SS["position"]
        assert np.all(np.abs(pos) <= 100 + 1e-9)
        assert pos[2] >= -1e-9
        assert np.count_nonzero(np.abs(pos) > 1e-9) <= 2


@settings(max_examples=300, deadline=None)
@given(seq=ops)
def test_no_sequence_breaches_exposure_limits(new_risk, seq):
    r = new_risk(
        n_symbols=3,
        max_position_notional=4000,
        max_gross_exposure=7000,
        max_net_exposure=3000,
        max_concentration=0.035,
    )
    for px in _run_ops(r, seq, move_prices=False):
        notional = r.SS["position"] * px
        assert np.all(np.abs(notional) <= 4000 + 1e-6)
        assert np.abs(notional).sum() <= 7000 + 1e-6
        assert abs(notional.sum()) <= 3000 + 1e-6
        # checked against the equity of the time, which fees only lower
        assert np.all(np.abs(notional) <= 0.035 * 100_000 + 1e-6)


def test_lobster_halt_messages(new_risk):
    r = new_risk()
    for price, halted in ((-1.0, True), (0.0, True), (1.0, False), (-0.0001, True)):
        on_halt_message(r.S, r.SS, 0, price, 5)
        assert r.SS[0]["halted"] == halted
        assert (r.check(0, 1, 1, 100.0) == R.HALTED) == halted

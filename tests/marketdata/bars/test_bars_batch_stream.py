"""Batch and streaming bar aggregation are one rule: identical bars and counters for any
trade sequence, and time/tick bars match an independent plain-Python reference."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framework.marketdata.bars import BarAggregator, BarSpec, SessionTable, build_bars
from framework.types import BAR_DTYPE, TRADE_DTYPE

# two tiny "sessions" in ns so that generated timestamps often hit opens, closes and bar
# boundaries exactly: [1000, 3000) and [5000, 6500); interval 250 -> last slot cut at 6500
SESSIONS = SessionTable(np.array([1000, 5000], np.int64), np.array([3000, 6500], np.int64))
INTERVAL = 250

SPECS = [
    BarSpec.time(INTERVAL),
    BarSpec.time(INTERVAL, ffill=True),
    BarSpec.time(700),
    BarSpec.tick(3),
    BarSpec.tick(2, session_reset=False),
    BarSpec.volume(250.0),
    BarSpec.dollar(20_000.0),
    BarSpec.dollar(5_000.0, session_reset=False),
    BarSpec.tick_imbalance(4.0, bars_span=3.0, imbalance_span=5.0),
]

_ts = st.one_of(
    st.integers(0, 7000),
    st.sampled_from([999, 1000, 1250, 2999, 3000, 5000, 6250, 6499, 6500]),
    st.integers(0, 28).map(lambda k: 1000 + k * INTERVAL),  # exactly on bar boundaries
)
_price = st.one_of(st.sampled_from([99.0, 100.0, 100.5, 101.0, 0.0, -1.0, float("nan")]),
                   st.floats(90.0, 110.0))
_size = st.one_of(st.sampled_from([0.0, -5.0, 1.0, 100.0, float("nan")]), st.floats(1.0, 300.0))
_trade = st.tuples(_ts, st.integers(0, 2), _price, _size)


def _trades(rows) -> np.ndarray:
    arr = np.zeros(len(rows), TRADE_DTYPE)
    for i, (t, s, p, z) in enumerate(rows):
        arr[i] = (t, s, p, z)
    return arr


def _mostly_sorted(rows, shuffle_some: bool):
    rows = sorted(rows, key=lambda r: r[0])
    if shuffle_some and len(rows) > 3:  # a few out-of-order trades
        rows[1], rows[-2] = rows[-2], rows[1]
    return rows


def _stream(spec: BarSpec, trades: np.ndarray) -> tuple[np.ndarray, dict]:
    agg = BarAggregator(spec, SESSIONS)
    parts = [agg.push(int(t["ts"]), int(t["sym"]), float(t["price"]), float(t["size"]))
             for t in trades]
    parts.append(agg.flush())
    return np.concatenate(parts) if parts else np.zeros(0, BAR_DTYPE), agg.counts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_trade, max_size=60), shuffle_some=st.booleans(),
       spec_i=st.integers(0, len(SPECS) - 1))
def test_batch_equals_streaming(rows, shuffle_some, spec_i):
    spec = SPECS[spec_i]
    trades = _trades(_mostly_sorted(rows, shuffle_some))
    batch = build_bars(trades, spec, sessions=SESSIONS, order="emission")
    bars, counts = _stream(spec, trades)
    assert bars.dtype == BAR_DTYPE
    assert bars.tobytes() == batch.bars.tobytes()
    if trades.size:
        assert counts == batch.counts
        c = counts
        assert c["accepted"] + c["bad"] + c["out_of_order"] + c["out_of_session"] == trades.size
        assert c["bars"] + c["filled_bars"] == len(bars)
        # chunked streaming (push_many + flush) is the same again
        agg = BarAggregator(spec, SESSIONS)
        k = trades.size // 2
        chunked = np.concatenate([agg.push_many(trades[:k]), agg.push_many(trades[k:]),
                                  agg.flush()])
        assert chunked.tobytes() == batch.bars.tobytes()


def _reference_time_bars(trades: np.ndarray, interval: int) -> list[tuple]:
    """Plain Python: filter, then bucket by (symbol, session, slot) from the session open."""
    last: dict[int, int] = {}
    buckets: dict[tuple, list] = {}
    for t, s, p, z in trades.tolist():
        if not (z > 0 and p > 0):
            continue
        if t < last.get(s, -(2**62)):
            continue
        d = next((i for i, (o, c) in enumerate(zip(SESSIONS.opens, SESSIONS.closes,
                                                   strict=True)) if o <= t < c), None)
        if d is None:
            continue
        last[s] = t
        start = int(SESSIONS.opens[d]) + (t - int(SESSIONS.opens[d])) // interval * interval
        buckets.setdefault((start, s), []).append((t, p, z))
    out = []
    for (start, s), tr in sorted(buckets.items()):
        px = [p for _, p, _ in tr]
        vol = sum(z for _, _, z in tr)
        out.append((start, s, px[0], max(px), min(px), px[-1], vol,
                    sum(p * z for _, p, z in tr) / vol, len(tr), tr[0][0], tr[-1][0]))
    return out


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(_trade, max_size=60), shuffle_some=st.booleans(),
       interval=st.sampled_from([INTERVAL, 700, 2000]))
def test_time_bars_match_python_reference(rows, shuffle_some, interval):
    trades = _trades(_mostly_sorted(rows, shuffle_some))
    got = build_bars(trades, BarSpec.time(interval), sessions=SESSIONS).bars
    ref = _reference_time_bars(trades, interval)
    assert len(got) == len(ref)
    for g, r in zip(got.tolist(), ref, strict=True):
        assert g[:2] == r[:2] and g[8:] == r[8:]
        np.testing.assert_allclose(g[2:8], r[2:8], rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_trade, max_size=60))
def test_tick_and_volume_bars_partition_accepted_trades(rows):
    trades = _trades(_mostly_sorted(rows, False))
    tb = build_bars(trades, BarSpec.tick(3), sessions=SESSIONS)
    vb = build_bars(trades, BarSpec.volume(250.0), sessions=SESSIONS)
    for b in (tb, vb):
        assert b.bars["n"].sum() == b.counts["accepted"]
        assert np.all(b.bars["ts"] == b.bars["first_ts"])
        assert np.all(b.bars["high"] >= np.maximum(b.bars["open"], b.bars["close"]))
        assert np.all(b.bars["low"] <= np.minimum(b.bars["open"], b.bars["close"]))
    # every tick bar has exactly 3 trades except the last of a symbol-session
    assert np.all(tb.bars["n"] <= 3)
    # a volume bar is closed by the trade that reaches the threshold, never later
    full = vb.bars["volume"] >= 250.0
    assert np.all(vb.bars["n"][full] >= 1)


def test_advance_closes_bars_early_and_later_trades_are_late():
    spec = BarSpec.time(INTERVAL, ffill=True)
    agg = BarAggregator(spec, SESSIONS)
    assert agg.push(1010, 0, 100.0, 10.0).size == 0
    early = agg.advance(1600)  # slots [1000,1250) and [1250,1500) have ended
    assert early["ts"].tolist() == [1000, 1250] and early["n"].tolist() == [1, 0]
    assert early["close"].tolist() == [100.0, 100.0] and early["volume"].tolist() == [10.0, 0.0]
    assert agg.push(1590, 0, 101.0, 1.0).size == 0  # before the clock: late
    assert agg.counts["out_of_order"] == 1
    rest = agg.flush()
    assert rest["ts"][0] == 1500 and rest["n"][0] == 0  # 1500 slot never traded
    n_slots = (3000 - 1000) // INTERVAL + (6500 - 5000 + INTERVAL - 1) // INTERVAL
    assert len(early) + len(rest) == n_slots


def test_errors_name_the_problem():
    import pytest

    from framework.marketdata.bars import BarError, time_bars

    with pytest.raises(BarError, match="interval_ns"):
        time_bars(np.zeros(1, TRADE_DTYPE), 0)
    with pytest.raises(BarError, match="lacks field"):
        time_bars(np.zeros(2, [("ts", "i8"), ("px", "f8")]), 60)
    with pytest.raises(BarError, match="tick-imbalance"):
        BarSpec.tick_imbalance(0.5).params()
    bad = np.zeros(1, TRADE_DTYPE)
    bad["sym"] = -1
    with pytest.raises(BarError, match="sym"):
        time_bars(bad, 60)


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(_trade, max_size=50), spec_i=st.integers(0, len(SPECS) - 1))
def test_clock_driven_streaming_gives_the_same_bars(rows, spec_i):
    """The live driver calls ``advance(now)`` on its clock: bars come out earlier but are
    the same bars (per symbol, in the same order) with the same counters."""
    spec = SPECS[spec_i]
    trades = _trades(_mostly_sorted(rows, False))
    batch = build_bars(trades, spec, sessions=SESSIONS, order="emission")
    agg = BarAggregator(spec, SESSIONS)
    parts = []
    for t in trades:
        parts.append(agg.advance(int(t["ts"])))
        parts.append(agg.push(int(t["ts"]), int(t["sym"]), float(t["price"]), float(t["size"])))
    parts.append(agg.advance(7000))
    parts.append(agg.flush())
    bars = np.concatenate(parts)
    by_sym = bars[np.argsort(bars["sym"], kind="stable")]
    ref = batch.bars[np.argsort(batch.bars["sym"], kind="stable")]
    assert by_sym.tobytes() == ref.tobytes()
    if trades.size:
        assert agg.counts == batch.counts


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(_trade, min_size=1, max_size=60), spec_i=st.integers(0, len(SPECS) - 1))
def test_chunked_batch_equals_single_call(rows, spec_i):
    import framework.marketdata.bars as B

    trades = _trades(_mostly_sorted(rows, True))
    whole = build_bars(trades, SPECS[spec_i], sessions=SESSIONS, order="emission")
    old = B._CHUNK
    B._CHUNK = 7  # the batch layer runs the kernel in chunks; state must carry over
    try:
        chunked = build_bars(trades, SPECS[spec_i], sessions=SESSIONS, order="emission")
    finally:
        B._CHUNK = old
    assert chunked.bars.tobytes() == whole.bars.tobytes() and chunked.counts == whole.counts


def _reference_tick_imbalance(trades: np.ndarray, et0: float, span_t: float, span_b: float,
                              min_imb: float, lo: float, hi: float) -> list[tuple]:
    """Plain Python, from the documented rule (``tick_imbalance_bars``): tick rule b,
    |sum b| >= E[T] * max(|E[b]|, min_imbalance), bars reset at the session change."""
    a_t, a_b = 2.0 / (span_t + 1.0), 2.0 / (span_b + 1.0)
    last: dict[int, int] = {}
    st: dict[int, dict] = {}
    out = []

    def emit(s, b):
        out.append((b["first"], s, b["o"], b["h"], b["l"], b["c"], b["v"], b["pv"] / b["v"],
                    b["n"], b["first"], b["last"]))

    for t, s, p, z in trades.tolist():
        if not (z > 0 and p > 0) or t < last.get(s, -(2**62)):
            continue
        d = next((i for i, (o, c) in enumerate(zip(SESSIONS.opens, SESSIONS.closes,
                                                   strict=True)) if o <= t < c), None)
        if d is None:
            continue
        last[s] = t
        x = st.setdefault(s, {"et": et0, "eb": 0.0, "prev": None, "pb": 0.0, "bar": None})
        if x["bar"] is not None and x["bar"]["d"] != d:
            emit(s, x["bar"])
            x["bar"] = None
        if x["bar"] is None:
            x["bar"] = {"d": d, "first": t, "o": p, "h": p, "l": p, "v": 0.0, "pv": 0.0, "n": 0,
                        "cum": 0.0}
        b = x["bar"]
        b.update(h=max(b["h"], p), l=min(b["l"], p), c=p, v=b["v"] + z, pv=b["pv"] + p * z,
                 n=b["n"] + 1, last=t)
        sign = x["pb"]
        if x["prev"] is not None and p != x["prev"]:
            sign = 1.0 if p > x["prev"] else -1.0
        x["prev"], x["pb"] = p, sign
        b["cum"] += sign
        thr = x["et"] * max(abs(x["eb"]), min_imb)
        x["eb"] += a_b * (sign - x["eb"])
        if abs(b["cum"]) >= thr:
            x["et"] = min(max(x["et"] + a_t * (b["n"] - x["et"]), lo), hi)
            emit(s, b)
            x["bar"] = None
    for s in sorted(st):
        if st[s]["bar"] is not None:
            emit(s, st[s]["bar"])
    return sorted(out, key=lambda r: (r[0], r[1]))


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(_trade, max_size=60), shuffle_some=st.booleans())
def test_tick_imbalance_bars_match_python_reference(rows, shuffle_some):
    trades = _trades(_mostly_sorted(rows, shuffle_some))
    spec = BarSpec.tick_imbalance(4.0, bars_span=3.0, imbalance_span=5.0)
    got = build_bars(trades, spec, sessions=SESSIONS).bars
    ref = _reference_tick_imbalance(trades, 4.0, 3.0, 5.0, spec.min_imbalance,
                                    *spec.ticks_bounds)
    assert len(got) == len(ref)
    for g, r in zip(got.tolist(), ref, strict=True):
        assert g[:2] == r[:2] and g[8:] == r[8:]
        np.testing.assert_allclose(g[2:8], r[2:8], rtol=1e-12)

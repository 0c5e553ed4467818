"""Sale conditions and auctions in tick-to-bar aggregation, worked by hand on one real XNYS
session (2013-10-07, listing market NYSE 'N'), and batch == streaming with them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framework.data.calendar import sessions
from framework.marketdata.bars import BarAggregator, BarSpec, SessionTable, build_bars
from framework.marketdata.sale_conditions import (
    ConditionError,
    Prints,
    listing_exchange,
    masks,
    parse_conditions,
)
from framework.marketdata.trade_bars import bars_from_trades
from framework.types import BAR_DTYPE, TRADE_DTYPE

S, M = 1_000_000_000, 60_000_000_000
DAY = dt.date(2013, 10, 7)
_, _OPENS, _C = sessions(DAY, DAY)
OPEN, C = int(_OPENS[0]), int(_C[0])  # 09:30 and 16:00 New York, ns UTC

# (ts, price, size, exchange, conditions) -- one symbol, listed on NYSE ('N')
ROWS = [
    (OPEN + 1 * S, 10.00, 100, "Z", "@"),  # regular
    (OPEN + 2 * S, 10.50, 200, "Q", "F"),     # intermarket sweep: sip full, lean volume only
    (OPEN + 3 * S, 9.00, 50, "D", "I"),       # odd lot: volume only
    (OPEN + 4 * S, 10.20, 1000, "N", "O"),    # NYSE opening print: the bar's open
    (OPEN + 5 * S, 10.10, 300, "Q", "Q"),     # Nasdaq's official open: nothing
    (OPEN + M, 10.30, 100, "P", "T"),         # 09:31:00.000 exactly, Form T: volume only (sip)
    (OPEN + M + 10 * S, 10.40, 100, "P", "@"),
    (C - 30 * S, 10.60, 100, "Z", "@"),    # 15:59:30
    (C + 5 * S, 10.70, 100, "Q", "T"),     # post-market
    (C + 41 * S, 10.65, 5000, "N", "6"),   # NYSE closing print at 16:00:41: the last bar
    (C + 45 * S, 10.65, 0.5, "N", "M"),    # NYSE official close: sets the close, no volume
    (C + 400 * S, 10.80, 700, "N", "6"),   # a closing print past the 5-minute window
]
FRAME = pl.DataFrame(ROWS, schema=["ts", "price", "size", "exchange", "conditions"],
                     orient="row")
VWAP_0930 = (10.0 * 100 + 10.5 * 200 + 9.0 * 50 + 10.2 * 1000) / 1350


def _bars(rules, session="regular"):
    out = bars_from_trades(FRAME, "1m", session=session, rules=rules)
    assert out.listing == ("N" if rules else None)
    return out


def _row(frame, ts):
    return frame.filter(pl.col("ts") == ts).row(0, named=True)


def test_sip_rules_by_hand():
    out = _bars("sip")
    b = out.frame
    assert b["ts"].to_list() == [OPEN, OPEN + M, C - M]
    r = _row(b, OPEN)  # ISO in prices, odd lot only in volume, open = the opening print
    assert (r["open"], r["high"], r["low"], r["close"]) == (10.20, 10.50, 10.00, 10.20)
    assert r["volume"] == 1350 and r["n"] == 4 and r["vwap"] == pytest.approx(VWAP_0930)
    r = _row(b, OPEN + M)  # a trade at exactly 09:31:00 opens the 09:31 bar (left-closed)
    assert (r["open"], r["high"], r["low"], r["close"], r["volume"]) == (10.40,) * 4 + (200,)
    r = _row(b, C - M)  # closing print (16:00:41) and official close in the last bar
    assert (r["open"], r["high"], r["low"], r["close"]) == (10.60, 10.65, 10.60, 10.65)
    assert r["volume"] == 5100 and r["n"] == 2
    assert out.counts == {"accepted": 9, "bad": 0, "out_of_order": 0, "out_of_session": 2,
                          "bars": 3, "filled_bars": 0, "excluded": 1}


def test_lean_rules_by_hand():
    b = _bars("lean").frame
    r = _row(b, OPEN)  # the sweep counts in the volume only
    assert (r["open"], r["high"], r["low"], r["close"], r["volume"]) == (
        10.20, 10.20, 10.00, 10.20, 1350)
    r = _row(b, OPEN + M)  # a Form T print sets prices under LEAN's rules
    assert (r["open"], r["high"], r["low"], r["close"]) == (10.30, 10.40, 10.30, 10.40)


def test_extended_session_by_hand():
    b = _bars("sip", "extended").frame
    assert b["ts"].to_list() == [OPEN, OPEN + M, C - M, C, C + 6 * M]
    r = _row(b, C)  # post-market: a Form T print sets prices
    assert (r["open"], r["close"], r["volume"]) == (10.70, 10.70, 100)
    assert _row(b, C - M)["volume"] == 5100  # the auction still belongs to 15:59
    assert _row(b, C + 6 * M)["volume"] == 700  # a closing print past the window: its own bar


def test_without_conditions_every_print_counts():
    """What fw did before reading sale conditions: the odd lot sets the low, the
    closing auction is after-hours and the official close is a 0.5-share trade."""
    b = _bars(None).frame
    r = _row(b, OPEN)
    assert (r["open"], r["low"], r["volume"]) == (10.00, 9.00, 1650)
    assert _row(b, C - M)["close"] == 10.60 and _row(b, C - M)["volume"] == 100


def _arrays():
    tr = np.zeros(FRAME.height, TRADE_DTYPE)
    for f in ("ts", "price", "size"):
        tr[f] = FRAME[f].to_numpy()
    return tr, Prints(parse_conditions(FRAME["conditions"]),
                      FRAME["exchange"].to_numpy() == "N")


def test_streaming_holds_the_last_bar_for_the_closing_auction():
    tr, pr = _arrays()
    spec = BarSpec.time(M).with_conditions("sip")
    agg = BarAggregator(spec, SessionTable.xnys(DAY, DAY))
    got = []
    for t, f, x in zip(tr, pr.flags, pr.listing, strict=True):
        if t["ts"] == OPEN + M:  # the clock reaches 09:31:00 exactly: the 09:30 bar is done
            early = agg.advance(OPEN + M)
            assert early["ts"].tolist() == [OPEN]
            got.append(early)
        if t["ts"] == C + 41 * S:  # at 16:00 the last bar is not out: the auction may come
            assert agg.advance(C).size == 0
        got.append(agg.push(int(t["ts"]), 0, float(t["price"]), float(t["size"]), int(f),
                            bool(x)))
    last = agg.advance(C + 300 * S)  # the window ends: 15:59 comes out with the auction
    assert last["ts"].tolist() == [C - M] and last["volume"].tolist() == [5100.0]
    got += [last, agg.flush()]
    batch = build_bars(tr, spec, order="emission", prints=pr)
    assert np.concatenate(got).tobytes() == batch.bars.tobytes()
    assert agg.counts == batch.counts


def test_condition_codes_and_listing_market():
    flags = parse_conditions(["@", "F,I", "0x20000020", "", " ", None, "U"])
    assert flags[1] == (1 << 5) | (1 << 31) and flags[2] == 0x20000020
    assert flags[0] == flags[3] == flags[4] == flags[5] == 1
    m = masks("sip")  # an odd-lot sweep: volume yes, prices no ('U' = T + Z: neither)
    assert m[0] & flags[1] and m[1] & flags[1] and not m[2] & flags[1]
    assert m[1] & flags[6] and not m[2] & flags[6]
    with pytest.raises(ConditionError, match=r"row 1: unknown sale condition '\?'"):
        parse_conditions(["@", "F,?"], "lake trades SPY")
    with pytest.raises(ConditionError, match="rules 'nyse'"):
        masks("nyse")
    f = parse_conditions(["O", "6", "6", "@"])
    assert listing_exchange(np.array(["Q", "N", "Q", "P"]), f,
                            np.array([500.0, 9000.0, 300.0, 1e6])) == "N"
    assert listing_exchange(np.array(["P"]), parse_conditions(["@"]), np.array([1.0])) is None


# ---------------------------------------------------------------- batch == streaming
# one "session" [1000, 4000) with regular hours [1500, 3000) and a close window of 300
SESS = SessionTable(np.array([1000], np.int64), np.array([4000], np.int64),
                    np.array([1500], np.int64), np.array([3000], np.int64))
SPECS = [BarSpec.time(250), BarSpec.time(250, ffill=True), BarSpec.time(700), BarSpec.tick(3),
         BarSpec.volume(250.0), BarSpec.tick_imbalance(4.0, bars_span=3.0, imbalance_span=5.0)]
_cond = st.sampled_from(["@", "F", "I", "O", "6", "M", "Q", "T", "4", "Z", "W", "F,I", "O,F"])
_trade = st.tuples(st.one_of(st.integers(900, 4100),
                             st.sampled_from([1500, 1750, 2999, 3000, 3001, 3299, 3300, 3301])),
                   st.integers(0, 1), st.floats(90.0, 110.0), st.floats(1.0, 300.0), _cond,
                   st.booleans())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_trade, max_size=40), spec_i=st.integers(0, len(SPECS) - 1),
       rules=st.sampled_from(["sip", "lean"]), clock=st.booleans(), late=st.booleans())
def test_batch_equals_streaming_with_conditions(rows, spec_i, rules, clock, late):
    rows = sorted(rows, key=lambda r: r[0])
    if late and not clock and len(rows) > 3:  # a late report (the clock would drop it)
        rows.insert(len(rows) - 1, rows.pop(1))
    tr = np.zeros(len(rows), TRADE_DTYPE)
    for i, (t, s, p, z, _, _) in enumerate(rows):
        tr[i] = (t, s, p, z)
    pr = Prints(parse_conditions([r[4] for r in rows]) if rows else np.zeros(0, np.int64),
                np.array([r[5] for r in rows], bool))
    spec = SPECS[spec_i].with_conditions(rules, 300)
    batch = build_bars(tr, spec, sessions=SESS, order="emission", prints=pr)
    agg = BarAggregator(spec, SESS, 2)
    parts = []
    for t, f, x in zip(tr, pr.flags, pr.listing, strict=True):
        if clock:  # the live driver's timer
            parts.append(agg.advance(int(t["ts"])))
        parts.append(agg.push(int(t["ts"]), int(t["sym"]), float(t["price"]), float(t["size"]),
                              int(f), bool(x)))
    parts.append(agg.flush())
    got = np.concatenate(parts) if parts else np.zeros(0, BAR_DTYPE)
    if clock:  # bars come out earlier, per symbol in the same order
        got = got[np.argsort(got["sym"], kind="stable")]
        ref = batch.bars[np.argsort(batch.bars["sym"], kind="stable")]
    else:
        ref = batch.bars
    assert got.tobytes() == ref.tobytes()
    if rows:
        assert agg.counts == batch.counts
        c = batch.counts
        assert c["accepted"] + c["bad"] + c["out_of_order"] + c["out_of_session"] \
            + c["excluded"] == len(rows)
    b = batch.bars  # whatever the conditions, every bar is a valid OHLC bar
    assert np.all(b["low"] <= np.minimum(b["open"], b["close"]))
    assert np.all(b["high"] >= np.maximum(b["open"], b["close"]))


def test_the_documented_table_is_the_table():
    """docs/marketdata-feed.md prints the sale-condition table; it must be this one."""
    from pathlib import Path

    from framework.marketdata.sale_conditions import CONDITIONS

    doc = (Path(__file__).resolve().parents[3] / "docs" / "marketdata-feed.md").read_text()
    rows = [r.split("|")[1:-1] for r in doc.splitlines() if r.startswith("| ") and "| `" in r
            and r.split("|")[1].strip().isdigit()]
    assert len(rows) == len(CONDITIONS)
    for cells, c in zip(rows, CONDITIONS, strict=True):
        bit, name, codes, hl, last, vol = (x.strip() for x in cells)
        assert (int(bit), name.strip("`")) == (c.bit, c.name)
        assert codes.replace("`", "").replace(", ", "") == (c.codes.strip() or "—")
        assert [v.startswith("yes") for v in (hl, last, vol)] == [c.hl, c.last, c.volume]


def test_fw_data_bars_rebuilds_the_synthetic_lake_bars(tmp_path):
    """`fw data bars` on trades without sale conditions (the synthetic source: every print
    regular, no auctions) gives back exactly the bars the ingest stored; a symbol without
    trades is a clean error."""
    from typer.testing import CliRunner

    from framework.cli import data_cmd
    from framework.data import Lake
    from framework.data.settings import SyntheticConfig
    from framework.data.sources.synthetic import ingest_synthetic
    from framework.marketdata.bars import time_bars

    lake = Lake(tmp_path / "lake")
    ingest_synthetic(lake, SyntheticConfig(symbols=["SPY"], start=DAY, end=DAY,
                                           trades_per_day=3000), time_bars)
    stored = lake.read("bars_1m", "SPY")
    r = CliRunner().invoke(data_cmd.app, ["bars", "-s", "SPY", "--lake", str(lake.root)])
    assert r.exit_code == 0, r.output
    assert "left out: 0 outside the regular session, 0 by sale condition" in r.output
    assert lake.read("bars_1m", "SPY").equals(stored)
    r = CliRunner().invoke(data_cmd.app, ["bars", "-s", "QQQ", "--lake", str(lake.root)])
    assert r.exit_code != 0 and "QQQ: no trades in lake" in str(r.exception or r.output)

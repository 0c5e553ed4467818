"""ITCH 5.0: every decoded field of every book message type, from test vectors written
here from the public specification, then Nasdaq's own sample file through the book."""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from framework.cli import data_cmd
from framework.data import Lake
from framework.data.schemas import DataError
from framework.data.sources.itch import book_events, decode_itch, prints
from framework.marketdata.book.book import OrderBooks
from framework.marketdata.replay import records
from framework.types import BOOK_EVENT_DTYPE, BookEvent

LOC, TRK = 13, 7
TS = 34_200_123_456_789  # 09:30:00.123456789 ns since midnight


def header(t: bytes, ts: int = TS) -> bytes:
    """type, stock locate, tracking number, 6-byte ns timestamp (spec section 1.x)."""
    return t + struct.pack(">HH", LOC, TRK) + ts.to_bytes(6, "big")


def frame(body: bytes) -> bytes:
    return struct.pack(">H", len(body)) + body


STOCK = b"ZVZZT   "
VECTORS = {
    "S": header(b"S") + b"O",
    "R": header(b"R") + STOCK + b"Q" + b"N" + struct.pack(">I", 100) + b"N" + b"C" + b"Z "
         + b"P" + b"N" + b"N" + b"1" + b"N" + struct.pack(">I", 0) + b"N",
    "A": header(b"A") + struct.pack(">QcI8sI", 1001, b"B", 300, STOCK, 1_234_500),
    "F": header(b"F") + struct.pack(">QcI8sI4s", 1002, b"S", 200, STOCK, 1_235_000, b"GSCO"),
    "E": header(b"E") + struct.pack(">QIQ", 1001, 100, 555),
    "C": header(b"C") + struct.pack(">QIQcI", 1001, 50, 556, b"Y", 1_234_600),
    "X": header(b"X") + struct.pack(">QI", 1002, 20),
    "U": header(b"U") + struct.pack(">QQII", 1001, 1003, 400, 1_234_400),
    "D": header(b"D") + struct.pack(">Q", 1003),
    "P": header(b"P") + struct.pack(">QcI8sIQ", 0, b"B", 75, STOCK, 1_234_700, 557),
    "Q": header(b"Q") + struct.pack(">Q8sIQc", 12_345, STOCK, 1_234_800, 558, b"O"),
    "B": header(b"B") + struct.pack(">Q", 557),
    "H": header(b"H") + STOCK + b"T" + b" " + b"    ",
    "Y": header(b"Y") + STOCK + b"0",  # Reg SHO: skipped and counted
}


def decode_vectors(*names: str):
    return decode_itch(b"".join(frame(VECTORS[n]) for n in names))


def test_spec_lengths() -> None:
    want = {"S": 12, "R": 39, "A": 36, "F": 40, "E": 31, "C": 36, "X": 23, "U": 35, "D": 19,
            "P": 44, "Q": 40, "B": 19, "H": 25, "Y": 20}
    assert {k: len(v) for k, v in VECTORS.items()} == want


def test_every_field_of_every_message_type() -> None:
    dec = decode_vectors(*VECTORS)
    m = {chr(r["type"]): r for r in dec.messages}
    assert set(m) == set("AFECXUDPQBH")
    for r in dec.messages:
        assert (r["locate"], r["tracking"], r["ts"]) == (LOC, TRK, TS)
    a, f = m["A"], m["F"]
    assert (a["order_id"], a["side"], a["shares"], a["price"]) == (1001, 1, 300, 1_234_500)
    assert (f["order_id"], f["side"], f["shares"], f["price"]) == (1002, -1, 200, 1_235_000)
    assert f["attribution"].item().to_bytes(4, "big") == b"GSCO"
    assert (m["E"]["order_id"], m["E"]["shares"], m["E"]["match"]) == (1001, 100, 555)
    c = m["C"]
    assert (c["order_id"], c["shares"], c["match"], chr(c["printable"]), c["price"]) == \
        (1001, 50, 556, "Y", 1_234_600)
    assert (m["X"]["order_id"], m["X"]["shares"]) == (1002, 20)
    u = m["U"]
    assert (u["order_id"], u["new_order_id"], u["shares"], u["price"]) == (1001, 1003, 400, 1_234_400)
    assert m["D"]["order_id"] == 1003
    p = m["P"]
    assert (p["side"], p["shares"], p["price"], p["match"]) == (1, 75, 1_234_700, 557)
    q = m["Q"]
    assert (q["shares"], q["price"], q["match"], chr(q["cross_type"])) == (12_345, 1_234_800, 558, "O")
    assert m["B"]["match"] == 557
    assert chr(m["H"]["state"]) == "T" and m["H"]["reason"].item().to_bytes(4, "big") == b"    "
    d = dec.directory[LOC]
    assert (d.stock, d.market_category, d.financial_status, d.round_lot_size, d.round_lots_only,
            d.issue_classification, d.issue_subtype, d.authenticity, d.short_sale_threshold,
            d.ipo_flag, d.luld_tier, d.etp_flag, d.etp_leverage, d.inverse) == \
        ("ZVZZT", "Q", "N", 100, "N", "C", "Z", "P", "N", "N", "1", "N", 0, "N")
    assert dec.system_events == [(TS, "O")]
    assert dec.skipped == {"Y": 1} and dec.counts["A"] == 1


def test_book_from_the_vectors() -> None:
    dec = decode_vectors("R", "A", "F", "E", "C", "X")
    ev = book_events(dec, dt.date(2020, 1, 30), "ZVZZT")
    # 09:30 EST = 14:30 UTC on 2020-01-30
    assert ev["ts"][0] == int(dt.datetime(2020, 1, 30, 14, 30, tzinfo=dt.UTC).timestamp()) * 10**9 \
        + 123_456_789
    bk = OrderBooks(1)
    bk.apply(records(ev, BOOK_EVENT_DTYPE))
    assert bk.best_bid() == (123.45, 300 - 100 - 50) and bk.best_ask() == (123.50, 180)
    dec = decode_vectors("R", "A", "F", "U", "H", "P", "Q", "B")
    bk = OrderBooks(1)
    bk.apply(records(book_events(dec, dt.date(2020, 1, 30), "ZVZZT"), BOOK_EVENT_DTYPE))
    assert bk.order(1001) is None and bk.order(1003).price == 123.44 and bk.order(1003).size == 400
    assert not bk.halted() and bk.counters["trades"] == 2  # P and Q print; B is not a book event


def test_prints_from_the_vectors() -> None:
    """E prints at the price of the order it executes, C at its own price when printable,
    P and Q at theirs; the P that B breaks (match 557) is taken back out."""
    dec = decode_vectors("R", "A", "F", "E", "C", "U", "P", "Q", "B")
    got = prints(dec, dt.date(2020, 1, 30), "ZVZZT")
    assert list(zip(got["price"], got["size"], strict=True)) == [
        (123.45, 100.0), (123.46, 50.0), (123.48, 12_345.0)]
    assert set(got["exchange"]) == {"Q"} and got["ts"].is_sorted()
    silent = VECTORS["C"].replace(b"Y", b"N")  # non-printable: counted in a cross, not here
    dec = decode_itch(b"".join(frame(v) for v in (VECTORS["R"], VECTORS["A"], silent)))
    assert prints(dec, dt.date(2020, 1, 30), "ZVZZT").height == 0
    assert prints(decode_vectors("R", "E"), dt.date(2020, 1, 30), "ZVZZT").height == 0  # no price


def test_faults_are_counted_and_skipped() -> None:
    good = frame(VECTORS["A"])
    short = frame(VECTORS["E"][:-3])  # an 'E' three bytes short: malformed
    dec = decode_itch(good + short + frame(VECTORS["Y"]) + good[:7])  # truncated tail
    assert dec.malformed == 1 and dec.trailing_bytes == 7 and dec.skipped == {"Y": 1}
    assert len(dec.messages) == 1
    with pytest.raises(DataError, match="no ITCH frame"):
        decode_itch(b"\x00\x00garbage")
    with pytest.raises(DataError, match="no stock directory message for 'MSFT'"):
        book_events(dec, dt.date(2020, 1, 30), "MSFT")
    bk = OrderBooks(1)  # execution of an order the book never saw: counted, book untouched
    rows = book_events(decode_vectors("R", "E", "D"), dt.date(2020, 1, 30), "ZVZZT")
    bk.apply(records(rows, BOOK_EVENT_DTYPE))
    assert bk.counters["unknown_id"] == 2 and np.isnan(bk.best_bid()[0])


def test_nasdaq_sample_file(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "intraday" / "itch" / "locate-13-10k.bin"
    dec = decode_itch(path)
    # the message mix SOURCES.md records for this excerpt
    assert dec.counts == {"R": 1, "H": 1, "Y": 1, "L": 52, "A": 4758, "F": 2, "D": 4083,
                          "E": 849, "X": 6, "U": 7, "P": 240}
    assert (dec.malformed, dec.trailing_bytes) == (0, 0)
    assert dec.directory[13].stock == "AAPL" and dec.directory[13].round_lot_size == 100
    assert (np.diff(dec.messages["ts"]) >= 0).all()
    ev = book_events(dec, dt.date(2020, 1, 30), "AAPL")
    bk = OrderBooks(1)
    top = bk.apply(records(ev, BOOK_EVENT_DTYPE), top_n=1)
    c = bk.counters
    # the excerpt starts with the day: every execution, cancel, delete and replace names an
    # order the book holds, never for more shares than it has
    assert (c["unknown_id"], c["duplicate_id"], c["overfill"]) == (0, 0, 0)
    assert c["crossed"] == 0
    assert c["off_grid"] == 1  # one $199,999.99 stub ask: beyond the 4M-level grid cap
    both = ~np.isnan(top.bid_px[:, 0]) & ~np.isnan(top.ask_px[:, 0])
    assert both.any() and (top.bid_px[both, 0] < top.ask_px[both, 0]).all()
    res = CliRunner().invoke(data_cmd.app, ["ingest", "--source", "itch", "--symbols", "AAPL",
                                            "--start", "2020-01-30", "--lake", str(tmp_path),
                                            str(path)])
    assert res.exit_code == 0, res.output
    stored = Lake(tmp_path).book_events("AAPL")
    assert stored.height == ev.height == 10_000 - 52 - 1 - 1  # L, Y, R are not book events
    # every execution prints at the price of the order it executed, which was the best
    # bid or ask just before it; hidden executions (P) print too
    trades = prints(dec, dt.date(2020, 1, 30), "AAPL")
    assert trades.height == 849 + 240 and Lake(tmp_path).trades("AAPL").height == trades.height
    px_of, want = {}, []
    for i, r in enumerate(ev.iter_rows(named=True)):
        if r["kind"] == BookEvent.ADD:
            px_of[r["order_id"]] = r["price"]
        elif r["kind"] == BookEvent.REPLACE:
            px_of[r["new_order_id"]] = r["price"]
        elif r["kind"] == BookEvent.EXEC_VISIBLE:
            px = px_of[r["order_id"]]
            assert px in (top.bid_px[i - 1, 0], top.ask_px[i - 1, 0]), f"event {i}"
            want.append((r["ts"], px, r["size"]))
        elif r["kind"] == BookEvent.TRADE:
            want.append((r["ts"], r["price"], r["size"]))
    assert list(zip(trades["ts"], trades["price"], trades["size"], strict=True)) == want
    assert stored["kind"].to_list().count(BookEvent.REPLACE) == 7


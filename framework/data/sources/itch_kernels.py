"""Numba decoder of Nasdaq TotalView-ITCH 5.0 frames (2-byte big-endian length prefix).

Field layouts follow the public specification (Nasdaq TotalView-ITCH 5.0, 2020
edition, section 1.x): every message starts with type (1 byte), stock locate (2),
tracking number (2) and a 6-byte timestamp in ns since midnight; integers are
big-endian, prices are 4-implied-decimal integers (= fw's 1e-4 USD units), alpha
fields are left-justified ASCII padded with spaces.
"""

from __future__ import annotations

import numba
import numpy as np

from framework.types.codes import BookEvent
from framework.types.jit import njit

# Message types this module decodes into rows, and their full lengths in bytes.
DECODED = {b"A": 36, b"F": 40, b"E": 31, b"C": 36, b"X": 23, b"D": 19, b"U": 35,
           b"P": 44, b"Q": 40, b"B": 19, b"H": 25}
# Parsed in Python (rare): system event, stock directory.
RARE = {b"S": 12, b"R": 39}
LENGTHS = np.zeros(256, np.int64)
for _t, _n in {**DECODED, **RARE}.items():
    LENGTHS[_t[0]] = _n
_ROW = np.zeros(256, np.bool_)
for _t in DECODED:
    _ROW[_t[0]] = True

ITCH_DTYPE = np.dtype([
    ("type", "u1"),  # ASCII message type
    ("locate", "i4"),  # stock locate code
    ("tracking", "i4"),  # Nasdaq internal tracking number
    ("ts", "i8"),  # ns since midnight, New York
    ("order_id", "i8"),  # order reference number (U: the original one)
    ("new_order_id", "i8"),  # U only
    ("side", "i1"),  # +1 'B', -1 'S', 0 none
    ("shares", "i8"),  # A F: shares; E C: executed; X: cancelled; U P Q: shares
    ("price", "i8"),  # 1e-4 USD: A F U P price, C execution price, Q cross price
    ("match", "i8"),  # E C P Q B match number
    ("attribution", "i8"),  # F: MPID, 4 ASCII bytes packed big-endian
    ("printable", "u1"),  # C: 'Y' / 'N'
    ("cross_type", "u1"),  # Q: 'O' 'C' 'H' 'I'
    ("state", "u1"),  # H: trading state 'H' 'P' 'Q' 'T'
    ("reason", "i8"),  # H: reason code, 4 ASCII bytes packed
])


@njit(cache=True, inline="always")
def _u(buf, i, n):
    v = np.int64(0)
    for k in range(n):
        v = (v << 8) | np.int64(buf[i + k])
    return v


@njit(cache=True)
def scan(buf, lengths, counts):
    """First pass: count frames per type into ``counts[256]``; returns (frames, rows to
    decode, rare frames, malformed frames, bytes left over after the last whole frame).
    A frame whose length disagrees with its type's is malformed (counted, skipped)."""
    i = 0
    n = buf.shape[0]
    frames = rows = rare = bad = 0
    while i + 2 <= n:
        ln = _u(buf, i, 2)
        if ln == 0 or i + 2 + ln > n:
            break
        t = buf[i + 2]
        frames += 1
        counts[t] += 1
        want = lengths[t]
        if want > 0 and want != ln:
            bad += 1
        elif want > 0:
            if _ROW[t]:
                rows += 1
            else:
                rare += 1
        i += 2 + ln
    return frames, rows, rare, bad, n - i


@njit(cache=True)
def decode(buf, lengths, out, rare_off):
    """Second pass: decode every well-formed row type into ``out`` (``ITCH_DTYPE``) and
    record the byte offset of each rare frame (S, R) for the Python layer."""
    i = 0
    n = buf.shape[0]
    r = 0
    q = 0
    while i + 2 <= n:
        ln = _u(buf, i, 2)
        if ln == 0 or i + 2 + ln > n:
            break
        m = i + 2
        t = buf[m]
        if lengths[t] == ln:
            if not _ROW[t]:
                rare_off[q] = m
                q += 1
            else:
                row = out[r]
                row.type = t
                row.locate = _u(buf, m + 1, 2)
                row.tracking = _u(buf, m + 3, 2)
                row.ts = _u(buf, m + 5, 6)
                _body(buf, m, t, row)
                r += 1
        i += 2 + ln
    return r, q


@njit(cache=True)
def _body(buf, m, t, row):
    b = m + 11  # first byte after the common header
    if t == ord("A") or t == ord("F"):
        row.order_id = _u(buf, b, 8)
        row.side = 1 if buf[b + 8] == ord("B") else -1
        row.shares = _u(buf, b + 9, 4)
        row.price = _u(buf, b + 21, 4)  # after the 8-byte stock symbol
        if t == ord("F"):
            row.attribution = _u(buf, b + 25, 4)
    elif t == ord("E") or t == ord("C"):
        row.order_id = _u(buf, b, 8)
        row.shares = _u(buf, b + 8, 4)
        row.match = _u(buf, b + 12, 8)
        if t == ord("C"):
            row.printable = buf[b + 20]
            row.price = _u(buf, b + 21, 4)
    elif t == ord("X"):
        row.order_id = _u(buf, b, 8)
        row.shares = _u(buf, b + 8, 4)
    elif t == ord("D"):
        row.order_id = _u(buf, b, 8)
    elif t == ord("U"):
        row.order_id = _u(buf, b, 8)
        row.new_order_id = _u(buf, b + 8, 8)
        row.shares = _u(buf, b + 16, 4)
        row.price = _u(buf, b + 20, 4)
    elif t == ord("P"):
        row.order_id = _u(buf, b, 8)
        row.side = 1 if buf[b + 8] == ord("B") else -1
        row.shares = _u(buf, b + 9, 4)
        row.price = _u(buf, b + 21, 4)
        row.match = _u(buf, b + 25, 8)
    elif t == ord("Q"):
        row.shares = _u(buf, b, 8)
        row.price = _u(buf, b + 16, 4)
        row.match = _u(buf, b + 20, 8)
        row.cross_type = buf[b + 28]
    elif t == ord("B"):
        row.match = _u(buf, b, 8)
    elif t == ord("H"):
        row.state = buf[b + 8]
        row.reason = _u(buf, b + 10, 4)


@njit(cache=True)
def to_book_events(msgs, locate, ts, kind, side, order_id, price, size, new_order_id) -> int:
    """Map the decoded rows of stock ``locate`` to ``framework.types.BookEvent`` columns
    (``ts`` ns since midnight; prices 1e-4 USD units; executions, cancels and deletes
    carry price 0: the book knows the order's price), packed from row 0; returns how
    many. Broken trades ('B') are not book events and are left out."""
    n = 0
    for j in range(msgs.shape[0]):
        m = msgs[j]
        if m.locate != locate:
            continue
        t = m.type
        k = 0
        p = 0
        s = 0
        q = 0.0
        if t == ord("A") or t == ord("F"):
            k, s, p, q = BookEvent.ADD, m.side, m.price, float(m.shares)
        elif t == ord("E") or t == ord("C"):
            k, q = BookEvent.EXEC_VISIBLE, float(m.shares)
        elif t == ord("X"):
            k, q = BookEvent.CANCEL, float(m.shares)
        elif t == ord("D"):
            k = BookEvent.DELETE
        elif t == ord("U"):
            k, p, q = BookEvent.REPLACE, m.price, float(m.shares)
        elif t == ord("P"):
            k, s, p, q = BookEvent.TRADE, m.side, m.price, float(m.shares)
        elif t == ord("Q"):
            k, p, q = BookEvent.CROSS, m.price, float(m.shares)
        elif t == ord("H"):
            k = BookEvent.HALT  # LOBSTER's halt convention: -1 halted/paused, 0 quoting only, 1 trading
            p = 1 if m.state == ord("T") else (0 if m.state == ord("Q") else -1)
        if k == 0:
            continue
        ts[n], kind[n], side[n], order_id[n], price[n], size[n] = m.ts, k, s, m.order_id, p, q
        new_order_id[n] = m.new_order_id
        n += 1
    return n



@njit(cache=True)
def to_prints(msgs, locate, ts, price, size) -> tuple[int, int]:
    """The trades stock ``locate``'s messages print, packed from row 0 (``ts`` ns since
    midnight, ``price`` 1e-4 USD, ``size`` shares): an execution (E) at the price of the
    order it executes, tracked from its add (A, F) or replace (U); an execution with price
    (C) at its own price when printable; a non-displayed trade (P) and a cross (Q, when
    shares crossed) at theirs. A print that a broken-trade message (B) names by match
    number is taken out. Returns (prints, executions of orders added before the data
    began: no price known, not printed)."""
    px_of = numba.typed.Dict.empty(numba.types.int64, numba.types.int64)
    broken = numba.typed.Dict.empty(numba.types.int64, numba.types.int64)
    match = np.empty(ts.shape[0], np.int64)
    n = 0
    unknown = 0
    for j in range(msgs.shape[0]):
        m = msgs[j]
        if m.locate != locate:
            continue
        t = m.type
        p = -1
        if t == ord("A") or t == ord("F"):
            px_of[m.order_id] = m.price
        elif t == ord("U"):
            px_of.pop(m.order_id, 0)
            px_of[m.new_order_id] = m.price
        elif t == ord("D"):
            px_of.pop(m.order_id, 0)
        elif t == ord("E"):
            p = px_of.get(m.order_id, -1)
            if p < 0:
                unknown += 1
        elif t == ord("C"):
            if m.printable == ord("Y"):
                p = m.price
        elif t == ord("P") or t == ord("Q"):
            p = m.price
        elif t == ord("B"):
            broken[m.match] = 1
        if p > 0 and m.shares > 0:
            ts[n], price[n], size[n], match[n] = m.ts, p, m.shares, m.match
            n += 1
    k = 0
    for i in range(n):
        if match[i] not in broken:
            ts[k], price[k], size[k] = ts[i], price[i], size[i]
            k += 1
    return k, unknown

"""Nasdaq TotalView-ITCH 5.0 files -> decoded messages and the lake's ``book_events``.

``decode_itch`` reads the binary framing Nasdaq's sample files use (each message
preceded by its 2-byte big-endian length) in two numba passes. Decoded into rows:
add order (A, and F with its MPID), executed (E), executed with price (C), cancel (X),
delete (D), replace (U), trade (P), cross trade (Q), broken trade (B) and trading
action (H); parsed in Python: system event (S) and stock directory (R). Every other
type is skipped and counted per type; a frame whose length disagrees with its type's
is counted as malformed and skipped; bytes after the last whole frame are reported.
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from framework.data.calendar import ny_midnight_ns
from framework.data.schemas import DataError
from framework.data.sources import itch_kernels as K

PRICE_SCALE = 10_000  # ITCH Price(4) fields carry 4 implied decimals


@dataclass(frozen=True)
class StockDirectory:
    """One 'R' message: the stock behind a locate code and its listing attributes."""

    locate: int
    ts: int  # ns since midnight, New York
    stock: str
    market_category: str
    financial_status: str
    round_lot_size: int
    round_lots_only: str
    issue_classification: str
    issue_subtype: str
    authenticity: str
    short_sale_threshold: str
    ipo_flag: str
    luld_tier: str
    etp_flag: str
    etp_leverage: int
    inverse: str


@dataclass
class ItchDecoded:
    """Decoded ITCH: ``messages`` (``ITCH_DTYPE`` rows, file order), the stock directory
    by locate, system events as (ts ns since midnight, code), and the counts."""

    messages: np.ndarray
    directory: dict[int, StockDirectory] = field(default_factory=dict)
    system_events: list[tuple[int, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # frames per message type
    skipped: dict[str, int] = field(default_factory=dict)  # types not decoded
    malformed: int = 0
    trailing_bytes: int = 0

    def locate_of(self, stock: str) -> int:
        """The locate code of ``stock`` from the directory (DataError when absent)."""
        for loc, d in self.directory.items():
            if d.stock == stock.upper():
                return loc
        raise DataError(f"ITCH: no stock directory message for {stock!r} "
                        f"(have {sorted(d.stock for d in self.directory.values())[:10]})")


def _text(b: bytes) -> str:
    return b.decode("ascii").rstrip()


def _directory(buf: bytes, m: int) -> StockDirectory:
    (_, loc, _, ts_hi, ts_lo, stock, cat, fin, lot, lots_only, cls, sub, auth, sst, ipo,
     luld, etp, lev, inv) = struct.unpack_from(">cHHHI8sccIcc2scccccIc", buf, m)
    return StockDirectory(loc, (ts_hi << 32) | ts_lo, _text(stock), _text(cat), _text(fin),
                          lot, _text(lots_only), _text(cls), _text(sub), _text(auth),
                          _text(sst), _text(ipo), _text(luld), _text(etp), lev, _text(inv))


def decode_itch(source: Path | bytes) -> ItchDecoded:
    """Decode an ITCH 5.0 file (or its bytes). Never fails on a bad message: bad frames
    are counted (``malformed``, ``trailing_bytes``); a file that is not ITCH at all
    (nothing decodes) raises ``DataError`` naming it."""
    data = Path(source).read_bytes() if isinstance(source, Path | str) else bytes(source)
    buf = np.frombuffer(data, np.uint8)
    counts = np.zeros(256, np.int64)
    frames, rows, rare, bad, left = K.scan(buf, K.LENGTHS, counts)
    if buf.size and frames == 0:
        raise DataError(f"{source if isinstance(source, Path | str) else 'ITCH bytes'}: no "
                        "ITCH frame found (expected 2-byte big-endian length prefixes)")
    out = np.zeros(rows, K.ITCH_DTYPE)
    rare_off = np.zeros(rare, np.int64)
    K.decode(buf, K.LENGTHS, out, rare_off)
    dec = ItchDecoded(out, malformed=int(bad), trailing_bytes=int(left))
    for m in rare_off:
        t = data[m:m + 1]
        if t == b"R":
            d = _directory(data, int(m))
            dec.directory[d.locate] = d
        else:  # S
            ts = int.from_bytes(data[m + 5:m + 11], "big")
            dec.system_events.append((ts, chr(data[m + 11])))
    for code in np.nonzero(counts)[0]:
        name = chr(code)
        dec.counts[name] = int(counts[code])
        if K.LENGTHS[code] == 0:
            dec.skipped[name] = int(counts[code])
    return dec


def book_columns(dec: ItchDecoded, day: dt.date, stock: str) -> tuple[np.ndarray, ...]:
    """``stock``'s book events as plain columns: ``(ts, kind, side, order_id, price,
    size, new_order_id)`` with ``ts`` ns UTC and ``price`` in ITCH's own 1e-4 USD units
    (the book's unit: ``OrderBooks.apply_units`` takes them as they are). Broken trades
    are not book events and are left out (see ``dec.messages``)."""
    m = dec.messages.shape[0]
    ts, oid, px, new = (np.empty(m, np.int64) for _ in range(4))
    kind, side, size = np.empty(m, np.int8), np.empty(m, np.int8), np.empty(m)
    n = K.to_book_events(dec.messages, dec.locate_of(stock), ts, kind, side, oid, px, size, new)
    return (ny_midnight_ns(day) + ts[:n], kind[:n], side[:n], oid[:n], px[:n], size[:n],
            new[:n])


def prints(dec: ItchDecoded, day: dt.date, stock: str) -> pl.DataFrame:
    """``stock``'s trades as the lake's ``trades`` rows (ts ns UTC, price USD, size shares,
    exchange ``Q`` = Nasdaq). ITCH executions (E) carry no price, so the price is that of
    the order they execute (see ``itch_kernels.to_prints``); an execution of an order
    added before the file began cannot be priced and is left out."""
    m = dec.messages.shape[0]
    ts, price, size = np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m, np.int64)
    n, _ = K.to_prints(dec.messages, dec.locate_of(stock), ts, price, size)
    ts = ny_midnight_ns(day) + ts[:n]
    return pl.DataFrame({"ts": ts, "price": price[:n] / PRICE_SCALE,
                         "size": size[:n].astype(np.float64),
                         "exchange": pl.repeat("Q", n, eager=True, dtype=pl.String),
                         "conditions": pl.repeat("", n, eager=True, dtype=pl.String)})


def book_events(dec: ItchDecoded, day: dt.date, stock: str) -> pl.DataFrame:
    """``stock``'s messages as the lake's ``book_events`` rows (ts ns UTC, prices USD)."""
    ts, kind, side, oid, px, size, new = book_columns(dec, day, stock)
    return pl.DataFrame({"ts": ts, "local_ts": ts, "kind": kind, "side": side,
                         "order_id": oid, "price": px / PRICE_SCALE, "size": size,
                         "new_order_id": new})

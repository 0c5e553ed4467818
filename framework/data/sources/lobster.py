"""LOBSTER message and orderbook files (lobsterdata.com) -> the lake's ``book_events``.

Message file, no header, one row per event: ``Time`` (seconds after midnight, New York,
up to 9 decimals), ``Type`` (1 submit, 2 partial cancel, 3 delete, 4 visible execution,
5 hidden execution, 6 cross, 7 halt), ``OrderID``, ``Size`` (shares), ``Price`` (USD x
10000), ``Direction`` (1 buy / -1 sell; for executions the side of the *resting* order).
Orderbook file: one row per message, ``AskPrice, AskSize, BidPrice, BidSize`` for each
level; empty levels carry the dummy prices -9999999999 / 9999999999 and size 0.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from framework.data.calendar import ny_midnight_ns
from framework.data.schemas import DataError
from framework.types.codes import BookEvent

PRICE_SCALE = 10_000  # LOBSTER prices are USD x 10000
_DUMMY = 9_999_999_999
_MSG_COLS = ["time", "type", "order_id", "size", "price", "direction"]
_MSG_TYPES = {"type": pl.Int8, "order_id": pl.Int64, "size": pl.Float64, "price": pl.Int64,
              "direction": pl.Int8}


def read_messages(path: Path) -> pl.DataFrame:
    """The raw message file, checked: six columns of numbers, known types, sides ±1, finite
    sizes (> 0 for types 1-5, >= 0 otherwise), prices > 0 for types 1-6 and a halt state
    (-1, 0, 1) for type 7, times non-decreasing. Errors name the file and the first bad
    line (the file has no header: row k is line k)."""
    path = Path(path)
    try:
        text = pl.read_csv(path, has_header=False, new_columns=_MSG_COLS, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as err:
        raise DataError(f"{path}: not a LOBSTER message file "
                        f"(expected 6 numeric columns {_MSG_COLS}): {err}") from None
    if text.width != len(_MSG_COLS):
        raise DataError(f"{path}: not a LOBSTER message file ({text.width} columns, "
                        f"expected 6: {_MSG_COLS})")
    raw = text.select(pl.col(c).str.strip_chars() for c in _MSG_COLS)
    for col, dtype in _MSG_TYPES.items():
        typed = raw[col].cast(dtype, strict=False)
        bad = typed.is_null()
        if bad.any():
            r = int(bad.arg_max())
            what = "an integer" if dtype.is_integer() else "a number"
            raise DataError(f"{path}: line {r + 1}: {col} {raw[col][r]!r} is not {what} "
                            f"that fits {dtype}")
        raw = raw.with_columns(typed.alias(col))
    parts = raw["time"].str.split_exact(".", 1)
    secs = parts.struct.field("field_0").cast(pl.Int64, strict=False)
    frac = (parts.struct.field("field_1").fill_null("").str.pad_end(9, "0")
            .cast(pl.Int64, strict=False))
    raw = raw.with_columns(time_ns=secs * 1_000_000_000 + frac)  # exact: no float rounding
    kind = pl.col("type")  # LOBSTER's types are BookEvent's codes ADD (1) .. HALT (7)
    book_type = kind.is_between(BookEvent.ADD, BookEvent.CROSS)
    checks = [
        (pl.col("time_ns").is_null(), "Time must be seconds after midnight"),
        (~kind.is_between(BookEvent.ADD, BookEvent.HALT), "Type must be 1..7"),
        (~pl.col("direction").is_in([1, -1]), "Direction must be 1 or -1"),
        (~pl.col("size").is_finite(), "Size must be a finite number"),
        ((pl.col("size") <= 0) & kind.is_between(BookEvent.ADD, BookEvent.EXEC_HIDDEN),
         "Size must be > 0"),
        (pl.col("size") < 0, "Size must be >= 0"),
        (book_type & (pl.col("price") <= 0), "Price must be > 0 for types 1-6"),
        ((kind == BookEvent.HALT) & ~pl.col("price").is_in([-1, 0, 1]),
         "Price of a halt (type 7) must be -1, 0 or 1"),
        (pl.col("time_ns").diff() < 0, "Time goes backwards"),
    ]
    for cond, what in checks:
        bad = raw.with_row_index("row").filter(cond)
        if bad.height:
            r = bad.row(0, named=True)
            raise DataError(f"{path}: line {r['row'] + 1}: {what} "
                            f"(got {', '.join(f'{c}={r[c]}' for c in _MSG_COLS)})")
    return raw


def load_lobster(message_path: Path, orderbook_path: Path | None, symbol: str,
                 day: dt.date) -> pl.DataFrame:
    """LOBSTER messages of ``symbol`` on ``day`` as ``book_events`` rows (ts ns UTC, kind
    = LOBSTER type, side +1 bid / -1 ask, price USD, size shares). When the orderbook
    file is given its row count must match (the pair belongs together)."""
    msgs = read_messages(message_path)
    if orderbook_path is not None:
        n_book = pl.read_csv(orderbook_path, has_header=False).height
        if n_book != msgs.height:
            raise DataError(f"{orderbook_path}: {n_book} rows but {message_path} has "
                            f"{msgs.height}: not the same LOBSTER pair")
    ts = ny_midnight_ns(day) + msgs["time_ns"]
    return pl.DataFrame({
        "ts": ts, "local_ts": ts, "kind": msgs["type"], "side": msgs["direction"],
        "order_id": msgs["order_id"], "price": msgs["price"].cast(pl.Float64) / PRICE_SCALE,
        "size": msgs["size"], "new_order_id": pl.zeros(msgs.height, pl.Int64, eager=True)})


def read_orderbook(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """LOBSTER's book after each message: ``(ask_px, ask_sz, bid_px, bid_sz)``, each
    ``[rows, levels]``; prices in integer units of 1e-4 USD, -1 where a level is empty."""
    arr = pl.read_csv(path, has_header=False).to_numpy().astype(np.int64)
    if arr.shape[1] % 4:
        raise DataError(f"{path}: {arr.shape[1]} columns, expected 4 per level")
    ask_px, ask_sz, bid_px, bid_sz = (arr[:, k::4].copy() for k in range(4))
    for px in (ask_px, bid_px):
        px[np.abs(px) >= _DUMMY] = -1
    return ask_px, ask_sz.astype(np.float64), bid_px, bid_sz.astype(np.float64)

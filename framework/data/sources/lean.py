"""LEAN (QuantConnect) US-equity files: AlgoSeek tick trades and second/minute trade bars.

Layout (LEAN's ``equity/readme.md``): ``.../equity/usa/<tick|second|minute>/<sym>/
<YYYYMMDD>_trade.zip``, one header-less CSV inside. Times are milliseconds since New York
midnight of the file's date; prices are deci-cents (USD x 10,000).

* tick trades: ms, price, size, exchange letter, sale condition (an AlgoSeek
  ``TradeConditionFlags`` word in hex), suspicious (0/1). Kept as lake ``trades`` with
  the condition word as the code ``0x<hex>`` (``framework.marketdata.sale_conditions``
  reads it). Ticks AlgoSeek flags suspicious are dropped, as LEAN's own bars drop them,
  and counted.
* second / minute trade bars: ms (bar start), open, high, low, close, volume -> lake
  ``bars_1s`` / ``bars_1m``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import polars as pl

from framework.data.calendar import ny_midnight_ns
from framework.data.schemas import DataError

_NAME = re.compile(r"^(\d{8})_trade\.zip$")
_DATASET = {"tick": "trades", "second": "bars_1s", "minute": "bars_1m"}
_PRICE = 10_000.0  # deci-cents per USD


def _table(path: Path, names: list[str], dtypes: dict) -> pl.DataFrame:
    try:
        with zipfile.ZipFile(path) as z:
            members = z.namelist()
            if len(members) != 1:
                raise DataError(f"{path}: expected one CSV in the zip, found {len(members)}")
            raw = z.read(members[0])
    except (OSError, zipfile.BadZipFile) as err:
        raise DataError(f"{path}: not a readable LEAN zip: {err}") from None
    try:
        return pl.read_csv(io.BytesIO(raw), has_header=False, new_columns=names,
                           schema_overrides=dtypes)
    except Exception as err:  # polars raises ComputeError / NoDataError with details
        raise DataError(f"{path}: not a LEAN {len(names)}-column trade file: {err}") from None


def describe(path: str | Path) -> tuple[str, str, dt.date]:
    """(dataset, symbol, date) of a LEAN trade file from its path; ``DataError`` if the
    path is not ``.../<tick|second|minute>/<sym>/<YYYYMMDD>_trade.zip``."""
    p = Path(path)
    m = _NAME.match(p.name)
    res = p.parent.parent.name
    if not m or res not in _DATASET:
        raise DataError(f"{p}: expected a LEAN trade file .../<tick|second|minute>/<symbol>/"
                        "YYYYMMDD_trade.zip")
    return _DATASET[res], p.parent.name.upper(), dt.datetime.strptime(m[1], "%Y%m%d").date()


def read_lean(path: str | Path) -> tuple[str, str, pl.DataFrame, int]:
    """Read one LEAN trade file into its lake dataset: (dataset, symbol, frame, dropped)
    with ts int64 ns UTC, prices USD; ``dropped`` counts suspicious ticks left out."""
    p = Path(path)
    dataset, symbol, day = describe(p)
    midnight = ny_midnight_ns(day)
    if dataset == "trades":
        t = _table(p, ["ms", "price", "size", "exchange", "cond", "suspicious"],
                   {"ms": pl.Float64, "cond": pl.String, "exchange": pl.String})
        bad = t["suspicious"] != 0
        frame = t.filter(~bad).select(
            ts=(pl.col("ms") * 1_000_000).round().cast(pl.Int64) + midnight,
            price=pl.col("price") / _PRICE, size=pl.col("size").cast(pl.Float64),
            exchange="exchange", conditions=pl.lit("0x") + pl.col("cond"))
        return dataset, symbol, frame, int(bad.sum())
    t = _table(p, ["ms", "open", "high", "low", "close", "volume"], {"ms": pl.Int64})
    frame = t.select(ts=pl.col("ms") * 1_000_000 + midnight,
                     **{c: pl.col(c) / _PRICE for c in ("open", "high", "low", "close")},
                     volume=pl.col("volume").cast(pl.Float64))
    return dataset, symbol, frame, 0

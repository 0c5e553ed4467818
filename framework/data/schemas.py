"""Column layouts of the lake's datasets (Polars schemas) and their validation.

Every dataset stores ``ts`` as int64 nanoseconds since the epoch, UTC. The ticker is
not a column in the files: it is the hive partition key ``symbol=<SYM>`` and is put
back as a ``symbol`` column by the query API.
"""

from __future__ import annotations

import polars as pl

from framework.types.errors import FwError

SCHEMA_VERSION = 1

_BAR = {
    "ts": pl.Int64,  # bar start, ns UTC
    "open": pl.Float64,
    "high": pl.Float64,
    "low": pl.Float64,
    "close": pl.Float64,
    "volume": pl.Float64,  # shares
    "vwap": pl.Float64,
    "n": pl.Int64,  # trade count
}

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "trades": {
        "ts": pl.Int64,
        "price": pl.Float64,  # USD
        "size": pl.Float64,  # shares
        "exchange": pl.String,  # venue code, e.g. "V" for IEX
        "conditions": pl.String,  # comma-joined condition codes
    },
    "quotes": {
        "ts": pl.Int64,
        "bid": pl.Float64,
        "bid_size": pl.Float64,
        "ask": pl.Float64,
        "ask_size": pl.Float64,
    },
    "bars_1s": dict(_BAR),  # from L3 book sources (executions), every second forward-filled
    "bars_1m": dict(_BAR),
    "bars_1d": {
        **_BAR,
        "split_factor": pl.Float64,  # shares after / before a split on this date, 1.0 if none
        "dividend": pl.Float64,  # cash dividend per share going ex on this date, USD
        "adj_factor": pl.Float64,  # multiply raw prices by this for back-adjusted prices
    },
    "book_events": {
        "ts": pl.Int64,
        "local_ts": pl.Int64,
        "kind": pl.Int8,  # framework.types.BookEvent
        "side": pl.Int8,  # +1 bid / -1 ask
        "order_id": pl.Int64,
        "price": pl.Float64,
        "size": pl.Float64,
        "new_order_id": pl.Int64,
    },
}

DATASETS = tuple(SCHEMAS)
BAR_DATASETS = {"1s": "bars_1s", "1m": "bars_1m", "1d": "bars_1d"}
TIMEFRAME_NS = {"1s": 1_000_000_000, "1m": 60_000_000_000, "1d": 86_400_000_000_000}
# Columns that may be absent on input and get a default (daily adjustment columns).
# Optional input column a file source adds: the file line of each row (1-based, header
# included), so errors name the line a user sees in an editor. Never stored.
LINE_COL = "_line"
_DEFAULTS = {"split_factor": 1.0, "dividend": 0.0, "adj_factor": 1.0, "vwap": None, "n": None,
             "exchange": "", "conditions": "", "local_ts": None, "new_order_id": 0}


class DataError(FwError, ValueError):
    """Bad input data: the message names the file / dataset, row and column at fault."""


def check_dataset(dataset: str) -> dict[str, pl.DataType]:
    """Return the schema of ``dataset`` or raise naming the known ones."""
    if dataset not in SCHEMAS:
        raise DataError(f"unknown dataset '{dataset}'; expected one of {', '.join(DATASETS)}")
    return SCHEMAS[dataset]


def conform(dataset: str, frame: pl.DataFrame, origin: str) -> pl.DataFrame:
    """Cast ``frame`` to the dataset schema (column order fixed), filling optional columns.

    ``origin`` (a file path or "source:symbol") names the input in error messages.
    """
    schema = check_dataset(dataset)
    cols = []
    missing = []
    for name in schema:
        if name in frame.columns:
            cols.append(name)
        elif name in _DEFAULTS:
            default = _DEFAULTS[name]
            if name == "local_ts":
                frame = frame.with_columns(pl.col("ts").alias("local_ts"))
            elif name == "vwap" and "close" in frame.columns:
                frame = frame.with_columns(pl.col("close").alias("vwap"))
            elif name == "n":
                frame = frame.with_columns(pl.lit(0, pl.Int64).alias("n"))
            else:
                frame = frame.with_columns(pl.lit(default).alias(name))
        else:
            missing.append(name)
    if missing:
        raise DataError(
            f"{origin}: {dataset} input lacks required column(s) {', '.join(missing)} "
            f"(has: {', '.join(frame.columns)})"
        )
    out = []
    for name, dtype in schema.items():
        col = frame.get_column(name)
        try:
            out.append(col.cast(dtype, strict=True))
        except Exception:  # polars raises InvalidOperationError / ComputeError
            bad = col.cast(dtype, strict=False).is_null() & col.is_not_null()
            row = int(bad.arg_max()) if bad.any() else 0
            raise DataError(
                f"{origin}: column '{name}' {_where(frame, row)}: cannot read {col[row]!r} "
                f"as {dtype}"
            ) from None
    result = pl.DataFrame(out)
    if result.get_column("ts").null_count():
        row = int(result.get_column("ts").is_null().arg_max())
        raise DataError(f"{origin}: column 'ts' {_where(frame, row)}: missing timestamp")
    return result


def input_lines(frame: pl.DataFrame) -> list[int] | None:
    """The file line of each row (``LINE_COL``), or None when the source gave none."""
    return frame.get_column(LINE_COL).to_list() if LINE_COL in frame.columns else None


def _where(frame: pl.DataFrame, row: int) -> str:
    lines = input_lines(frame)
    return f"line {lines[row]}" if lines is not None else f"row {row}"

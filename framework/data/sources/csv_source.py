"""CSV import with a column mapping from TOML (``[csv.<name>]`` in ``config/data.toml``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from framework.data.calendar import daily_bars_at_open, session_bounds_of
from framework.data.quality import TS_MAX_NS, TS_MIN_NS
from framework.data.schemas import LINE_COL, DataError, check_dataset
from framework.data.settings import CsvMapping

NS_MIN = 60_000_000_000


def read_csv(path: str | Path, mapping: CsvMapping, config_origin: str = "csv mapping",
             session: str | None = None) -> pl.DataFrame:
    """Read ``path`` into the lake schema of ``mapping.dataset`` (ts as int64 ns UTC).

    Errors name the file, and the mapping key or CSV column at fault. Rows are returned
    sorted by ts (vendor files are often newest-first), each with its file line in
    ``_line`` (``LINE_COL``) so the lake's checks name the line a user sees. Daily bars are
    labelled at their XNYS session's open whatever time the file gives (the lake's one rule
    for a daily bar); intraday bars are kept inside ``session`` ("regular" or "extended"
    04:00-20:00 ET; default: the mapping's ``session``); trades and quotes are kept whole
    (bars built from them choose their session).
    """
    p = Path(path)
    schema = check_dataset(mapping.dataset)
    for key in mapping.columns:
        if key not in schema or key == "ts":
            raise DataError(
                f"{config_origin}: key 'columns.{key}': '{key}' is not a column of "
                f"{mapping.dataset} (expected one of {', '.join(c for c in schema if c != 'ts')})"
            )
    if not p.is_file():
        raise DataError(f"{p}: file not found")
    try:
        raw = pl.read_csv(p, infer_schema_length=10_000, try_parse_dates=False)
    except Exception as err:  # polars raises ComputeError / NoDataError with details
        raise DataError(f"{p}: not a readable CSV: {err}") from None
    wanted = {"ts": mapping.timestamp, **mapping.columns}
    missing = [f"{k} <- '{v}'" for k, v in wanted.items() if v not in raw.columns]
    if missing:
        raise DataError(f"{p}: CSV lacks column(s) named in {config_origin}: {', '.join(missing)} "
                        f"(CSV has: {', '.join(raw.columns)})")
    ts_col = raw.get_column(mapping.timestamp).cast(pl.String)
    ts = _timestamps(ts_col, mapping, p)
    if mapping.label == "end" and mapping.dataset == "bars_1m":
        ts = ts - NS_MIN
    out = pl.DataFrame([ts.alias("ts")] + [raw.get_column(v).alias(k)
                                           for k, v in mapping.columns.items()]
                       + [pl.int_range(2, raw.height + 2, eager=True).alias(LINE_COL)])
    if mapping.dataset == "bars_1d":  # file order: row i is line i + 2
        out = daily_bars_at_open(out, f"{p}, column '{mapping.timestamp}'", first_row=2)
    out = out.sort("ts", maintain_order=True)
    if mapping.dataset in ("bars_1s", "bars_1m") and out.height:
        out = in_session(out, session or mapping.session)
    return out


def _timestamps(col: pl.Series, mapping: CsvMapping, path: Path) -> pl.Series:
    """The timestamp column as int64 ns UTC. Dates outside 1900 .. 2100 are refused before
    the cast to ns, which would wrap a year like 9999 into 1816 without a word."""
    def parse(unit: str) -> pl.Series:
        parsed = col.str.to_datetime(format=mapping.timestamp_format, time_unit=unit,
                                     strict=True)
        if parsed.dtype.time_zone is None:  # type: ignore[union-attr]
            parsed = parsed.dt.replace_time_zone(mapping.timezone, ambiguous="earliest",
                                                 non_existent="null")
        return parsed.dt.convert_time_zone("UTC").cast(pl.Int64)

    try:
        wide = parse("ms")  # int64 ms spans +-292 million years: no wrap-around
    except Exception:
        bad = col.str.to_datetime(format=mapping.timestamp_format, time_unit="ms",
                                  strict=False).is_null()
        row = int(bad.arg_max())
        raise DataError(f"{path}: line {row + 2}, column '{mapping.timestamp}': cannot read "
                        f"{col[row]!r} as a timestamp") from None
    out_of_range = (wide < TS_MIN_NS // 1_000_000) | (wide >= TS_MAX_NS // 1_000_000)
    if out_of_range.any():
        row = int(out_of_range.arg_max())
        raise DataError(f"{path}: line {row + 2}, column '{mapping.timestamp}': {col[row]!r} "
                        f"is outside 1900-01-01 .. 2100-01-01 ({int(out_of_range.sum())} "
                        "row(s)); nothing written")
    return parse("ns")


def in_session(frame: pl.DataFrame, session: str) -> pl.DataFrame:
    """Rows whose ts lies inside an XNYS session: "regular" (open <= ts < close) or
    "extended" (04:00 ET <= ts < close + 4 h)."""
    try:
        ok, _, _ = session_bounds_of(frame["ts"].to_numpy(), session)
    except ValueError as err:
        raise DataError(f"--session: {err}") from None
    return frame.filter(pl.Series(ok))

"""CSV import with a column mapping from TOML (``[csv.<name>]`` in ``config/data.toml``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from framework.data.calendar import daily_bars_at_open, session_bounds_of
from framework.data.schemas import DataError, check_dataset
from framework.data.settings import CsvMapping

NS_MIN = 60_000_000_000


def read_csv(path: str | Path, mapping: CsvMapping, config_origin: str = "csv mapping",
             session: str | None = None) -> pl.DataFrame:
    """Read ``path`` into the lake schema of ``mapping.dataset`` (ts as int64 ns UTC).

    Errors name the file, and the mapping key or CSV column at fault. Rows are returned
    sorted by ts (vendor files are often newest-first). Daily bars are labelled at their
    XNYS session's open whatever time the file gives (the lake's one rule for a daily
    bar); intraday bars are kept inside ``session`` ("regular" or "extended" 04:00-20:00
    ET; default: the mapping's ``session``); trades and quotes are kept whole (bars built
    from them choose their session).
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
    try:
        parsed = ts_col.str.to_datetime(format=mapping.timestamp_format, time_unit="ns",
                                        strict=True)
    except Exception:
        bad = ts_col.str.to_datetime(format=mapping.timestamp_format, time_unit="ns",
                                     strict=False).is_null()
        row = int(bad.arg_max())
        raise DataError(f"{p}: row {row + 2}, column '{mapping.timestamp}': cannot read "
                        f"{ts_col[row]!r} as a timestamp") from None
    if parsed.dtype.time_zone is None:  # type: ignore[union-attr]
        parsed = parsed.dt.replace_time_zone(mapping.timezone, ambiguous="earliest",
                                             non_existent="null")
    ts = parsed.dt.convert_time_zone("UTC").cast(pl.Int64)
    if mapping.label == "end" and mapping.dataset == "bars_1m":
        ts = ts - NS_MIN
    out = pl.DataFrame([ts.alias("ts")] + [raw.get_column(v).alias(k)
                                           for k, v in mapping.columns.items()])
    if mapping.dataset == "bars_1d":  # file order: row i is line i + 2
        out = daily_bars_at_open(out, f"{p}, column '{mapping.timestamp}'", first_row=2)
    out = out.sort("ts", maintain_order=True)
    if mapping.dataset in ("bars_1s", "bars_1m") and out.height:
        out = in_session(out, session or mapping.session)
    return out


def in_session(frame: pl.DataFrame, session: str) -> pl.DataFrame:
    """Rows whose ts lies inside an XNYS session: "regular" (open <= ts < close) or
    "extended" (04:00 ET <= ts < close + 4 h)."""
    try:
        ok, _, _ = session_bounds_of(frame["ts"].to_numpy(), session)
    except ValueError as err:
        raise DataError(f"--session: {err}") from None
    return frame.filter(pl.Series(ok))

"""XNYS session calendar at the lake's edge: session dates and open/close instants in ns UTC."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import zipfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

NY = "America/New_York"
NS_PER_MIN = 60_000_000_000


@lru_cache(maxsize=1)
def xnys():
    """The exchange-calendars XNYS calendar from 1990 (loaded once; ~0.5 s)."""
    import exchange_calendars as xcals

    return xcals.get_calendar("XNYS", start="1990-01-01")


def cache_dir() -> Path:
    """Where fw keeps derived files it can rebuild (``$FW_CACHE_DIR``, else ~/.cache/fw)."""
    return Path(os.environ.get("FW_CACHE_DIR") or Path.home() / ".cache" / "fw")


@lru_cache(maxsize=1)
def schedule() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The whole XNYS schedule as arrays: session day (days since 1970-01-01), open and
    close ns UTC. Built from exchange-calendars and kept on disk per installed version and
    day (its calendar ends about a year ahead of today), because importing it and
    building the calendar costs ~0.7 s of every command that needs a session."""
    version = metadata.version("exchange_calendars")
    path = cache_dir() / f"xnys-{version}-{dt.date.today():%Y%m%d}.npz"
    try:
        with np.load(path) as z:
            return z["day"], z["open"], z["close"]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        pass  # absent or damaged: rebuilt below
    sched = xnys().schedule
    day = sched.index.to_numpy().astype("datetime64[D]").astype(np.int64)
    table = day, _utc_ns(sched["open"]), _utc_ns(sched["close"])
    try:  # best effort: a read-only home only costs the rebuild next time
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as f:
            np.savez(f, day=table[0], open=table[1], close=table[2])
        os.replace(f.name, path)
        for old in path.parent.glob("xnys-*.npz"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass
    return table


def sessions(start: dt.date, end: dt.date) -> tuple[list[dt.date], np.ndarray, np.ndarray]:
    """XNYS sessions in [start, end] inclusive: dates, open ns UTC, close ns UTC (half days honoured)."""
    day, opens, closes = schedule()
    epoch = dt.date(1970, 1, 1)
    lo = np.searchsorted(day, (start - epoch).days, side="left")
    hi = np.searchsorted(day, (end - epoch).days, side="right")
    dates = [epoch + dt.timedelta(days=int(d)) for d in day[lo:hi]]
    return dates, opens[lo:hi].copy(), closes[lo:hi].copy()


def session_date_expr(ts: str = "ts") -> pl.Expr:
    """Polars expression: the New York calendar date of an int64 ns UTC column.

    For every instant from 04:00 to 20:00 ET that is the XNYS session date the data belongs to.
    """
    return (
        pl.col(ts).cast(pl.Datetime("ns", "UTC")).dt.convert_time_zone(NY).dt.date()
    )


def _utc_ns(col) -> np.ndarray:
    """tz-aware pandas datetimes -> int64 ns UTC."""
    return col.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ns]").astype(
        np.int64
    )


def ny_midnight_ns(day: dt.date) -> int:
    """New York midnight of ``day`` in ns UTC."""
    local = dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(NY))
    return int(local.timestamp()) * 1_000_000_000


def daily_bars_at_open(frame: pl.DataFrame, origin: str) -> pl.DataFrame:
    """Relabel daily bars stamped anywhere on their New York calendar day (vendors use
    midnight ET) to that day's XNYS session open, the lake's daily ``ts`` (ns UTC).

    Raises ``DataError`` naming ``origin`` when a bar falls on a day without a session.
    """
    from framework.data.schemas import DataError

    if frame.height == 0:
        return frame
    d = frame.select(session_date_expr())["ts"]
    dates, opens, _ = sessions(d.min(), d.max())
    by_date = dict(zip(dates, opens.tolist(), strict=True))
    ts = [by_date.get(x) for x in d.to_list()]
    if any(t is None for t in ts):
        bad = next(x for x, t in zip(d.to_list(), ts, strict=True) if t is None)
        raise DataError(f"{origin}: daily bar on {bad}, which is not an XNYS session")
    return frame.with_columns(pl.Series("ts", ts, pl.Int64))

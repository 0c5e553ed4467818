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

from framework.types.nytime import iso_ny

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


PRE_MARKET_NS = 330 * NS_PER_MIN  # 04:00 -> 09:30 ET
POST_MARKET_NS = 240 * NS_PER_MIN  # 16:00 -> 20:00 ET (13:00 -> 17:00 on half days)
SESSION_KINDS = ("regular", "extended")


def extended_sessions(opens: np.ndarray, closes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Extended-hours bounds (ns UTC) of regular sessions: pre-market from 04:00 ET,
    post-market to four hours after the close (20:00, or 17:00 on half days)."""
    return opens - PRE_MARKET_NS, closes + POST_MARKET_NS


def session_bounds_of(ts: np.ndarray, session: str = "regular"
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For instants ``ts`` (ns UTC): the (regular or extended) XNYS session holding each,
    as (inside, open, close): ``inside`` bool, open/close ns UTC (0 where outside)."""
    if session not in SESSION_KINDS:
        raise ValueError(f"session '{session}': expected one of {', '.join(SESSION_KINDS)}")
    ts = np.asarray(ts, np.int64)
    if ts.size == 0:
        z = np.zeros(0, np.int64)
        return np.zeros(0, bool), z, z
    d0 = (dt.datetime.fromtimestamp(ts.min() / 1e9, dt.UTC) - dt.timedelta(days=1)).date()
    d1 = (dt.datetime.fromtimestamp(ts.max() / 1e9, dt.UTC) + dt.timedelta(days=1)).date()
    _, opens, closes = sessions(d0, d1)
    if session == "extended":
        opens, closes = extended_sessions(opens, closes)
    idx = np.searchsorted(opens, ts, side="right") - 1
    ok = (idx >= 0) & (ts < closes[np.maximum(idx, 0)])
    return ok, np.where(ok, opens[np.maximum(idx, 0)], 0), np.where(ok, closes[np.maximum(idx, 0)], 0)


def daily_bars_at_open(frame: pl.DataFrame, origin: str, first_row: int = 0) -> pl.DataFrame:
    """Relabel daily bars stamped anywhere on their New York calendar day (vendors use
    midnight ET, CSV files a bare date) to that day's XNYS session open, the lake's one
    daily ``ts`` (ns UTC); both drivers then read the lake as it is.

    Raises ``DataError`` naming ``origin``, the row (numbered from ``first_row``) and the
    bar's time in New York when a bar falls on a day without a session.
    """
    from framework.data.schemas import DataError

    if frame.height == 0:
        return frame
    d = frame.select(session_date_expr())["ts"]
    dates, opens, _ = sessions(d.min(), d.max())
    by_date = dict(zip(dates, opens.tolist(), strict=True))
    ts = [by_date.get(x) for x in d.to_list()]
    if any(t is None for t in ts):
        i = next(i for i, t in enumerate(ts) if t is None)
        raise DataError(f"{origin}: row {i + first_row}: daily bar at "
                        f"{iso_ny(frame['ts'][i])} ({d[i]}) is not on an XNYS session")
    return frame.with_columns(pl.Series("ts", ts, pl.Int64))

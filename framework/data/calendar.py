"""XNYS session calendar at the lake's edge: session dates and open/close instants in ns UTC."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
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


def sessions(start: dt.date, end: dt.date) -> tuple[list[dt.date], np.ndarray, np.ndarray]:
    """XNYS sessions in [start, end] inclusive: dates, open ns UTC, close ns UTC (half days honoured)."""
    cal = xnys()
    lo = max(start, cal.first_session.date())
    hi = min(end, cal.last_session.date())
    if lo > hi:
        return [], np.empty(0, np.int64), np.empty(0, np.int64)
    sched = cal.schedule.loc[str(lo) : str(hi)]
    dates = [d.date() for d in sched.index]
    opens = _utc_ns(sched["open"])
    closes = _utc_ns(sched["close"])
    return dates, opens, closes


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

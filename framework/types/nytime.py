"""Instants as people read them: ISO-8601 in New York time, for errors and reports.

Inside fw a time is int64 ns UTC; this is the one place that turns it into text.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

_NY = ZoneInfo("America/New_York")
_NS = 1_000_000_000


def iso_ny(ns: int) -> str:
    """``ns`` (int ns since the epoch, UTC) as ISO-8601 New York time with its offset,
    e.g. ``2024-01-02T09:30:00-05:00``; sub-second digits only when present (up to 9)."""
    ns = int(ns)
    sec, frac = divmod(ns, _NS)
    try:
        text = dt.datetime.fromtimestamp(sec, _NY).isoformat()
    except (OverflowError, OSError, ValueError):
        return f"{ns} ns (outside the calendar range)"
    if frac:
        digits = f"{frac:09d}".rstrip("0")
        text = f"{text[:19]}.{digits}{text[19:]}"
    return text

"""One lake session as the venue's timeline: the merged replay stream cut into steps.

The events come from ``framework.marketdata.replay.ReplayFeed`` (the same merge the
backtest driver reads). A *step* is a run of events with one availability time and one
group: the bars available at an instant form one step, and the quotes, trades and book
events at that instant the next one, so a client in lockstep decides on the bars of T
before the venue matches the quotes of T (the event engine's order: a bar's decision at
T precedes the fills of quotes at T).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from framework.data import Lake
from framework.data.calendar import NY, sessions
from framework.data.partitions import list_partitions
from framework.marketdata.replay import EventBatch, EventKind, ReplayFeed
from live.venue.config import VenueConfig, VenueConfigError

_NEEDS = {"bar": "bars_1m", "quote": "quotes", "book": "book_events", "alpaca-paper": "quotes"}
_STREAMED = ("bars_1m", "quotes", "trades")


def _ny_ns(day: dt.date, hh: int, mm: int) -> int:
    local = dt.datetime.combine(day, dt.time(hh, mm), tzinfo=ZoneInfo(NY))
    return int(local.timestamp()) * 1_000_000_000


@dataclass(frozen=True)
class SessionHours:
    """XNYS hours of the replayed session, ns UTC: extended hours 04:00-20:00 New York
    around the regular open/close (half days honoured by the calendar)."""

    date: dt.date
    ext_open: int
    open: int
    close: int
    ext_close: int

    @classmethod
    def of(cls, day: dt.date) -> SessionHours:
        dates, opens, closes = sessions(day, day)
        if not dates:
            raise VenueConfigError(f"venue: {day} is not an XNYS session")
        return cls(day, _ny_ns(day, 4, 0), int(opens[0]), int(closes[0]), _ny_ns(day, 20, 0))

    def regular(self, ns: int) -> bool:
        """True while the regular session is open at ``ns``."""
        return self.open <= ns < self.close

    def extended(self, ns: int) -> bool:
        """True inside 04:00-20:00 New York (pre-market, regular and after-hours)."""
        return self.ext_open <= ns < self.ext_close


class Timeline:
    """The session's events with a cursor, handed out step by step (see module doc).

    ``events`` is the whole session (``EventBatch``); ``symbols[i]`` is ``sym == i``.
    """

    def __init__(self, symbols: list[str], events: EventBatch, hours: SessionHours,
                 datasets: tuple[str, ...]):
        self.symbols = symbols
        self.events = events
        self.hours = hours
        self.datasets = datasets
        n = len(events)
        group = (events.kind != EventKind.BAR).astype(np.int8)
        if n:
            cut = np.flatnonzero((np.diff(events.ts) != 0) | (np.diff(group) != 0)) + 1
            self._starts = np.concatenate([[0], cut, [n]]).astype(np.int64)
        else:
            self._starts = np.zeros(1, np.int64)
        self.step_ts = events.ts[self._starts[:-1]] if n else np.zeros(0, np.int64)
        self.k = 0  # next step to hand out

    def fresh(self) -> Timeline:
        """The same session with the cursor at the start (arrays shared, not copied)."""
        return Timeline(self.symbols, self.events, self.hours, self.datasets)

    @property
    def n_steps(self) -> int:
        return int(self.step_ts.shape[0])

    @property
    def done(self) -> bool:
        return self.k >= self.n_steps

    def next_ts(self) -> int | None:
        """Availability time (ns UTC) of the next step, None at the end."""
        return None if self.done else int(self.step_ts[self.k])

    def take(self, until_ns: int | None = None, max_steps: int | None = None,
             max_events: int = 4096) -> EventBatch:
        """The next steps: those due at ``until_ns`` (all if None), at most ``max_steps``
        of them and about ``max_events`` events (never less than one step)."""
        k0 = self.k
        k1 = self.n_steps if until_ns is None else int(
            np.searchsorted(self.step_ts, until_ns, "right"))
        if max_steps is not None:
            k1 = min(k1, k0 + max_steps)
        if k1 <= k0:
            return EventBatch.empty()
        lo = int(self._starts[k0])
        cap = int(np.searchsorted(self._starts, lo + max_events, "right")) - 1
        k1 = max(k0 + 1, min(k1, cap))
        self.k = k1
        return self.events.slice(lo, int(self._starts[k1]))

    def played(self) -> EventBatch:
        """The events already handed out (what a restart replays silently)."""
        return self.events.slice(0, int(self._starts[self.k]))


def _session_dates(root: Path, dataset: str, symbols: list[str]) -> set[dt.date]:
    return {d for s in symbols for d, _ in list_partitions(root, dataset, s)}


def load_timeline(cfg: VenueConfig) -> Timeline:
    """Read the session ``cfg.session`` (default: the lake's last session with data for
    the fill model) of ``cfg.symbols`` (default: every symbol with data that day)."""
    root = Path(cfg.lake) if cfg.lake is not None else Lake(None).root
    if not root.is_dir():
        raise VenueConfigError(f"venue: lake {root} does not exist (run `fw data ingest`)")
    lake = Lake(root)
    need = _NEEDS[cfg.fills]
    syms = [s.upper() for s in cfg.symbols] or lake.symbols(need)
    day = cfg.session
    if day is None:
        dates = _session_dates(root, need, syms)
        if not dates:
            raise VenueConfigError(f"venue: fills = '{cfg.fills}' needs {need}, and lake "
                                   f"{root} has none for {', '.join(syms) or 'any symbol'}")
        day = max(dates)
    have = [s for s in syms if list_partitions(root, need, s, day, day)]
    if not have or (cfg.symbols and len(have) < len(syms)):
        missing = sorted(set(syms) - set(have)) or syms
        raise VenueConfigError(f"venue: fills = '{cfg.fills}' needs {need} for {day}, and "
                               f"lake {root} has none for {', '.join(missing)}")
    syms = have
    datasets = tuple(d for d in _STREAMED
                     if any(list_partitions(root, d, s, day, day) for s in syms))
    if cfg.fills == "book":
        datasets = (*datasets, "book_events")
    feed = ReplayFeed.from_lake(lake, syms, day, day, datasets=datasets)
    return Timeline(syms, feed.events(), SessionHours.of(day), datasets)

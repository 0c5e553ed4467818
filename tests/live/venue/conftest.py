"""Fixtures of the venue tests: a small synthetic lake and venues started on it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from framework.data import Lake
from framework.data.settings import load_data_config
from framework.data.sources.synthetic import ingest_synthetic
from framework.marketdata.bars import time_bars
from live.venue import Venue, VenueConfig
from live.venue.replay import load_timeline

SESSION = dt.date(2024, 1, 3)


@pytest.fixture(scope="session")
def venue_lake(tmp_path_factory) -> Path:
    """SPY and AAPL, sessions 2024-01-02 and 2024-01-03 (trades, quotes, 1m/1d bars)."""
    root = tmp_path_factory.mktemp("venue_lake")
    cfg = load_data_config(None).synthetic.model_copy(update={
        "symbols": ["SPY", "AAPL"], "start": dt.date(2024, 1, 2), "end": SESSION,
        "trades_per_day": 2000.0})
    ingest_synthetic(Lake(root), cfg, time_bars)
    return root


@pytest.fixture(scope="session")
def _timelines(venue_lake):
    cache = {}

    def get(cfg: VenueConfig):
        # the timeline holds cfg.symbols' data only: tests on other universes get theirs
        key = (cfg.fills == "book", cfg.lake, cfg.session, tuple(cfg.symbols))
        if key not in cache:
            cache[key] = load_timeline(cfg)
        return cache[key].fresh()

    return get


@pytest.fixture
def make_venue(venue_lake, _timelines):
    """``make_venue(**VenueConfig fields)``: a started venue (lockstep by default) on the
    venue lake's last session; stopped at teardown."""
    started = []

    def make(**kw) -> Venue:
        cfg = VenueConfig(**{"lake": venue_lake, "step": True, **kw})
        v = Venue(cfg, timeline=_timelines(cfg))
        v.start()
        started.append(v)
        return v

    yield make
    for v in started:
        v.stop()

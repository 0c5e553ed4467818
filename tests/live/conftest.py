"""Fixtures of the live tests: a lockstep local venue over one session of the small lake,
set up as ``fw live`` sets up its own (the strategy's costs, participation, latency and
cash), and the backtest of the same session to compare with."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from framework.engine.backtest import run_backtest
from framework.engine.run_config import load_strategy
from live.adapter.clients import Endpoint, trading_client
from live.adapter.gateway import Gateway
from live.adapter.ratelimit import TokenBucket
from live.journal import Journal
from live.runner import venue_config
from live.venue import Venue
from tests.live.venue.conftest import _timelines, make_venue, venue_lake  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]
SESSION = dt.date(2024, 1, 8)  # the small lake's last session
# the small lake is short: fast windows so the strategy trades; size 0.15 x 5 symbols
# keeps the backtest's cash cap at the fill from binding (a broker fills what it
# accepted; see docs/live.md, "parity")
SMA = {"params.fast": 1, "params.slow": 2, "data.timeframe": "1m", "decision.size": 0.15}


def session_overrides(extra: dict, reports: Path) -> dict:
    """``extra`` plus: the one replayed session, prices on the tick (what live trades
    with), results under ``reports``."""
    day = SESSION.isoformat()
    return {**extra, "data.start": day, "data.end": day, "execution.tick_prices": True,
            "backtest.reports": str(reports)}


def backtest(name: str, ov: dict, lake: Path):
    """The backtest of ``strategies/<name>.toml`` with ``ov`` (not written)."""
    return run_backtest(ROOT / "strategies" / f"{name}.toml", ov, lake_root=lake,
                        write=False).result


def assert_same_run(live, bt) -> None:
    """Exactly the backtest's orders, fills and equity."""
    assert bt.fills.height > 0, "the strategy must trade for the comparison to mean anything"
    assert live.orders.equals(bt.orders)
    assert live.fills.equals(bt.fills)
    assert live.equity["equity"].equals(bt.equity["equity"])


@pytest.fixture
def live_venue(make_venue):  # noqa: F811 (the imported fixture)
    """``live_venue(name, ov, lake, **venue fields)``: a started lockstep venue over
    ``SESSION`` configured from the strategy as ``fw live`` configures its own; stopped
    at teardown. Its rate limit is raised (Alpaca's 200/min would make a test wait
    minutes)."""
    def make(name: str, ov: dict, lake: Path, **kw) -> Venue:
        cfg, _ = load_strategy(ROOT / "strategies" / f"{name}.toml", ov, lake, prepare=False)
        return make_venue(**venue_config(cfg, lake, SESSION, **{"rate_limit": 100_000,
                                                                 **kw}).model_dump())

    return make


def trading_gateway(venue: Venue, journal: Path, timeout_s: float) -> tuple[Endpoint, Gateway]:
    """The venue advanced one minute into its session (trading, prices known) and a
    gateway on it as ``fw live`` builds one (alpaca-py's client, a fresh bucket, a
    journal at ``journal``, run id ``run-1``); ``timeout_s``: the client's per-request
    timeout, seconds."""
    venue.advance(until=venue.timeline.hours.open + 60_000_000_000)
    u = venue.urls
    ep = Endpoint(u.trading, u.trading_stream, u.data_stream, venue.cfg.key_id,
                  venue.cfg.secret_key, u.control)
    bucket = TokenBucket()
    return ep, Gateway(trading_client(ep, bucket, timeout_s=timeout_s), bucket,
                       Journal(journal), "run-1")

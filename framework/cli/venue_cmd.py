"""``fw venue``: thin glue over ``live.venue`` (imported when the command runs, so the
framework package never imports ``live`` at module level)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer


def venue(
    lake: Path = typer.Option(None, "--lake", help="Lake root (default: $FW_LAKE or ./data_lake)."),  # noqa: B008
    session: str = typer.Option(None, "--session", help="Session date YYYY-MM-DD (default: the lake's last)."),
    symbols: str = typer.Option(None, "--symbols", help="Comma-separated (default: all with data that session)."),
    speed: float = typer.Option(0.0, "--speed", help="x real time: 0 as fast as the client keeps up, 1 real time, 60 a minute per second."),
    step: bool = typer.Option(False, "--step", help="Lockstep: the clock moves only on POST /_venue/advance."),
    autostart: bool = typer.Option(False, "--autostart", help="Start the replay now, not at the first market-data subscription."),
    fills: str = typer.Option("bar", "--fills", help="bar | quote | book | alpaca-paper."),
    slippage_bps: float = typer.Option(None, "--slippage-bps", help="Fixed slippage of the bar/quote models, bps (default 1)."),
    participation: float = typer.Option(None, "--participation", help="Bar model: max fraction of bar volume (0 = no cap)."),
    latency_ms: float = typer.Option(None, "--latency-ms", help="Order-entry latency, ms: an order works from acceptance + latency (default 0)."),
    partial_rate: float = typer.Option(None, "--partial-rate", help="alpaca-paper: fraction of fills that are random partials (default 0.1)."),
    seed: int = typer.Option(None, "--seed", help="Seed of ids and of alpaca-paper partial fills."),
    key: str = typer.Option(None, "--key", help="API key id clients must send (default fw-venue-key)."),
    secret: str = typer.Option(None, "--secret", help="API secret (default fw-venue-secret)."),
    cash: float = typer.Option(None, "--cash", help="Starting cash, USD (default 100000)."),
    rate_limit: int = typer.Option(None, "--rate-limit", help="Requests per window before 429 (default 200)."),
    rate_window: float = typer.Option(None, "--rate-window", help="Seconds of the rate-limit window (default 60, Alpaca's)."),
    state: Path = typer.Option(None, "--state", help="State file: restart from it, keep it up to date."),  # noqa: B008
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(0, "--port", help="Port (0: a free one, printed)."),
    metrics_port: int = typer.Option(None, "--metrics-port", help="Serve Prometheus metrics on this port (0: a free one, printed); default: none."),
    log_dir: Path = typer.Option(None, "--log-dir", help="Append JSON-lines events (orders, connections, faults) to DIR/events.jsonl."),  # noqa: B008
    log_stderr: bool = typer.Option(True, "--log-stderr/--no-log-stderr", help="JSON-lines events on stderr too (default on)."),
) -> None:
    """Serve a lake session on Alpaca's wire: trading REST, trade_updates, market data."""
    from live.venue.cli import config_from_options, run_venue
    from live.venue.config import VenueConfigError

    try:
        day = dt.date.fromisoformat(session) if session else None
    except ValueError:
        raise VenueConfigError(f"fw venue: --session {session!r} is not YYYY-MM-DD") from None
    syms = tuple(s.strip().upper() for s in symbols.split(",") if s.strip()) if symbols else None
    cfg = config_from_options(
        lake=lake, session=day, symbols=syms, speed=speed, step=step, autostart=autostart,
        fills=fills, slippage_bps=slippage_bps, participation=participation, latency_ms=latency_ms,
        partial_rate=partial_rate, seed=seed, key_id=key, secret_key=secret, cash=cash,
        rate_limit=rate_limit, rate_window_s=rate_window, state_path=state, host=host, port=port, metrics_port=metrics_port,
        log_dir=log_dir, log_stderr=log_stderr)
    run_venue(cfg)

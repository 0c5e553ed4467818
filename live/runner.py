"""``fw live --paper`` at run time: where to trade, the run folder, signals, the session,
the results in the backtest's layout.

Where: ``--venue URL`` (any Alpaca-compatible base; a local venue's control API is found
at ``URL/_venue``), else Alpaca paper when ``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY``
are set, else a local venue started in this process on a free loopback port over a lake
session (lockstep: the replay is deterministic and as fast as the loop keeps up).

The run folder (``<reports>/<run id>/``) holds the backtest's files (orders, fills,
equity, positions, risk events as Parquet, ``manifest.json``, ``risk.json``), the journal
(``journal.sqlite``), ``live.json`` (outcomes, reconciliations, latency, stop), the
backtest's ``metrics.json`` / ``trades.parquet`` / ``tearsheet.html`` written at the end,
``events.jsonl`` (the session's JSON-lines event log) and ``pid`` while running;
``fw live stop`` writes ``stop.json`` there.

Monitoring: the session reports to one ``SessionMetrics``; ``metrics_port`` serves it
(``/metrics``, the status page) on loopback for the session's life plus
``metrics_linger_s`` (so a scraper sees the final state, a kill switch included).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests

from framework.config import load_toml
from framework.engine.backtest import code_version, package_versions, write_results
from framework.engine.event.engine import EventResult
from framework.engine.promotion import check_promoted
from framework.engine.run_config import StrategyConfig, build_strategy
from framework.monitoring import EventLog, MetricsServer, SessionMetrics
from framework.strategy import BarPanel, Strategy
from framework.types.nytime import iso_ny
from live.adapter.clients import Endpoint
from live.journal import Journal
from live.panel import Panel
from live.session import LiveError, LiveSession, Stop

LIVE_OVERRIDES = {"execution.tick_prices": True}  # the broker takes prices on the tick


@dataclass(frozen=True)
class LiveRun:
    """A finished (or stopped) live run."""

    run_id: str
    out_dir: Path
    result: EventResult
    session: LiveSession
    manifest: dict
    config: StrategyConfig
    strategy: Strategy
    panel: BarPanel  # the bars the session traded on (the tearsheet's benchmark)


def _venue_endpoint(url: str, key: str, secret: str) -> tuple[Endpoint, bool]:
    """An endpoint for ``url`` and whether it is a lockstep local venue."""
    url = url.rstrip("/")
    ws = "ws" + url[4:] if url.startswith("http") else url
    control, lockstep = None, False
    try:
        r = requests.get(f"{url}/_venue/state", timeout=5)
        if r.status_code == 200:
            control, lockstep = f"{url}/_venue", bool(r.json().get("step"))
    except requests.RequestException as err:
        raise LiveError(f"fw live: venue {url} is not reachable: {err}") from None
    return Endpoint(url, f"{ws}/stream", f"{ws}/v2/iex", key, secret, control), lockstep


def venue_config(cfg: StrategyConfig, lake: Path | None, session: dt.date | None, **kw):
    """The local venue ``fw live`` starts for ``cfg``: lockstep over ``session`` of the
    lake, the strategy's symbols, costs, fill model, participation, latency and cash
    (``kw``: other ``VenueConfig`` fields)."""
    from live.venue import VenueConfig

    ex = cfg.execution
    return VenueConfig(**{
        "lake": lake, "session": session, "symbols": tuple(cfg.symbols), "step": True,
        "fills": ex.fill_model, "costs": cfg.costs, "participation": ex.participation,
        "latency_ms": ex.latency_ms, "cash": cfg.backtest.initial_cash, **kw})


def _local_venue(cfg: StrategyConfig, lake: Path | None, session: dt.date | None):
    from live.venue import Venue

    venue = Venue(venue_config(cfg, lake, session))
    return venue, venue.start()


def _run_id(cfg: StrategyConfig) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha256(cfg.model_dump_json().encode()).hexdigest()[:6]
    return f"{cfg.name}-live-{stamp}-{digest}"


def _check_supported(cfg: StrategyConfig, source: str) -> None:
    if cfg.data.timeframe != "1m":
        raise LiveError(f"fw live: {source}: [data] timeframe = {cfg.data.timeframe!r}; live "
                        "trading runs on the stream's 1-minute bars (timeframe \"1m\")")
    if cfg.data.book_levels > 0:
        raise LiveError(f"fw live: {source}: [data] book_levels > 0 needs an L3 book, which "
                        "Alpaca does not stream for equities")


def run_live(path: str | Path, overrides: dict | None = None, *, lake: Path | None = None,
             out_root: Path | None = None, venue_url: str | None = None,
             session: dt.date | None = None, resume: str | None = None,
             force_reason: str | None = None, max_steps: int | None = None,
             on_start=None, request_timeout_s: float = 10.0, metrics_port: int | None = None,
             metrics_linger_s: float = 0.0, log_stderr: bool = False,
             panel: Panel | None = None, on_end=None, journal_sync: str = "full") -> LiveRun:
    """Trade the strategy at ``path`` (see the module docstring). ``resume``: a run id
    under the reports root to continue from its journal; ``max_steps``: stop after that
    many lockstep steps without a kill (tests: a crash at a known point); ``on_start``:
    called with the session once it is built (its ``metrics_url`` set when served);
    ``request_timeout_s`` per REST call; ``metrics_port``: serve the session's metrics
    and status page on 127.0.0.1 (0: a free port; None: not served), kept up
    ``metrics_linger_s`` seconds after the session ends; ``log_stderr``: the event log
    on stderr too (it always goes to ``events.jsonl``); ``panel``: the terminal line;
    ``on_end``: called with the session after the results are written, while the
    metrics are still served; ``journal_sync``: ``"full"`` (every intent fsync'd before
    its POST) or ``"normal"`` (no fsync; see ``live.journal``)."""
    ov = {**(overrides or {}), **LIVE_OVERRIDES}
    cfg = load_toml(path, StrategyConfig, ov)
    _check_supported(cfg, str(path))
    promotion = check_promoted(Path(path), cfg, force_reason, lake)
    strategy = build_strategy(cfg, path, lake)
    root = out_root or cfg.backtest.reports
    run_id = resume or _run_id(cfg)
    out_dir = Path(root) / run_id
    if resume and not (out_dir / "journal.sqlite").is_file():
        raise LiveError(f"fw live --resume {resume}: no journal at {out_dir / 'journal.sqlite'}")
    journal = Journal(out_dir / "journal.sqlite", sync=journal_sync)
    log = EventLog("live", run_id, out_dir, stderr=log_stderr)
    metrics = SessionMetrics(run_id, strategy=cfg.name, mode="paper",
                             drawdown_limit=cfg.risk.max_drawdown, log=log)
    server = venue = None
    try:
        if venue_url:
            from live.venue.config import VenueConfig

            d = VenueConfig()
            ep, lockstep = _venue_endpoint(venue_url, os.environ.get("APCA_API_KEY_ID", d.key_id),
                                           os.environ.get("APCA_API_SECRET_KEY", d.secret_key))
        elif os.environ.get("APCA_API_KEY_ID") and os.environ.get("APCA_API_SECRET_KEY"):
            ep, lockstep = Endpoint.alpaca_paper(), False
        else:
            venue, urls = _local_venue(cfg, lake, session)
            ep = Endpoint(urls.trading, urls.trading_stream, urls.data_stream,
                          venue.cfg.key_id, venue.cfg.secret_key, urls.control)
            lockstep = True
        live = LiveSession(cfg, strategy, ep, journal, run_id,
                           request_timeout_s=request_timeout_s, stop_file=out_dir / "stop.json",
                           metrics=metrics)
        live.panel = panel
        live.metrics_url = None
        if metrics_port is not None:
            server = MetricsServer(metrics.registry, status=metrics.status)
            live.metrics_url = server.start(metrics_port)
        if resume:
            live.replay_journal()
        journal.set_meta(run_id=run_id, strategy=cfg.name, config_file=str(path),
                         venue=ep.trading, lockstep=lockstep)
        (out_dir / "pid").write_text(str(os.getpid()))
        if on_start is not None:
            on_start(live)
        _run(live, lockstep, max_steps)
        if live.stop_request is not None:
            live.apply_stop()
        metrics.market_open(False)
        if panel is not None:
            panel.tick(live, force=True)
        if live.stats.journal_error:  # nothing written to a disk that refuses writes
            raise LiveError(f"fw live: {live.stats.journal_error}; trading stopped (open "
                            f"orders cancelled, positions kept, the journal's committed "
                            f"state intact): free the disk, then fw live --resume {run_id}")
        live.settle()  # fills reported after the last row (final reconciliation)
        result = live.result()
        manifest = _manifest(cfg, str(path), run_id, ep, lockstep, resume, promotion, venue,
                             strategy.context.lake_root)
        if live.driver.algo_inputs is not None:  # as the backtest's manifest records them
            manifest["algo_inputs"] = live.driver.algo_inputs.source
        write_results(out_dir, result, manifest)
        (out_dir / "live.json").write_text(json.dumps(_summary(live), indent=2, default=str))
        run = LiveRun(run_id, out_dir, result, live, manifest, cfg, strategy,
                      live.driver.panel(0, live.driver.n))
        if result.equity.height:  # metrics.json, trades.parquet, tearsheet.html; imported
            # here: a resumed run that is killed again never pays for the report's imports
            from framework.analytics.run_report import report_backtest

            report_backtest(run)
        if on_end is not None:
            on_end(live)
        if server is not None and metrics_linger_s > 0:
            time.sleep(metrics_linger_s)
        return run
    finally:
        with contextlib.suppress(OSError):  # a disk that refused the journal refuses this
            (out_dir / "pid").unlink(missing_ok=True)
        with contextlib.ExitStack() as closing:  # last first; each runs if one raises
            if venue is not None:
                closing.callback(venue.stop)
            closing.callback(log.close)
            if server is not None:
                closing.callback(server.stop)
            closing.callback(journal.close)


def _run(live: LiveSession, lockstep: bool, max_steps: int | None) -> None:
    """The session on a fresh event loop; SIGINT / SIGTERM stop it with the kill switch."""
    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, live.request_stop,
                                        Stop(kill=True, reason=f"signal {sig.name}"))
            except (ValueError, RuntimeError):  # not the main thread (tests)
                pass
        try:  # fw live stop: read its stop.json now
            loop.add_signal_handler(signal.SIGUSR1, live._poll_stop_file)
        except (ValueError, RuntimeError):
            pass
        await live.run(lockstep=lockstep, max_steps=max_steps)

    asyncio.run(main())


def _manifest(cfg: StrategyConfig, source: str, run_id: str, ep: Endpoint, lockstep: bool,
              resume: str | None, promotion: dict, venue, lake: Path) -> dict:
    return {
        "strategy": cfg.name, "config_file": source, "config": json.loads(cfg.model_dump_json()),
        "symbols": list(cfg.symbols), "run_id": run_id, "mode": "live-paper",
        "venue": ep.trading, "local_venue": None if venue is None else {
            "session": venue.timeline.hours.date.isoformat(), "fills": venue.cfg.fills,
            "lake": str(venue.cfg.lake)},
        "lockstep": lockstep, "resumed": resume is not None, "promotion": promotion,
        "lake": str(lake),
        "code_version": code_version(), "packages": package_versions(), "seed": cfg.seed,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _percentiles(us: np.ndarray) -> dict | None:
    """p50 / p99 (and the count) of microsecond samples; None for none."""
    if not us.size:
        return None
    return {"p50": float(np.percentile(us, 50)), "p99": float(np.percentile(us, 99)),
            "n": int(us.size)}


def _summary(live: LiveSession) -> dict:
    st = live.stats
    lat = np.asarray(st.latency_ns, dtype=np.float64) / 1e3
    hours = np.array([iso_ny(ts)[11:13] + ":00" for ts in st.latency_row_ns], dtype=object)
    return {
        "bars": st.bars, "backfilled_bars": st.backfilled_bars,
        "duplicate_bars": st.duplicate_bars, "late_bars": st.late_bars,
        "backfill_errors": st.backfill_errors,
        "trade_updates": st.updates, "duplicate_fills": st.duplicates,
        "ignored_after_terminal": st.ignored_after_terminal,
        "foreign_updates": st.foreign_updates, "submitted": st.submitted,
        "cancels": st.cancels, "outcomes": st.outcomes,
        "reconciliations": st.reconciliations, "reconnects": st.reconnects,
        "stale_alarms": st.stale_alarms, "stopped": st.stopped,
        "bad_input": {"trade_updates": live.trade_stream.bad_input,
                      "market_data": live.data_stream.bad_input},
        "decision_latency_us": _percentiles(lat),
        "decision_latency_by_hour_us": {  # per New York hour of the rows' starts
            h: _percentiles(lat[hours == h]) for h in sorted(set(hours.tolist()))},
        "rate_limit_waited_s": live.bucket.waited_s,
    }

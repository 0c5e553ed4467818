"""``fw venue`` at run time: start the venue in this process and serve until a signal."""

from __future__ import annotations

import asyncio
import signal
import sys

from pydantic import ValidationError

from live.venue.config import VenueConfig, VenueConfigError
from live.venue.server import Venue, check_port_free


def config_from_options(**options) -> VenueConfig:
    """A ``VenueConfig`` from CLI options (None = default); errors name the option."""
    from framework.execution.costs import CostConfig

    slippage = options.pop("slippage_bps", None)
    given = {k: v for k, v in options.items() if v is not None}
    if slippage is not None:
        given["costs"] = CostConfig(slippage_bps=slippage)
    try:
        return VenueConfig(**given)
    except ValidationError as err:
        e = err.errors()[0]
        key = ".".join(str(p) for p in e["loc"])
        raise VenueConfigError(f"fw venue: --{key.replace('_', '-')}: {e['msg']}") from None


async def _serve(venue: Venue, out) -> None:
    urls = await venue.serve()
    tl, cfg = venue.timeline, venue.cfg
    pace = "lockstep (POST /_venue/advance)" if cfg.step else (
        "as fast as the client keeps up" if cfg.speed == 0 else f"{cfg.speed:g}x real time")
    print(f"fw venue: session {tl.hours.date}, {len(tl.symbols)} symbols "
          f"({' '.join(tl.symbols)}), fills {cfg.fills}, {pace}", file=out)
    for name, url in (("trading REST", urls.trading), ("trade_updates", urls.trading_stream),
                      ("market data", urls.data_stream), ("control", urls.control)):
        print(f"  {name:<14} {url}", file=out)
    print(f"  keys           {cfg.key_id} / {cfg.secret_key}", file=out)
    print("Ctrl-C stops it.", file=out, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        venue.persist()
        await venue.close()


def run_venue(cfg: VenueConfig, out=sys.stdout) -> None:
    """Serve ``cfg``'s venue in the foreground until SIGINT/SIGTERM."""
    check_port_free(cfg.host, cfg.port)
    asyncio.run(_serve(Venue(cfg), out))

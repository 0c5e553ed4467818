"""The local Alpaca-wire venue: a lake session replayed behind Alpaca's trading REST,
``trade_updates`` stream and market-data stream, with the project's fill models (or
Alpaca paper's), Alpaca's rules and scriptable faults. See ``docs/venue.md``.

Public API: ``Venue`` (start/stop, URLs, advance, faults), ``VenueConfig``, ``VenueUrls``.
"""

from live.venue.config import VenueConfig, VenueConfigError
from live.venue.server import Venue, VenueUrls

__all__ = ["Venue", "VenueConfig", "VenueConfigError", "VenueUrls"]

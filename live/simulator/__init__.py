"""Alpaca-compatible local simulators on loopback (historical data REST: ``data_rest``)."""

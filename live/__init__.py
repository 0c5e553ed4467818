"""Live driver: Alpaca broker and stream adapters, session runner, journal, and the Alpaca-compatible local exchange simulator."""

"""Live drivers: consume a feed event by event and call the same strategy, risk and
execution code as the backtest driver."""

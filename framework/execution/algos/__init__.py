"""Parent-order execution algorithms as compiled state machines driven by the loop's
clock: TWAP, VWAP, POV, iceberg and implementation shortfall (Almgren–Chriss), one
implementation for the backtest and the live driver (see ``docs/execution.md``)."""

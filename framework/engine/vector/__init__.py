"""Vectorized engine: entry/exit signals or targets over [time x symbol] arrays.

Bar fills (signal at bar t's close, fill at bar t+1's open), per-share/bps commissions,
fixed-bps slippage, sizes resolved at the fill by the event engine's rule, shared cash
across symbols (a cash account). Parameter sweeps live in :mod:`framework.sweep`.
"""

from framework.engine.vector.engine import (
    VectorEngineError,
    VectorResult,
    run_signals,
    run_target_weights,
    run_targets,
)

__all__ = ["VectorEngineError", "VectorResult", "run_signals", "run_target_weights", "run_targets"]

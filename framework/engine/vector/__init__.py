"""Vectorized engine: entry/exit signals or target weights over [time x symbol] arrays.

Bar fills (signal at bar t's close, fill at bar t+1's open), per-share/bps commissions,
fixed-bps slippage, long-only, shared cash across symbols. Parameter sweeps live in
:mod:`framework.sweep`.
"""

from framework.engine.vector.engine import (
    CostSpec,
    VectorEngineError,
    VectorResult,
    run_signals,
    run_target_weights,
)

__all__ = ["CostSpec", "VectorEngineError", "VectorResult", "run_signals", "run_target_weights"]

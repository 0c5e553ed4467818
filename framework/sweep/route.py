"""Which engine runs a sweep's trials: the one decision of the vector fast path.

Every trial can run on the event engine (``framework.engine.backtest.run_strategy``):
it handles every strategy form, order type, fill model and risk limit. The vectorized
engine is faster but models less: bar fills of market orders at the next open, one
sizing rule, costs as fixed bps, no brackets, timed exits, participation caps, latency
or risk limits. A trial may use it only where it gives the event engine's result;
:func:`engine_for` says which engine and why, and the sweep records both.
"""

from __future__ import annotations

from framework.engine.run_config import StrategyConfig
from framework.risk import RiskConfig
from framework.strategy import Strategy

# every trial runs on the event engine: the vector engine sizes at the fill like it
# (equity_fraction, value, targets; issue 25), but no vector-engine trial runner is built
VECTOR_RUNNER_MISSING = "this build has no vector-engine trial runner"


def vector_blockers(cfg: StrategyConfig, strategy: Strategy) -> list[str]:
    """What in this strategy and config the vector engine cannot model (empty: every
    trial is expressible there)."""
    out = []
    if getattr(strategy, "event_driven", False):
        out.append("the strategy is event-driven (on_bar)")
    if cfg.execution.fill_model != "bar":
        out.append(f"fill model '{cfg.execution.fill_model}' (vector: bar fills only)")
    if cfg.execution.participation > 0 or cfg.execution.latency_ms > 0 \
            or cfg.execution.latency_jitter_ms > 0:
        out.append("participation cap or order latency")
    d = cfg.decision
    if d.order_type != "market":
        out.append("limit entries")
    if d.stop_loss_pct or d.take_profit_pct or d.max_hold_bars or d.cooldown_bars \
            or d.entry_timeout_bars or d.flat_at_close:
        out.append("brackets, timed exits or flat-at-close")
    if d.allow_short:
        out.append("short entries")
    if cfg.risk != RiskConfig():
        out.append("risk limits")
    if cfg.costs.slippage != "fixed_bps" or cfg.costs.model != "custom":
        out.append(f"costs model '{cfg.costs.model}' with '{cfg.costs.slippage}' slippage "
                   "(vector: commission + fixed bps)")
    return out


def engine_for(cfg: StrategyConfig, strategy: Strategy) -> tuple[str, str]:
    """("vector", "") when the fast path applies, else ("event", the reasons)."""
    reasons = [*vector_blockers(cfg, strategy), VECTOR_RUNNER_MISSING]
    return ("event", "; ".join(reasons)) if reasons else ("vector", "")

"""Which engine runs a sweep's trials: the one decision of the vector fast path.

Every trial can run on the event engine (``framework.engine.backtest.run_strategy``):
it handles every strategy form, order type, fill model and risk limit. The vectorized
engine is faster but models less: bar fills of market orders at the next open, long-only
entries/exits or targets, sizes resolved at the fill, commissions, regulatory fees and
fixed-bps slippage; no brackets, trailing or timed exits, participation caps, latency,
borrow fees or risk limits. A sweep routes its trials there only where the config gives
the event engine's result (:func:`engine_for`, recorded with its reason either way); a
trial whose own signals carry what the vector engine cannot model (per-entry sizes,
limits or stops) still runs on the event engine (``framework.sweep.vector_trials``).
"""

from __future__ import annotations

from framework.engine.run_config import StrategyConfig
from framework.risk import RiskConfig
from framework.strategy import Strategy

VECTOR_REASON = ("bar fills of market orders, {form}, fixed-bps slippage, no brackets, "
                 "timed exits or risk limits: the vector engine gives the event engine's "
                 "result (a trial whose signals set per-entry sizes, limits or stops runs "
                 "on the event engine)")


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
            or d.entry_timeout_bars or d.flat_at_close or d.trailing_pct or d.trailing_atr:
        out.append("brackets, trailing or timed exits, or flat-at-close")
    if d.allow_short and d.mode == "signals":
        out.append("short entries")
    if cfg.risk != RiskConfig():
        out.append("risk limits")
    if cfg.costs.slippage != "fixed_bps":
        out.append(f"'{cfg.costs.slippage}' slippage (vector: fixed bps)")
    if cfg.costs.borrow_rate > 0:
        out.append("borrow fees")
    return out


def engine_for(cfg: StrategyConfig, strategy: Strategy) -> tuple[str, str]:
    """("vector", why it applies) or ("event", what blocks the vector engine)."""
    reasons = vector_blockers(cfg, strategy)
    if reasons:
        return "event", "; ".join(reasons)
    form = ("targets" if cfg.decision.mode == "target"
            else f"long-only signals sized by {cfg.decision.size_mode}")
    return "vector", VECTOR_REASON.format(form=form)

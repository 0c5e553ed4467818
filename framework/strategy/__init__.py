"""framework.strategy: the Strategy contract, bar panels, signals and the decision rule.

Public names: ``Strategy``, ``StrategyContext``, ``BarPanel``, ``Signals``,
``DecisionConfig``, and the causal helpers ``crossover``, ``crossunder``, ``shift``,
``rolling_mean``/``_std``/``_min``/``_max``/``_sum`` (``framework.strategy.causal``). The TOML file that names a strategy is read by
``framework.engine.run_config.load_strategy``. See docs/strategy.md.
"""

from framework.strategy.base import Strategy, StrategyContext
from framework.strategy.causal import (
    LookAheadError,
    crossover,
    crossunder,
    rolling_max,
    rolling_mean,
    rolling_min,
    rolling_std,
    rolling_sum,
    shift,
)
from framework.strategy.decision import DecisionConfig
from framework.strategy.panel import BarPanel, load_panel
from framework.strategy.signals import Signals

__all__ = ["BarPanel", "DecisionConfig", "LookAheadError", "Signals", "Strategy",
           "StrategyContext", "crossover", "crossunder", "load_panel", "rolling_max",
           "rolling_mean", "rolling_min", "rolling_std", "rolling_sum", "shift"]

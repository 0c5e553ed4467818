"""framework.strategy: the Strategy contract, bar panels, signals and the decision rule.

Public names: ``Strategy``, ``StrategyContext``, ``BarPanel``, ``Signals``,
``DecisionConfig``. The TOML file that names a strategy is read by
``framework.engine.run_config.load_strategy``. See docs/strategy.md.
"""

from framework.strategy.base import Strategy, StrategyContext
from framework.strategy.decision import DecisionConfig
from framework.strategy.panel import BarPanel, load_panel
from framework.strategy.signals import Signals

__all__ = ["BarPanel", "DecisionConfig", "Signals", "Strategy", "StrategyContext", "load_panel"]

"""The Strategy contract: causal vectorised signals plus ``[decision]`` parameters.

A strategy is a class in ``strategies/`` named by a TOML file. It implements
:meth:`Strategy.signals`, a causal function of the bars seen so far. The backtest driver
calls it once over all history; the live driver calls it on the bars seen so far as
each bar closes and reads the last row — the same code, never a port (a live session
loads at least ``lookback_bars()`` bars of history before it trades). The path-dependent part (position, working orders, time in trade) is the
compiled decision rule in :mod:`framework.strategy.decision`. See docs/strategy.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from framework.config import FrozenModel
from framework.strategy.panel import BarPanel
from framework.strategy.signals import Signals


class NoParams(FrozenModel):
    """A strategy without parameters."""


@dataclass
class StrategyContext:
    """What a strategy may use besides bars: the lake root, its TOML path, and artifacts
    the driver loaded for it (e.g. a registered model under ``artifacts['model']``)."""

    lake_root: Path
    config_path: Path
    artifacts: dict[str, Any] = field(default_factory=dict)


class Strategy:
    """Base class. Subclasses set ``Params`` (a FrozenModel) and implement ``signals``."""

    Params: ClassVar[type[FrozenModel]] = NoParams

    def __init__(self, params: FrozenModel, context: StrategyContext):
        self.params = params
        self.context = context

    @property
    def name(self) -> str:
        """The strategy's class name."""
        return type(self).__name__

    def lookback_bars(self) -> int:
        """Warm-up: bars of history ``signals`` needs before its output is meaningful
        (history a live session loads first; where the look-ahead check starts cutting)."""
        return 0

    def signals(self, panel: BarPanel) -> Signals:
        """Causal signals over ``panel``: row t may use rows <= t only."""
        raise NotImplementedError(f"{self.name} must implement signals(panel)")

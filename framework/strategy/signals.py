"""``Signals``: a strategy's causal output over ``[time, symbol]``, read by the decision rule."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from framework.strategy.panel import BarPanel
from framework.types.errors import FwError


class SignalError(FwError):
    """A strategy returned signals of the wrong shape or with invalid values."""


@dataclass(frozen=True)
class Signals:
    """``entry`` int8 (+1 long, -1 short, 0 none), ``exit`` bool, ``size`` float64 (NaN = the
    configured size), ``limit`` float64 limit price USD (NaN = the configured order type);
    all ``[T, S]``, row t known at bar t's close."""

    entry: np.ndarray
    exit: np.ndarray
    size: np.ndarray
    limit: np.ndarray

    @classmethod
    def of(cls, entry: np.ndarray, exit: np.ndarray, size: np.ndarray | None = None,
           limit: np.ndarray | None = None) -> Signals:
        """Build from arrays; ``size``/``limit`` default to all-NaN."""
        e = np.ascontiguousarray(entry, dtype=np.int8)
        nan = np.full(e.shape, np.nan)
        return cls(e, np.ascontiguousarray(exit, dtype=np.bool_),
                   np.ascontiguousarray(nan if size is None else size, dtype=np.float64),
                   np.ascontiguousarray(nan if limit is None else limit, dtype=np.float64))

    def check(self, panel: BarPanel, who: str = "strategy") -> None:
        """Raise ``SignalError`` naming ``who`` unless shapes match the panel and entries are
        in {-1, 0, 1}."""
        shape = panel.close.shape
        for name in ("entry", "exit", "size", "limit"):
            arr = getattr(self, name)
            if arr.shape != shape:
                raise SignalError(f"{who}: signal '{name}' has shape {arr.shape}, "
                                  f"expected {shape} (bars x symbols)")
        if np.any(np.abs(self.entry) > 1):
            raise SignalError(f"{who}: 'entry' must be -1, 0 or +1")

    def head(self, n: int) -> Signals:
        """The first ``n`` rows."""
        return Signals(self.entry[:n], self.exit[:n], self.size[:n], self.limit[:n])

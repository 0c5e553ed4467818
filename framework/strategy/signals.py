"""``Signals``: a strategy's causal output over ``[time, symbol]``, read by the engine loop.

Two forms, chosen by ``[decision] mode``:

* **signals** (the default): ``entry`` +1 long / -1 short / 0, ``exit`` bool, with the
  path-dependent rule of ``framework.strategy.decision`` deciding what to do with them;
* **target**: ``target`` per bar and symbol — a portfolio weight (fraction of equity),
  shares or USD (``target_unit``), NaN = no change — and the engine trades the
  difference at the next fill opportunity (``framework.execution.rebalance``).

Optional per-bar overrides (NaN = the ``[decision]`` default): ``size`` (entry size in
the configured unit), ``limit`` (entry limit price, USD), and the exits of the trade an
entry opens: ``stop_loss`` / ``take_profit`` (bracket legs, fractions of the fill
price), ``trail_pct`` (trailing stop, fraction off the best mark), ``trail_atr``
(trailing stop in multiples of ``atr``, USD), ``max_hold`` (bars in the trade). An
override nobody sets can be a ``[1, 1]`` array that stands for every bar and symbol.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import ClassVar, NamedTuple

import numpy as np

from framework.strategy.panel import BarPanel
from framework.types.codes import SizeMode
from framework.types.errors import FwError


class SignalError(FwError):
    """A strategy returned signals of the wrong shape or with invalid values."""


class SignalArrays(NamedTuple):
    """What the compiled loop reads of ``Signals`` (same fields, same meaning)."""

    entry: np.ndarray
    exit: np.ndarray
    size: np.ndarray
    limit: np.ndarray
    target: np.ndarray
    stop_loss: np.ndarray
    take_profit: np.ndarray
    trail_pct: np.ndarray
    trail_atr: np.ndarray
    atr: np.ndarray
    max_hold: np.ndarray


def _unset() -> np.ndarray:
    """A ``[1, 1]`` NaN: the override is not set anywhere."""
    return np.full((1, 1), np.nan)


TARGET_UNITS = {"shares": SizeMode.SHARES.value, "value": SizeMode.VALUE.value,
                "weight": SizeMode.EQUITY.value}
def _f64(a: np.ndarray | float | None) -> np.ndarray:
    if a is None:
        return _unset()
    arr = np.asarray(a, dtype=np.float64)
    return np.ascontiguousarray(arr.reshape(1, 1) if arr.ndim == 0 else arr)


@dataclass(frozen=True)
class Signals:
    """``entry`` int8, ``exit`` bool, every other field float64; each ``[T, S]`` (or
    ``[1, 1]`` for one value everywhere), row t known at bar t's close. ``target_unit``:
    "weight", "shares" or "value" (target mode only). Build with :meth:`of` or the
    ``target_*`` constructors."""

    entry: np.ndarray
    exit: np.ndarray
    size: np.ndarray
    limit: np.ndarray
    target: np.ndarray = field(default_factory=_unset)
    stop_loss: np.ndarray = field(default_factory=_unset)
    take_profit: np.ndarray = field(default_factory=_unset)
    trail_pct: np.ndarray = field(default_factory=_unset)
    trail_atr: np.ndarray = field(default_factory=_unset)
    atr: np.ndarray = field(default_factory=_unset)
    max_hold: np.ndarray = field(default_factory=_unset)
    target_unit: str | None = None

    ARRAYS: ClassVar[tuple[str, ...]] = SignalArrays._fields

    @classmethod
    def of(cls, entry: np.ndarray, exit: np.ndarray, size: np.ndarray | None = None,
           limit: np.ndarray | None = None, *, stop_loss=None, take_profit=None,
           trail_pct=None, trail_atr=None, atr=None, max_hold=None) -> Signals:
        """Entry/exit signals; every other field defaults to NaN (the configured value)."""
        e = np.ascontiguousarray(entry, dtype=np.int8)
        nan = np.full(e.shape, np.nan)
        return cls(e, np.ascontiguousarray(exit, dtype=np.bool_),
                   np.ascontiguousarray(nan if size is None else size, dtype=np.float64),
                   np.ascontiguousarray(nan if limit is None else limit, dtype=np.float64),
                   stop_loss=_f64(stop_loss), take_profit=_f64(take_profit),
                   trail_pct=_f64(trail_pct), trail_atr=_f64(trail_atr), atr=_f64(atr),
                   max_hold=_f64(max_hold))

    @classmethod
    def target_weights(cls, weights: np.ndarray) -> Signals:
        """Target portfolio weights (fraction of equity, negative = short; NaN = hold)."""
        return cls._targets(weights, "weight")

    @classmethod
    def target_shares(cls, shares: np.ndarray) -> Signals:
        """Target positions in shares (negative = short; NaN = hold)."""
        return cls._targets(shares, "shares")

    @classmethod
    def target_values(cls, usd: np.ndarray) -> Signals:
        """Target positions in USD of notional (negative = short; NaN = hold)."""
        return cls._targets(usd, "value")

    @classmethod
    def _targets(cls, target: np.ndarray, unit: str) -> Signals:
        t = np.ascontiguousarray(target, dtype=np.float64)
        if t.ndim != 2:
            raise SignalError(f"targets must be [bars x symbols], got shape {t.shape}")
        zero = np.zeros((1, 1), np.int8)
        return cls(zero, np.zeros((1, 1), np.bool_), _unset(), _unset(), t, target_unit=unit)

    @property
    def is_target(self) -> bool:
        """True for target-mode signals."""
        return self.target_unit is not None

    def arrays(self) -> SignalArrays:
        """The arrays in the loop's layout."""
        return SignalArrays(*(getattr(self, f) for f in self.ARRAYS))

    def check(self, panel: BarPanel, who: str = "strategy", last: int | None = None) -> None:
        """Raise ``SignalError`` naming ``who`` unless every array is ``[T, S]`` (or
        ``[1, 1]`` where allowed), entries are in {-1, 0, 1} and overrides are finite
        where set and non-negative. ``last``: check the values of the last ``last`` rows
        only (the live driver keeps only its window's last row; None: every row)."""
        shape = panel.close.shape
        full = ("target",) if self.is_target else ("entry", "exit")
        for name in self.ARRAYS:
            arr = getattr(self, name)
            if arr.shape != shape and (name in full or arr.shape != (1, 1)):
                raise SignalError(f"{who}: signal '{name}' has shape {arr.shape}, "
                                  f"expected {shape} (bars x symbols)")
        v = self if last is None else self.tail(last)
        if np.any(np.abs(v.entry) > 1):
            raise SignalError(f"{who}: 'entry' must be -1, 0 or +1")
        if self.target_unit is not None and self.target_unit not in TARGET_UNITS:
            raise SignalError(f"{who}: target unit '{self.target_unit}': expected one of "
                              f"{sorted(TARGET_UNITS)}")
        if self.is_target and np.any(np.isinf(v.target)):
            raise SignalError(f"{who}: 'target' has infinite values (NaN means no change)")
        for name in ("size", "stop_loss", "take_profit", "trail_pct", "trail_atr", "atr",
                     "max_hold"):
            a = getattr(v, name)
            if ((a < 0.0) | (a == np.inf)).any():  # one pass: NaN passes both
                raise SignalError(f"{who}: '{name}' must be NaN (the default) or finite "
                                  ">= 0")
        if np.any(np.isfinite(v.trail_atr)) and not np.any(np.isfinite(v.atr)):
            raise SignalError(f"{who}: 'trail_atr' needs 'atr' (USD per bar and symbol)")

    def tail(self, n: int) -> Signals:
        """The last ``n`` rows (``[1, 1]`` fields stay as they are; views)."""
        return self._rows(slice(-n, None))

    def head(self, n: int) -> Signals:
        """The first ``n`` rows (``[1, 1]`` fields stay as they are)."""
        return self._rows(slice(None, n))

    def _rows(self, rows: slice) -> Signals:
        cut = {f.name: getattr(self, f.name)[rows] for f in fields(self)
               if f.name in self.ARRAYS and getattr(self, f.name).shape != (1, 1)}
        return replace(self, **cut)

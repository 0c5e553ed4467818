"""Run an event-driven strategy inside the compiled loop: its ``on_bar`` (and ``on_fill``)
are called back from the loop at each bar's close, through a C callback, so stepping
costs no re-entry into numba per bar (~1 us a call instead of ~20-50 us).

``OnBarRunner(strategy).callback`` is the ``hook`` of ``engine.run_bars``: it points the
strategy's ``BarContext`` at bar ``t``, hands it the fills booked since the last call
(``on_fill``, in fill order, before ``on_bar``), calls ``on_bar`` and returns how many
intents it wrote. An exception in the strategy stops the loop; :meth:`raise_failure`
re-raises it naming the strategy's file and line.
"""

from __future__ import annotations

import ctypes
import inspect
import traceback
from pathlib import Path

import numpy as np

from framework.engine.event.kernels import HOOK_FAILED
from framework.strategy import decision as D
from framework.strategy.base import Strategy, StrategyRunError
from framework.strategy.context import BarContext, Fill
from framework.strategy.panel import FIELDS, BarPanel
from framework.strategy.signals import Signals

CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)


class OnBarRunner:
    """The bridge between the compiled loop and one strategy's ``on_bar`` / ``on_fill``."""

    def __init__(self, strategy: Strategy):
        self.strategy = strategy
        self.ctx: BarContext | None = None
        self.error: BaseException | None = None
        self.callback = CALLBACK(self._call)
        self._seen = 0

    def bind(self, state, panel: BarPanel) -> None:
        """Point the context at ``state`` (an ``EngineState``) and ``panel``'s bars; again
        whenever the driver's arrays were replaced (the live driver grows them)."""
        first = self.ctx is None
        if first:
            self.ctx = BarContext(state.symbols, state.work.intents)
        self.state = state
        state.params.dec[D.D_MODE] = D.MODE_ON_BAR
        self._n_fills = state.orders.tally["n_fills"]
        self._symbols = state.symbols
        self.ctx._bind({f: getattr(panel, f) for f in FIELDS}, panel.decision_ts(),
                       state.risk.rsym["position"], state.risk.rstate["cash"],
                       state.work.last_close, self._orders)
        if first:
            self.strategy.on_start(self.ctx)

    def _orders(self):
        od = self.state.orders
        tally = od.tally[0]
        return od.orders, int(tally["first_open"]), int(tally["n_orders"])

    def _call(self, t: int) -> int:
        try:
            ctx = self.ctx
            ctx._begin(t)
            if self._n_fills[0] > self._seen:
                self._deliver(int(self._n_fills[0]))
            self.strategy.on_bar(ctx)
            return ctx._n
        except BaseException as err:  # noqa: BLE001 - re-raised by raise_failure
            self.error = err
            return HOOK_FAILED

    def _deliver(self, n: int) -> None:
        f = self.state.orders.fills[self._seen: n]
        self._seen = n
        for r in f:
            self.strategy.on_fill(self.ctx, Fill(int(r["ts"]), self._symbols[int(r["sym"])],
                                                 int(r["side"]), float(r["qty"]),
                                                 float(r["price"]), float(r["fee"]),
                                                 int(r["order_id"])))

    def raise_failure(self) -> None:
        """Re-raise what the strategy raised, naming its file and line."""
        err = self.error
        if isinstance(err, (KeyboardInterrupt, SystemExit)):
            raise err
        where = _where(type(self.strategy), err)
        raise StrategyRunError(f"{self.strategy.name} ({where}): on_bar failed at bar "
                               f"{self.ctx.t}: {type(err).__name__}: {err}") from err


def _where(cls: type, err: BaseException) -> str:
    """``file:line`` of the deepest frame of the traceback inside the strategy's file."""
    try:
        src = Path(inspect.getsourcefile(cls) or "").resolve()
    except TypeError:
        src = None
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if src is not None and Path(f.filename).resolve() == src]
    f = (mine or frames or [None])[-1]
    return f"{f.filename}:{f.lineno}" if f is not None else "unknown location"


def blank_signals(panel: BarPanel) -> Signals:
    """The signals an on_bar strategy runs with: none (it speaks through its context)."""
    shape = panel.close.shape
    return Signals.of(np.zeros(shape, np.int8), np.zeros(shape, bool))

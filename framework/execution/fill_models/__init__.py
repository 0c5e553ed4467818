"""Fill models of the simulated venue, one module each behind one protocol.

A model is a module with a feed type (a ``NamedTuple`` of what it fills against) and
``step(t, feed, mkt, orders, risk, params, work) -> int``: fill the working orders of
bar ``t`` (and trade the targets due), returning OK (0) or a code asking the caller to
grow something and resume the bar. ``FillModel`` names them; the engine loop calls
:func:`fill_step`, which numba resolves at compile time from the feed's type, so a run
compiles only its own model's code.

* ``bar`` (:mod:`.bar`): OHLCV bars, conservative touch/through rules;
* ``quote`` (:mod:`.quote`): the NBBO stream, displayed size;
* ``book`` (:mod:`.book`): the replayed L3 book, depth walk and queue position;
* ``broker`` (:mod:`.broker`): a live broker's executions, booked as they come back
  (the live driver's; never a strategy's ``[execution] fill_model``).
"""

from __future__ import annotations

from enum import IntEnum

from numba.extending import overload

from framework.execution.fill_models import bar, book, broker, quote


class FillModel(IntEnum):
    """``[execution] fill_model``: what orders fill against."""

    BAR = 0
    QUOTE = 1
    BOOK = 2
    BROKER = 3


FEEDS = {FillModel.BAR: bar.BarFeed, FillModel.QUOTE: quote.QuoteFeed,
         FillModel.BOOK: book.BookFeed, FillModel.BROKER: broker.BrokerFeed}
_STEPS = {bar.BarFeed: bar.step, quote.QuoteFeed: quote.step, book.BookFeed: book.step,
          broker.BrokerFeed: broker.step}


def fill_step(t, feed, mkt, od, rk, par, wk) -> int:
    """Fill bar ``t`` under the model whose feed ``feed`` is (compiled code only)."""
    raise NotImplementedError("fill_step runs inside compiled kernels only")


@overload(fill_step, inline="always", jit_options={"cache": True})
def _fill_step(t, feed, mkt, od, rk, par, wk):
    step = _STEPS.get(getattr(feed, "instance_class", None))
    if step is None:
        return None
    return lambda t, feed, mkt, od, rk, par, wk: step(t, feed, mkt, od, rk, par, wk)

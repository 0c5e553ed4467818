"""framework.marketdata — what every strategy reads: bars, books and the replay feed.

Modules (import them directly; this package imports nothing heavy):

* ``framework.marketdata.bars`` — trades -> time / tick / volume / dollar /
  tick-imbalance bars, batch (``time_bars`` ...) and streaming (``BarAggregator``),
  one numba step rule (``bars_kernels``) for both.
* ``framework.marketdata.sale_conditions`` — the sale-condition table (CTA/UTP rules,
  LEAN's variant): what each print may update in a bar; auction prints.
* ``framework.marketdata.trade_bars`` — bars from the lake's trades (``fw data bars``).
* ``framework.marketdata.replay`` — ``ReplayFeed``: the lake played back as typed
  event batches merged in timestamp order (``events()`` for backtests, an async
  iterator, optionally paced at k x real time, for the live-shaped driver).
* ``framework.marketdata.book`` — L3/L2 order books and their parsers.
"""

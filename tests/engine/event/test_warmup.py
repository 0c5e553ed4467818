"""The engine warm-up compiles, in a second process, exactly the bar loop a real run
looks up: after it, a backtest in the same numba cache loads the loop instead of
compiling it (numba's own cache counters say so)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import datetime as dt
import numpy as np
import polars as pl
from framework.data.calendar import sessions
from framework.engine.event import kernels as K, warmup
from framework.execution.config import ExecutionConfig
from framework.engine.event.engine import run_event
from framework.execution.costs import CostConfig
from framework.risk import RiskConfig
from framework.strategy import DecisionConfig, Signals
from framework.strategy.panel import panel_from_frame

assert not warmup.bar_loop_cached()
assert warmup.start("quote") is None and warmup.start("book") is None
warmup.finish(warmup.start("bar"))
assert warmup.bar_loop_cached()
assert warmup.start("bar") is None  # cached: nothing to do

_, opens, _ = sessions(dt.date(2024, 3, 4), dt.date(2024, 3, 8))
ts = np.concatenate([o + np.arange(30) * 60_000_000_000 for o in opens])
c = 100 + np.cumsum(np.random.default_rng(0).normal(0, 0.1, ts.size))
frame = pl.concat([pl.DataFrame({"symbol": s, "ts": ts, "open": c, "high": c + 0.1,
                                 "low": c - 0.1, "close": c, "volume": 1e4, "vwap": c})
                   for s in ("AAA", "BBB")])
panel = panel_from_frame(frame, ["AAA", "BBB"], "1m")
entries = np.zeros(panel.close.shape, np.int8)
entries[::7] = 1
sig = Signals.of(entries, np.roll(entries != 0, 3, axis=0))
res = run_event(panel, sig, decision=DecisionConfig(size_mode="shares", size=5),
                costs=CostConfig(model="alpaca"), risk=RiskConfig(max_position_shares=100),
                execution=ExecutionConfig(latency_ms=1.0))
assert res.fills.height > 0
print(sum(K.run_bars.stats.cache_hits.values()), sum(K.run_bars.stats.cache_misses.values()))
"""


def test_warm_up_compiles_the_loop_a_real_run_loads(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "nc")})
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["1", "0"]  # run_bars: one cache hit, no compile


SHARE = """
import numba
from framework.engine.event import warmup
for kernel, args in warmup._last_callees():
    kernel.compile(tuple(numba.typeof(a) for a in args))
"""

CHILD = """
from framework.engine.event import warmup
warmup.compile_bar_loop()
for kernel, _ in warmup._last_callees():
    st = kernel.stats
    print(kernel.py_func.__name__, sum(st.cache_hits.values()), sum(st.cache_misses.values()))
"""


def test_the_parents_share_is_what_the_loop_loads(tmp_path: Path) -> None:
    """Each kernel ``finish`` compiles in the parent has the signature the loop calls it
    with: a loop compiled after it loads every one from the cache, compiling none."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "nc")}
    share = subprocess.run([sys.executable, "-c", SHARE], cwd=ROOT, capture_output=True,
                           text=True, env=env)
    assert share.returncode == 0, share.stderr[-3000:]
    child = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True,
                           text=True, env=env)
    assert child.returncode == 0, child.stderr[-3000:]
    rows = [line.split() for line in child.stdout.splitlines()]
    assert len(rows) == 9
    for name, hits, misses in rows:
        assert (int(hits), int(misses)) == (1, 0), name

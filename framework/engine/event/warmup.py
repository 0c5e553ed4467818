"""Compile the event engine's bar loop in a second process while this one loads data.

With an empty numba cache the bar loop and the order, risk and fill kernels it calls
take ~10 s to compile, and a backtest needs none of them until its loop starts, after
loading bars and computing features and signals (which compile their own kernels). So
:func:`start` launches a child process that compiles the loop by running a two-bar
backtest (numba writes the result to its disk cache), and :func:`finish`, called just
before the loop, waits for it; the loop then loads the cached code instead of compiling.
Nothing is shared but numba's cache files, which numba writes atomically.

The child's compile is the longer of the two paths, so :func:`start` also takes a share
of it: right after spawning the child it compiles, here, loop callees the child reaches
late (``run_bars`` types its callees in source order), each under the exact
signature the loop calls it with; numba's cache hands them to the child, which loads
them instead of compiling them (a race would only cost a duplicate compile).

A no-op (returns None) when the cache already holds the bar loop, with fewer than two
CPUs, or for the quote and book fill models (whose feeds the child would have to fake;
they compile in the run as before). Any failure in the child only means the run
compiles the loop itself.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
from numba.core import types

from framework.engine.event import kernels as K
from framework.execution.fill_models.bar import BarFeed
from framework.types.numba_compat import cached_arg_types

# run_bars' arguments that tell the specialisation the warm-up compiles from the others
_PARAMS = list(inspect.signature(K.run_bars.py_func).parameters)
FEED, PAR, WORK, HOOK = (_PARAMS.index(a) for a in ("feed", "par", "wk", "hook"))


def _absent(group, field: str) -> bool:
    """Field ``field`` of the numba type ``group`` (a state tuple) is None."""
    return isinstance(group.types[group.fields.index(field)], types.NoneType)


def bar_loop_cached() -> bool:
    """True when numba's disk cache holds, for the current source (numba drops the index
    when the source changed), the specialisation of ``run_bars`` the warm-up compiles:
    the bar model, signals mode, no on_bar hook, no parent-order algorithm
    (``engine.loop_view``) — the default's and the flagship's."""
    cached = cached_arg_types(K.run_bars)
    if cached is None:  # numba internals moved: behave as if cached
        return True
    return any(str(args[FEED]).startswith(BarFeed.__name__) and str(args[HOOK]) == "none"
               and _absent(args[PAR], "algo") and _absent(args[WORK], "tgt")
               for args in cached)


def _usable_cpus() -> int:
    """CPUs this process may run on (its affinity, e.g. under ``taskset``), not the box's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform
        return os.cpu_count() or 1


def start(fill_model: str) -> subprocess.Popen | None:
    """Begin compiling the bar loop in a child process if it would help, and compile this
    process's share of it (~3 s) before returning (see module)."""
    if fill_model != "bar" or _usable_cpus() < 2 or bar_loop_cached():
        return None
    # A fresh interpreter, not multiprocessing: a spawned child would re-import the
    # caller's __main__ (a user's script), and a forked one inherit numba's LLVM state.
    root = str(Path(__file__).resolve().parents[3])  # where `framework` imports from
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.Popen(
        [sys.executable, "-c", "from framework.engine.event.warmup import compile_bar_loop; "
         "compile_bar_loop()"], env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for kernel, args in _last_callees():
        kernel.compile(tuple(numba.typeof(a) for a in args))
    return proc


def finish(proc: subprocess.Popen | None, timeout_s: float = 300.0) -> None:
    """Wait (at most ``timeout_s`` seconds) for the child of :func:`start` to end."""
    if proc is None:
        return
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _last_callees() -> list[tuple]:
    """Callees of ``run_bars`` its compile reaches late, with arguments taken from the
    state builders a real run uses (so their types are the call sites' types;
    ``tests/engine/event/test_warmup.py`` checks that the child then loads them). ~3 s of the
    child's ~10 s: about what balances the two processes' work on the flagship strategy
    (``benchmarks/bench_cold_start.py``)."""
    from framework.engine.event.engine import loop_view, market_of, new_state
    from framework.execution import lifecycle as L
    from framework.execution import orders as O
    from framework.execution.config import ExecutionConfig
    from framework.execution.costs import CostConfig
    from framework.risk import RiskConfig, hooks
    from framework.strategy import decision as D
    from framework.strategy.decision import DecisionConfig
    from framework.strategy.signals import Signals

    panel = _panel()
    st = new_state(panel.symbols, panel.n_bars, decision=DecisionConfig(), costs=CostConfig(),
                   risk=RiskConfig(), execution=ExecutionConfig(), init_cash=1.0)
    mkt = market_of(panel)
    sig = Signals.of(np.zeros(panel.close.shape), np.zeros(panel.close.shape, bool)).arrays()
    par, wk = loop_view(st)
    od, rk = st.orders, st.risk
    i, x, flag = np.int64(0), np.float64(0.0), np.bool_(False)
    return [
        (K._roll_session, (i, mkt, od, rk, par, wk)),  # first: the child reaches it early
        (L.exit_position, (i, x, i, od, rk, par)),
        (O.advance_first_open, (od.orders, od.tally, od.working)),
        (K._enter, (i, i, i, x, i, sig, od, rk, par, wk)),
        (D.decide, (i, flag, x, flag, flag, i, i, i, i, flag, flag, par.dec)),
        (K._bar_of, (od.orders, i, mkt.dec_ts, i)),
        (hooks.entries_paused, (rk.rstate,)),
        (L.legs, (i, i, od, par)),
        (O.cancel_oco, (od.orders, od.tally, *rk, i, i)),
    ]


def _panel():
    """Two one-minute bars of one symbol: every array with a real run's dtype and layout."""
    from framework.strategy.panel import BarPanel

    open_ns = np.int64(1_704_205_800_000_000_000)  # 2024-01-02 09:30 New York
    ts = open_ns + np.arange(2, dtype=np.int64) * 60_000_000_000
    px = np.full((2, 1), 100.0)
    session, close = np.full(2, open_ns), np.full(2, open_ns + 23_400_000_000_000)
    return BarPanel(("WARM",), "1m", 60_000_000_000, ts, px, px, px, px, px * 1e3, px,
                    session, session.copy(), close)


def compile_bar_loop() -> None:
    """Run a two-bar, one-symbol backtest: the same argument types as any bar-model run
    (``Signals.of``, the panel and the state builders fix every array's dtype and
    layout), so the compiled loop lands in the cache under the signature real runs
    look up."""
    from framework.engine.event.engine import run_event
    from framework.execution.config import ExecutionConfig
    from framework.execution.costs import CostConfig
    from framework.risk import RiskConfig
    from framework.strategy.decision import DecisionConfig
    from framework.strategy.signals import Signals

    sig = Signals.of(np.array([[1], [0]]), np.zeros((2, 1), bool))
    run_event(_panel(), sig, decision=DecisionConfig(), costs=CostConfig(), risk=RiskConfig(),
              execution=ExecutionConfig())

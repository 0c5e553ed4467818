"""Where the event loop's cold compile goes: numba's compile events per function.

Run: ``python benchmarks/bench_compile.py`` (one cold compile of the bar loop, ~50 s of
CPU). With an empty numba cache (a temporary ``NUMBA_CACHE_DIR``) it runs the event
engine's two-bar warm-up backtest (``framework.engine.event.warmup.compile_bar_loop``,
the same argument types as any bar-model run) under numba's event API recorders
(``numba:compile``, ``numba:llvm_lock``) that note this process's CPU time (not wall:
a loaded box stretches wall time, not CPU) at each event, and prints the CPU and wall
time, the CPU share spent holding LLVM's lock (optimising and emitting machine code),
and the functions whose own compile (callees' compiles subtracted) costs most CPU.
Nothing is asserted.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import defaultdict

TOP = 15


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["NUMBA_CACHE_DIR"] = tmp  # before numba reads its config: cold
        from numba.core import event

        from framework.engine.event.warmup import compile_bar_loop

        comp, llvm = _cpu_recorder(), _cpu_recorder()
        with event.install_listener("numba:compile", comp), \
                event.install_listener("numba:llvm_lock", llvm):
            w0, c0 = time.perf_counter(), time.process_time()
            compile_bar_loop()
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    own, calls = _exclusive(comp.buffer)
    llvm_s = sum(_exclusive(llvm.buffer)[0].values())
    print(f"load average {os.getloadavg()[0]:.2f}; cold compile of the bar loop "
          f"(two-bar backtest): wall {wall:.1f} s, CPU {cpu:.1f} s, "
          f"{sum(calls.values())} function compiles, {llvm_s:.1f} s CPU holding LLVM's lock "
          f"({llvm_s / cpu:.0%} of CPU)")
    print(f"{'function (own compile CPU, callees excluded)':<60} {'CPU s':>7} {'compiles':>9}")
    for name, secs in sorted(own.items(), key=lambda kv: -kv[1])[:TOP]:
        print(f"  {name:<58} {secs:>7.2f} {calls[name]:>9}")


def _cpu_recorder():
    from numba.core import event

    class Recorder(event.Listener):
        """numba's ``RecordingListener`` with process CPU time for its clock."""

        def __init__(self) -> None:
            self.buffer: list = []

        def on_start(self, ev) -> None:
            self.buffer.append((time.process_time(), ev))

        def on_end(self, ev) -> None:
            self.buffer.append((time.process_time(), ev))

    return Recorder()


def _exclusive(buffer) -> tuple[dict[str, float], dict[str, int]]:
    """Per-function seconds between START and END events, nested events subtracted."""
    own: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    stack: list[list] = []  # [name, start, child seconds]
    for ts, ev in buffer:
        data = ev.data or {}
        disp = data.get("dispatcher")
        name = getattr(getattr(disp, "py_func", None), "__qualname__", None) or ev.kind
        if ev.is_start:
            stack.append([name, ts, 0.0])
        elif stack:
            name, start, child = stack.pop()
            total = ts - start
            own[name] += total - child
            calls[name] += 1
            if stack:
                stack[-1][2] += total
    return own, calls


if __name__ == "__main__":
    sys.exit(main())

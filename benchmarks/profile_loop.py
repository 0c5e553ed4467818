"""Where the event loop's time goes, per compiled function: a sampled profile.

Run: ``python benchmarks/profile_loop.py [symbols sessions]`` (default 1 x 2,564: the
1-symbol random-signals case of ``bench_engine.py``; needs Linux ``perf``). It reruns
itself under ``perf record`` with an empty numba cache (a fresh compile keeps the
functions' names, a cached load does not; minutes), makes 20 warm ``advance`` calls,
then maps each sample's instruction address to the compiled function whose code holds
it (numba's code library gives each function's address) and prints the shares.
Functions numba inlines (``inline="always"``) count as their caller's. Not part of
``make bench`` (the compile); nothing is asserted.
"""

from __future__ import annotations

import bisect
import collections
import os
import re
import subprocess
import sys
import tempfile

REPS = 20


def run(map_path: str, n_sym: int, n_sessions: int) -> None:
    """The profiled process: warm the loop, write its functions' addresses, loop."""
    import numpy as np
    from bench_engine import COSTS, DECISION, RISK_ON, panel_and_signals

    from framework.engine.event import kernels as K
    from framework.engine.event.engine import advance, new_state, order_capacity
    from framework.execution.config import ExecutionConfig
    from framework.strategy import Signals

    panel, en, ex = panel_and_signals(3, [f"S{i:02d}" for i in range(n_sym)], n_sessions)
    sig = Signals.of(en.astype(np.int8), ex)
    kw = dict(decision=DECISION, costs=COSTS, risk=RISK_ON, execution=ExecutionConfig(),
              init_cash=1e8, capacity=order_capacity(panel, sig, DECISION))

    def once():
        advance(new_state(panel.symbols, panel.n_bars, **kw), panel, sig, 0, panel.n_bars)

    once()
    with open(map_path, "w") as f:
        for cres in K.run_bars.overloads.values():
            for fn in cres.library._final_module.functions:
                if not fn.is_declaration:
                    f.write(f"{cres.library.get_pointer_to_function(fn.name):x} {fn.name}\n")
    for _ in range(REPS):
        once()


def _name(mangled: str) -> str:
    """``module.function`` of a numba-mangled symbol (``_ZN`` + length-prefixed parts)."""
    m = re.match(r"_ZN(?:\d+cpython)?", mangled)
    i, parts = (m.end() if m else 0), []
    while (d := re.match(r"\d+", mangled[i:])) is not None:
        n = int(d.group())
        i += d.end()
        parts.append(mangled[i:i + n])
        i += n
    return ".".join(parts[-2:]) or mangled[:60]


def report(data: str, amap: str, what: str) -> None:
    """Print each compiled function's share of the samples in ``data`` (perf.data) that
    fall in the loop's code, the functions' addresses read from ``amap``."""
    ips = subprocess.run(["perf", "script", "-i", data, "-F", "ip"], capture_output=True,
                         text=True, check=True).stdout.split()
    with open(amap) as f:
        rows = sorted((int(a, 16), n) for a, n in (ln.split() for ln in f))
    starts = [a for a, _ in rows]
    hits: collections.Counter = collections.Counter()
    for ip in (int(x, 16) for x in ips):
        i = bisect.bisect_right(starts, ip) - 1
        if i >= 0 and ip - starts[i] < 1 << 18:  # past the last function: not the loop's
            hits[_name(rows[i][1])] += 1
    total = sum(hits.values())
    print(f"{total:,} samples in the loop's compiled code ({what})")
    for name, n in hits.most_common(15):
        print(f"{100 * n / total:5.1f} %  {name}")


def main() -> None:
    args = sys.argv[1:3] or ["1", "2564"]
    with tempfile.TemporaryDirectory() as tmp:
        data, amap = os.path.join(tmp, "perf.data"), os.path.join(tmp, "map.txt")
        env = {**os.environ, "NUMBA_CACHE_DIR": os.path.join(tmp, "numba"),
               "NUMBA_NUM_THREADS": "1"}
        subprocess.run(["perf", "record", "-q", "-F", "499", "-o", data, sys.executable,
                        __file__, "--run", amap, *args], env=env, check=True)
        report(data, amap, f"{args[0]} symbol(s) x {args[1]} sessions, random signals, "
                           f"{REPS} warm advance calls")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--run"]:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()

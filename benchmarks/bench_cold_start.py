"""Cold and warm start of ``fw backtest`` on the flagship, every cache empty, wall and CPU.

    python benchmarks/bench_cold_start.py [--lake data_lake] [--repeat 1]   # `fw demo` first

Cold: numba's cache (``NUMBA_CACHE_DIR``), fw's calendar cache (``FW_CACHE_DIR``) and
Python's bytecode (``PYTHONPYCACHEPREFIX``: every module's, fw's and the libraries', plus
fw's kernel-digest memo kept beside it) all point at empty folders. Warm: the same command
again on the caches the cold run filled. Each is run on two cores and on one
(``taskset``-style affinity; with one core the event loop's warm-up process is not
started, ``framework/engine/event/warmup.py``). CPU is user + system time of the command
and its children. Targets (issue 22): cold CPU <= 8 s, cold wall <= 10 s on one free
core, warm <= 1.5 s. On a box other work loads, wall times grow with the load (printed);
CPU times much less.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_run(cmd: list[str], env: dict, cpus: set[int]) -> tuple[float, float]:
    """(wall s, CPU s of the command and its children) of one run pinned to ``cpus``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL,
                   preexec_fn=lambda: os.sched_setaffinity(0, cpus))
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lake", type=Path, default=Path("data_lake"))
    ap.add_argument("--strategy", default="strategies/ml_mr.toml")
    ap.add_argument("--repeat", type=int, default=1, help="cold/warm pairs per core count")
    args = ap.parse_args()
    if not (args.lake / "models").is_dir():
        print(f"no trained model under {args.lake}: run `fw demo` first")
        return 1
    fw = Path(sys.executable).with_name("fw")
    mine = sorted(os.sched_getaffinity(0))
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus; "
          f"median of {args.repeat} run(s) each (range)")
    for cpus in ({*mine[:2]}, {mine[0]}):
        got: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": []}
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                env = dict(os.environ, NUMBA_CACHE_DIR=f"{tmp}/numba", FW_CACHE_DIR=f"{tmp}/fw",
                           PYTHONPYCACHEPREFIX=f"{tmp}/pyc")
                env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as for a user
                cmd = [str(fw), "backtest", args.strategy, "--lake", str(args.lake),
                       "--out", f"{tmp}/reports"]
                got["cold"].append(timed_run(cmd, env, cpus))
                got["warm"].append(timed_run(cmd, env, cpus))
        for label, runs in got.items():
            wall, cpu = ([r[i] for r in runs] for i in (0, 1))
            print(f"fw backtest {args.strategy}, {len(cpus)} core(s), {label}: "
                  f"wall {statistics.median(wall):.1f} s ({min(wall):.1f}-{max(wall):.1f}), "
                  f"CPU {statistics.median(cpu):.1f} s ({min(cpu):.1f}-{max(cpu):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

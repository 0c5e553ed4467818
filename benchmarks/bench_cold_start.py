"""Cold start of ``fw backtest`` on the flagship: first run with an empty numba cache
(every kernel compiled), then the same command again (cache hits).

    python benchmarks/bench_cold_start.py [--lake data_lake]   # run `fw demo` first

Targets (issue 5): first run <= 10 s, second <= 2 s. The first run compiles the engine
loop in a second process while it loads data (``framework/engine/event/warmup.py``), so
its figure depends on having two cores. Python's bytecode cache is left on (the
default), so fw's modules are compiled to bytecode once, not on every start.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lake", type=Path, default=Path("data_lake"))
    ap.add_argument("--strategy", default="strategies/ml_mr.toml")
    args = ap.parse_args()
    if not (args.lake / "models").is_dir():
        print(f"no trained model under {args.lake}: run `fw demo` first")
        return 1
    fw = Path(sys.executable).with_name("fw")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=str(Path(tmp) / "numba"))  # empty: cold
        # Python's own bytecode cache on, as on a user's machine (a sandbox may set this
        # variable, making every process recompile fw's sources: ~0.2 s a run)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for label in ("cold (empty numba cache)", "warm (second run)"):
            t0 = time.perf_counter()
            subprocess.run([str(fw), "backtest", args.strategy, "--lake", str(args.lake),
                            "--out", str(Path(tmp) / "reports")], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            print(f"fw backtest {args.strategy}, {label}: {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Draw ``docs/img/vwap-schedule.svg``: a VWAP parent's fills per 5-minute bucket against
the market's volume share on a replayed SPY session (shared July 2025 minutes; the
profile learnt from the month's first 10 sessions, the order over its 11th).

Run: ``python benchmarks/plot_vwap_schedule.py`` (needs ``../shared/data`` or
``$FW_SHARED_DATA``). Plain SVG, no plotting dependency.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from framework.data.settings import load_data_config  # noqa: E402
from framework.data.sources.csv_source import read_csv  # noqa: E402
from framework.engine.event.engine import run_event  # noqa: E402
from framework.execution.algos.calibrate import estimate  # noqa: E402
from framework.execution.config import ExecutionConfig  # noqa: E402
from framework.execution.costs import CostConfig  # noqa: E402
from framework.risk import RiskConfig  # noqa: E402
from framework.strategy import DecisionConfig, Signals  # noqa: E402
from framework.strategy.panel import panel_from_frame  # noqa: E402

BUCKET = 5


def _days(csv: Path, cfg, first: int, last: int):
    frame = read_csv(csv, cfg.csv["spy_1min"]).with_columns(pl.lit("SPY").alias("symbol"))
    panel = panel_from_frame(frame, ["SPY"], "1m")
    keys = np.unique(panel.session)
    rows = np.flatnonzero(np.isin(panel.session, keys[first:last]))
    return panel_from_frame(frame[int(rows[0]):int(rows[-1]) + 1], ["SPY"], "1m")


def main() -> int:
    shared = Path(os.environ.get("FW_SHARED_DATA", ROOT.parent / "shared" / "data"))
    csv = shared / "intraday" / "spy_1min_2025-07" / "SPY_1min.csv"
    cfg = load_data_config(str(ROOT / "config" / "data.toml"))
    hist, day = _days(csv, cfg, 0, 10), _days(csv, cfg, 10, 11)
    ai = estimate(hist, 10, BUCKET)
    entry = np.zeros(day.close.shape)
    entry[0, 0] = 1
    res = run_event(day, Signals.of(entry, np.zeros(day.close.shape, bool)),
                    decision=DecisionConfig(size_mode="shares", size=1e5),
                    costs=CostConfig(slippage_bps=0.0), risk=RiskConfig(),
                    execution=ExecutionConfig(algo="vwap", horizon_min=389,
                                              vwap_bucket_min=BUCKET),
                    init_cash=1e13, algo_inputs=ai)
    nb = 390 // BUCKET
    b_of = lambda ts: np.clip((ts - day.session_open[0]) // (BUCKET * 60_000_000_000), 0,  # noqa: E731
                              nb - 1)
    mkt = np.bincount(b_of(day.ts), np.nan_to_num(day.volume[:, 0]), nb)
    own = np.bincount(b_of(res.fills["ts"].to_numpy()), res.fills["qty"].to_numpy(), nb)
    mkt, own = mkt / mkt.sum(), own / own.sum()
    w, h, pad = 780, 300, 40
    top = max(mkt.max(), own.max(), ai.vprof[0].max()) * 1.1
    bw = (w - 2 * pad) / nb
    y = lambda v: h - pad - v / top * (h - 2 * pad)  # noqa: E731
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' "
             "font-family='sans-serif' font-size='11'>",
             f"<rect width='{w}' height='{h}' fill='white'/>"]
    for b in range(nb):
        x = pad + b * bw
        parts.append(f"<rect x='{x:.1f}' y='{y(mkt[b]):.1f}' width='{bw * 0.9:.1f}' "
                     f"height='{h - pad - y(mkt[b]):.1f}' fill='#c8d6e5'/>")
    pts = " ".join(f"{pad + (b + 0.45) * bw:.1f},{y(own[b]):.1f}" for b in range(nb))
    prof = " ".join(f"{pad + (b + 0.45) * bw:.1f},{y(ai.vprof[0, b]):.1f}" for b in range(nb))
    parts += [f"<polyline points='{prof}' fill='none' stroke='#999' stroke-dasharray='4 3'/>",
              f"<polyline points='{pts}' fill='none' stroke='#c0392b' stroke-width='1.5'/>",
              f"<line x1='{pad}' y1='{h - pad}' x2='{w - pad}' y2='{h - pad}' stroke='#333'/>",
              f"<text x='{pad}' y='{h - pad + 16}'>09:30</text>",
              f"<text x='{w - pad - 30}' y='{h - pad + 16}'>16:00</text>",
              f"<text x='{pad}' y='16'>share of the day per {BUCKET}-minute bucket: market "
              "volume (bars), learnt profile (dashed), VWAP parent's fills (red)</text>",
              "</svg>"]
    out = ROOT / "docs" / "img" / "vwap-schedule.svg"
    out.write_text("\n".join(parts))
    print(f"wrote {out} ({res.fills.height} fills)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The built-in status page: one HTML file (no external scripts) that polls
``status.json`` and redraws equity, drawdown, positions, working orders, latency
histograms, fill ratio, breakers and the kill switch; and the latency summary it shows.
"""

from __future__ import annotations

import math
from importlib import resources

from prometheus_client import Histogram

from framework.monitoring.catalog import STAGE_MEANING, STAGES


def status_page_html(refresh_ms: int = 1000) -> bytes:
    """The page, polling every ``refresh_ms`` milliseconds."""
    text = resources.files("framework.monitoring").joinpath("status_page.html").read_text(
        encoding="utf-8")
    return text.replace("__REFRESH_MS__", str(int(refresh_ms))).encode()


def bucket_quantile(q: float, bounds: list[float], cumulative: list[float]) -> float:
    """Quantile ``q`` (0..1) of a histogram with upper ``bounds`` (the last +Inf) and
    ``cumulative`` counts, interpolated linearly inside the bucket as PromQL's
    ``histogram_quantile`` does (first bucket from 0; the +Inf bucket answers the
    highest finite bound). NaN without observations."""
    total = cumulative[-1] if cumulative else 0.0
    if total <= 0:
        return math.nan
    rank = q * total
    for i, (hi, cum) in enumerate(zip(bounds, cumulative, strict=True)):
        if cum >= rank:
            if math.isinf(hi):
                return bounds[i - 1] if i > 0 else math.nan
            lo = bounds[i - 1] if i > 0 else 0.0
            below = cumulative[i - 1] if i > 0 else 0.0
            inside = cum - below
            return hi if inside <= 0 else lo + (hi - lo) * (rank - below) / inside
    return bounds[-2]


def latency_summary(hist: Histogram) -> list[dict]:
    """Per stage of ``fw_latency_seconds``: count, p50/p95/p99 (seconds, None if no
    data) and the observations per bucket (not cumulative)."""
    per: dict[str, list[tuple[float, float]]] = {s: [] for s in STAGES}
    for metric in hist.collect():
        for s in metric.samples:
            if s.name.endswith("_bucket") and s.labels.get("stage") in per:
                per[s.labels["stage"]].append((float(s.labels["le"]), s.value))
    out = []
    for stage in STAGES:
        pts = sorted(per[stage])
        bounds = [b for b, _ in pts]
        cum = [c for _, c in pts]
        count = cum[-1] if cum else 0.0
        qs = {f"p{int(q * 100)}": bucket_quantile(q, bounds, cum) for q in (0.5, 0.95, 0.99)}
        out.append({"stage": stage, "what": STAGE_MEANING[stage], "count": int(count),
                    **{k: (None if math.isnan(v) else v) for k, v in qs.items()},
                    "bounds": [b for b in bounds if not math.isinf(b)],
                    "counts": [c - (cum[i - 1] if i else 0.0) for i, c in enumerate(cum)]})
    return out

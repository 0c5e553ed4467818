"""Python edge of the risk stage: events, rejection counts and P&L as arrays / frames / logs.

Nothing here runs per event: the drivers call these after a run (backtest) or after a
batch of hook calls (live) to save results and emit structured log lines.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from enum import IntEnum

import numpy as np
import polars as pl

from framework.risk.dtypes import (
    RISK_EVENT_DTYPE,
    Breaker,
    LotMethod,
    RiskEventKind,
    StopKind,
)
from framework.types.codes import RejectReason
from framework.types.labels import code_names, enum_names

log = logging.getLogger("fw.risk")


def risk_events(state: np.ndarray) -> np.ndarray:
    """All stored risk events as a ``RISK_EVENT_DTYPE`` array (copy, oldest first)."""
    st = state[0]
    n = int(st["ev_n"])
    out = np.empty(n, RISK_EVENT_DTYPE)
    for f in ("ts", "sym", "kind", "reason", "value", "threshold"):
        out[f] = st["ev_" + f][:n]
    return out


def drain_events(state: np.ndarray) -> np.ndarray:
    """Return the stored events and empty the log (a long live session calls this
    after ``log_risk_events`` so the fixed-size log never fills)."""
    ev = risk_events(state)
    st = state[0]
    st["ev_n"] = 0
    st["ev_logged"] = 0
    return ev


# which enum names the ``reason`` of each event kind (other kinds have none)
_REASONS: dict[int, type[IntEnum]] = {
    RiskEventKind.REJECT.value: RejectReason,
    RiskEventKind.BREAKER_TRIP.value: Breaker,
    RiskEventKind.BREAKER_RESET.value: Breaker,
    RiskEventKind.STOP.value: StopKind,
    RiskEventKind.LOT_OVERFLOW.value: LotMethod,
}
_WIDTH = 1 + max(m.value for e in _REASONS.values() for m in e)


def _reason_name(kind: int, reason: int) -> str:
    """One event's reason name ("" if its kind has none or the code is unknown)."""
    enum = _REASONS.get(kind)
    try:
        return enum(reason).name.lower() if enum is not None else ""
    except ValueError:
        return ""


def _reason_names(kind: np.ndarray, reason: np.ndarray) -> pl.Series:
    """The reason of each event as the lower-case name of its kind's enum ("" if none)."""
    table = {k * _WIDTH + m.value: m.name.lower() for k, e in _REASONS.items() for m in e}
    ok = (reason >= 0) & (reason < _WIDTH)
    return code_names(np.where(ok, kind.astype(np.int64) * _WIDTH + reason, -1), table)


def events_frame(state: np.ndarray, symbols: Sequence[str] | None = None) -> pl.DataFrame:
    """Risk events as a Polars frame with readable ``kind``/``reason``/``symbol`` columns
    (``symbol`` is "" for a portfolio-wide event, the index for one beyond ``symbols``)."""
    ev = risk_events(state)
    table = dict(enumerate(symbols or ()))
    table.update({int(s): str(s) for s in np.unique(ev["sym"]) if s >= len(table)})
    return pl.DataFrame(
        {
            "ts": pl.Series(ev["ts"], dtype=pl.Int64).cast(pl.Datetime("ns", "UTC")),
            "sym": ev["sym"],
            "symbol": code_names(ev["sym"], table),
            "kind": enum_names(ev["kind"], RiskEventKind),
            "reason": _reason_names(ev["kind"], ev["reason"]),
            "value": ev["value"],
            "threshold": ev["threshold"],
        }
    )


def reject_counts(state: np.ndarray) -> dict[str, int]:
    """Rejections per ``RejectReason`` name (only reasons that occurred)."""
    counts = state[0]["reject_counts"]
    return {r.name.lower(): int(counts[r]) for r in RejectReason if r != 0 and counts[r] > 0}


def log_risk_events(
    state: np.ndarray,
    symbols: Sequence[str] | None = None,
    logger: logging.Logger = log,
) -> int:
    """Emit each not-yet-logged risk event as one structured log line; return how many.

    Fields are passed in ``extra`` (``risk_kind``, ``risk_reason``, ``symbol``, ``ts_ns``,
    ``value``, ``threshold``) for JSON formatters; the message repeats them for humans.
    Rejections log at INFO, everything else at WARNING.
    """
    st = state[0]
    start, n = int(st["ev_logged"]), int(st["ev_n"])
    for i in range(start, n):
        kind = int(st["ev_kind"][i])
        reason = _reason_name(kind, int(st["ev_reason"][i]))
        s = int(st["ev_sym"][i])
        sym = symbols[s] if symbols is not None and 0 <= s < len(symbols) else str(s)
        extra = {
            "risk_kind": RiskEventKind(kind).name.lower(),
            "risk_reason": reason,
            "symbol": sym,
            "ts_ns": int(st["ev_ts"][i]),
            "value": float(st["ev_value"][i]),
            "threshold": float(st["ev_threshold"][i]),
        }
        level = logging.INFO if kind == RiskEventKind.REJECT else logging.WARNING
        logger.log(
            level,
            "risk %(risk_kind)s %(risk_reason)s sym=%(symbol)s value=%(value)g threshold=%(threshold)g",
            extra,
            extra=extra,
        )
    st["ev_logged"] = n
    return n - start


def pnl_frame(
    state: np.ndarray, sym_state: np.ndarray, symbols: Sequence[str] | None = None
) -> pl.DataFrame:
    """Per-symbol P&L now (USD): position, mark, fees, realized and unrealized per lot method.

    unrealized_<m> = position * mark - cost of the open lots under method m.
    """
    ss = sym_state
    mark = np.where(np.isfinite(ss["mark"]), ss["mark"], 0.0)
    data: dict[str, object] = {
        "sym": np.arange(len(ss), dtype=np.int32),
        "symbol": list(symbols) if symbols is not None else [str(i) for i in range(len(ss))],
        "position": ss["position"],
        "avg_cost": ss["avg_cost"],
        "mark": ss["mark"],
        "fees": ss["fees"],
        "n_fills": ss["n_fills"],
    }
    for m in LotMethod:
        name = m.name.lower()
        data[f"realized_{name}"] = ss["realized"][:, m]
        data[f"unrealized_{name}"] = ss["position"] * mark - ss["cost"][:, m]
    return pl.DataFrame(data)


def unrealized(state: np.ndarray, method: int) -> float:
    """Total unrealized P&L in USD under ``LotMethod`` ``method`` (mkt value - open lot cost)."""
    st = state[0]
    return float(st["mkt_value"] - st["cost"][method])


def summary(state: np.ndarray) -> dict[str, object]:
    """Run-level risk figures for metrics JSON / tearsheet (USD, fractions, counts)."""
    st = state[0]
    out: dict[str, object] = {
        "equity": float(st["equity"]),
        "cash": float(st["cash"]),
        "fees": float(st["fees"]),
        "gross_exposure": float(st["gross"]),
        "max_intraday_drawdown": float(st["max_drawdown"]),
        "orders_checked": int(st["n_checks"]),
        "orders_rejected": int(st["n_rejected"]),
        "rejections": reject_counts(state),
        "breakers_tripped": [b.name.lower() for b in Breaker if st["breakers"] & (1 << b)],
        "kill_switch": bool(st["kill"]),
        "events_dropped": int(st["ev_dropped"]),
    }
    for m in LotMethod:
        out[f"realized_{m.name.lower()}"] = float(st["realized"][m])
    return out

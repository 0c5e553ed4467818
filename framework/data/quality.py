"""Data-quality checks: hard checks reject an input, soft checks are reported by ``fw data verify``.

Hard (reject, nothing written): missing or NaN prices, non-positive prices, crossed quotes,
OHLC inconsistency, duplicate bar timestamps, negative sizes. Soft (report): gaps against
the XNYS calendar, outliers against a rolling median, locked quotes, duplicate tick
timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from framework.data.calendar import NS_PER_MIN, session_date_expr, sessions
from framework.data.schemas import DataError

# Outlier rule: log-distance from the centred rolling median of close larger than both
# OUTLIER_MIN_FRAC and OUTLIER_K times the rolling median absolute 1-bar log return.
OUTLIER_WINDOW = 31
OUTLIER_K = 25.0
OUTLIER_MIN_FRAC = 0.01


@dataclass(frozen=True)
class Finding:
    """One quality finding; ``row`` is the 0-based row in the checked frame (-1 for none)."""

    check: str
    severity: str  # "hard" | "soft"
    row: int
    column: str
    message: str


@dataclass
class QualityReport:
    """All findings for one (dataset, symbol) frame."""

    origin: str
    dataset: str
    rows: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def hard(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "hard"]

    @property
    def soft(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "soft"]

    def raise_if_hard(self) -> None:
        """Raise ``DataError`` naming the origin, row and column of the first hard failures."""
        hard = self.hard
        if not hard:
            return
        lines = [f"  - {f.check}: row {f.row}, column '{f.column}': {f.message}" for f in hard[:10]]
        more = f"\n  ... and {len(hard) - 10} more" if len(hard) > 10 else ""
        raise DataError(
            f"{self.origin}: {self.dataset} rejected, nothing written "
            f"({len(hard)} hard check failure(s)):\n" + "\n".join(lines) + more
        )

    def to_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "origin": [self.origin] * len(self.findings),
                "dataset": [self.dataset] * len(self.findings),
                "check": [f.check for f in self.findings],
                "severity": [f.severity for f in self.findings],
                "row": [f.row for f in self.findings],
                "column": [f.column for f in self.findings],
                "message": [f.message for f in self.findings],
            },
            schema={"origin": pl.String, "dataset": pl.String, "check": pl.String,
                    "severity": pl.String, "row": pl.Int64, "column": pl.String,
                    "message": pl.String},
        )


def _rows(mask: pl.Series, limit: int = 5) -> list[int]:
    return mask.arg_true().head(limit).to_list()


def _when(ns: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _flag(rep: QualityReport, check: str, sev: str, mask: pl.Series, col: str, frame: pl.DataFrame,
          what: str) -> None:
    n = int(mask.fill_null(False).sum())
    if not n:
        return
    shown = [c for c in frame.columns if c not in ("ts", "conditions", "exchange", "local_ts")]
    for r in _rows(mask.fill_null(False)):
        vals = ", ".join(f"{c}={frame[c][r]}" for c in shown)
        rep.findings.append(Finding(check, sev, r, col,
                                    f"{what} at {_when(frame['ts'][r])} ({vals}); "
                                    f"{n} row(s) in total"))


def check_frame(dataset: str, frame: pl.DataFrame, origin: str, calendar_gaps: bool = True
                ) -> QualityReport:
    """Run every check on a conformed, ts-sorted frame of one symbol."""
    rep = QualityReport(origin, dataset, frame.height)
    if frame.height == 0:
        return rep
    price_cols = {
        "trades": ["price"], "quotes": ["bid", "ask"],
        "bars_1s": ["open", "high", "low", "close"], "bars_1m": ["open", "high", "low", "close"],
        "bars_1d": ["open", "high", "low", "close"],
    }.get(dataset, [])
    for c in price_cols:
        s = frame[c]
        _flag(rep, "missing_price", "hard", s.is_null() | s.is_nan(), c, frame, f"{c} is missing/NaN")
        _flag(rep, "non_positive_price", "hard", s.fill_nan(0.0).fill_null(0.0) <= 0.0, c, frame,
              f"{c} <= 0")
    for c in ("size", "bid_size", "ask_size", "volume"):
        if c in frame.columns and dataset != "book_events":
            _flag(rep, "negative_size", "hard", frame[c] < 0, c, frame, f"{c} < 0")
    if dataset == "quotes":
        _flag(rep, "crossed_quote", "hard", frame["bid"] > frame["ask"], "bid", frame, "bid > ask")
        _flag(rep, "locked_quote", "soft", frame["bid"] == frame["ask"], "bid", frame, "bid == ask")
    if dataset.startswith("bars"):
        hi_bad = frame.select(pl.col("high") < pl.max_horizontal("open", "close", "low")).to_series()
        lo_bad = frame.select(pl.col("low") > pl.min_horizontal("open", "close", "high")).to_series()
        _flag(rep, "ohlc_inconsistent", "hard", hi_bad, "high", frame, "high below open/close/low")
        _flag(rep, "ohlc_inconsistent", "hard", lo_bad, "low", frame, "low above open/close/high")
        _flag(rep, "duplicate_ts", "hard", frame["ts"].is_duplicated(), "ts", frame,
              "duplicate bar timestamp")
        _outliers(rep, frame)
        if calendar_gaps:
            _gaps(rep, dataset, frame)
    elif dataset in ("trades", "quotes"):
        dup = frame["ts"].is_duplicated()
        if dup.any():
            rep.findings.append(Finding("duplicate_ts", "soft", int(dup.arg_max()), "ts",
                                        f"{int(dup.sum())} tick rows share a timestamp"))
    ts = frame["ts"]
    if ts.len() > 1 and (ts.diff().drop_nulls() < 0).any():
        rep.findings.append(Finding("unsorted", "soft", int((ts.diff() < 0).arg_max()), "ts",
                                    "timestamps go backwards (the lake sorts them on write)"))
    return rep


def _outliers(rep: QualityReport, frame: pl.DataFrame) -> None:
    if frame.height < 5:
        return
    lc = frame["close"].log()
    med = lc.rolling_median(OUTLIER_WINDOW, center=True, min_samples=1)
    scale = lc.diff().abs().rolling_median(OUTLIER_WINDOW, center=True, min_samples=1).fill_null(0.0)
    thresh = (scale * OUTLIER_K).clip(lower_bound=OUTLIER_MIN_FRAC)
    for c in ("low", "high", "close", "open"):
        dev = (frame[c].log() - med).abs()
        mask = (dev > thresh).fill_null(False)
        n = int(mask.sum())
        for r in _rows(mask):
            rep.findings.append(Finding(
                "outlier", "soft", r, c,
                f"{c}={frame[c][r]} at {_when(frame['ts'][r])} is {np.expm1(dev[r]):.1%} from "
                f"the rolling median close {np.exp(med[r]):.4f} (limit {np.expm1(thresh[r]):.1%});"
                f" {n} row(s) in total"))


def _gaps(rep: QualityReport, dataset: str, frame: pl.DataFrame) -> None:
    dates = frame.select(session_date_expr().alias("d"))["d"]
    first, last = dates.min(), dates.max()
    sess_dates, opens, closes = sessions(first, last)
    if dataset == "bars_1d":
        have = set(dates.to_list())
        missing = [d for d in sess_dates if d not in have]
        if missing:
            rep.findings.append(Finding("calendar_gap", "soft", -1, "ts",
                                        f"{len(missing)} XNYS session(s) missing, first {missing[:3]}"))
        extra = sorted(set(have) - set(sess_dates))
        if extra:
            rep.findings.append(Finding("off_calendar", "soft", -1, "ts",
                                        f"{len(extra)} bar(s) on non-session dates, first {extra[:3]}"))
        return
    ts = np.sort(frame["ts"].to_numpy())
    total_missing = 0
    examples: list[str] = []
    for d, o, c in zip(sess_dates, opens, closes, strict=True):
        expected = np.arange(o, c, NS_PER_MIN, dtype=np.int64)
        lo, hi = np.searchsorted(ts, [o, c])
        present = ts[lo:hi]
        if present.size == 0:
            total_missing += expected.size
            examples.append(f"{d} (whole session)")
            continue
        miss = np.setdiff1d(expected, present, assume_unique=True)
        if miss.size:
            total_missing += miss.size
            t = np.datetime64(int(miss[0]), "ns")
            examples.append(f"{d} ({miss.size} min, first {t} UTC)")
    if total_missing:
        rep.findings.append(Finding("calendar_gap", "soft", -1, "ts",
                                    f"{total_missing} regular-session minute(s) missing: "
                                    + "; ".join(examples[:3])))

"""Data-quality checks: hard checks reject an input, review checks hold it for a person,
soft checks are reported by ``fw data verify``.

Hard (reject, nothing written): timestamps outside 1900-01-01 .. 2100-01-01 UTC (an
overflowed or mistyped date), missing, NaN, infinite or non-positive prices, missing,
NaN, infinite or negative sizes, crossed quotes, OHLC inconsistency, duplicate bar
timestamps, bad daily adjustment columns, unknown book-event kinds and prices a
book-event kind cannot carry. Review (held apart, see ``framework.data.review``):
absurd magnitudes — a price above ``ABSURD_PRICE_USD`` or below ``TINY_PRICE_USD``, a
size above ``ABSURD_SIZE``. Soft (report): gaps against the XNYS calendar, outliers
against a rolling median within each session, locked quotes, duplicate tick timestamps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from framework.data.calendar import NS_PER_MIN, session_date_expr, sessions
from framework.data.schemas import DataError
from framework.types import BookEvent
from framework.types.nytime import iso_ny

# Outlier rule: log-distance from the centred rolling median of close (within the
# session for intraday bars) larger than both OUTLIER_MIN_FRAC and OUTLIER_K times the
# rolling median absolute 1-bar log return.
OUTLIER_WINDOW = 31
OUTLIER_K = 25.0
OUTLIER_MIN_FRAC = 0.01

TS_MIN_NS = -2_208_988_800_000_000_000  # 1900-01-01T00:00:00Z
TS_MAX_NS = 4_102_444_800_000_000_000  # 2100-01-01T00:00:00Z
ABSURD_PRICE_USD = 10_000_000.0  # above any listed US share price (BRK.A < 1 M USD)
TINY_PRICE_USD = 1e-4  # below the smallest sub-penny tick
ABSURD_SIZE = 1e12  # shares in one row: above any US name's shares outstanding

_PRICES = {"trades": ["price"], "quotes": ["bid", "ask"], "book_events": ["price"],
           **{ds: ["open", "high", "low", "close"] for ds in ("bars_1s", "bars_1m", "bars_1d")}}
_SIZES = ("size", "bid_size", "ask_size", "volume")
# book-event kinds whose price is the order's or print's own (> 0); the others carry 0
# when the source leaves the price to the book (ITCH executions, cancels, deletes)
_PRICED_KINDS = [int(k) for k in (BookEvent.ADD, BookEvent.REPLACE, BookEvent.TRADE,
                                  BookEvent.LEVEL)]


@dataclass(frozen=True)
class Finding:
    """One quality finding; ``row`` is the 0-based row in the checked frame (-1 for none),
    ``line`` the input file's line of that row when the source knows it."""

    check: str
    severity: str  # "hard" | "review" | "soft"
    row: int
    column: str
    message: str
    line: int | None = None

    @property
    def where(self) -> str:
        """``line N`` when the file line is known, else ``row N``."""
        return f"line {self.line}" if self.line is not None else f"row {self.row}"


@dataclass
class QualityReport:
    """All findings for one (dataset, symbol) frame."""

    origin: str
    dataset: str
    rows: int
    findings: list[Finding] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)  # rows flagged per check

    @property
    def hard(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "hard"]

    @property
    def review(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "review"]

    @property
    def soft(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "soft"]

    def raise_if_hard(self) -> None:
        """Raise ``DataError`` naming the origin, line/row and column of the first hard failures."""
        hard = self.hard
        if not hard:
            return
        lines = [f"  - {f.check}: {f.where}, column '{f.column}': {f.message}" for f in hard[:10]]
        more = f"\n  ... and {len(hard) - 10} more" if len(hard) > 10 else ""
        raise DataError(
            f"{self.origin}: {self.dataset} rejected, nothing written "
            f"({len(hard)} hard check failure(s)):\n" + "\n".join(lines) + more
        )

    def to_frame(self) -> pl.DataFrame:
        """The findings as rows: origin, dataset, check, severity, row, line, column, message."""
        return pl.DataFrame(
            {
                "origin": [self.origin] * len(self.findings),
                "dataset": [self.dataset] * len(self.findings),
                "check": [f.check for f in self.findings],
                "severity": [f.severity for f in self.findings],
                "row": [f.row for f in self.findings],
                "line": [f.line for f in self.findings],
                "column": [f.column for f in self.findings],
                "message": [f.message for f in self.findings],
            },
            schema=FINDINGS_SCHEMA,
        )


FINDINGS_SCHEMA = {"origin": pl.String, "dataset": pl.String, "check": pl.String,
                   "severity": pl.String, "row": pl.Int64, "line": pl.Int64,
                   "column": pl.String, "message": pl.String}


def _flag(rep: QualityReport, check: str, sev: str, mask: pl.Series, col: str,
          frame: pl.DataFrame, what: str, lines: Sequence[int] | None) -> None:
    mask = mask.fill_null(False)
    n = int(mask.sum())
    if not n:
        return
    rep.counts[check] += n
    shown = [c for c in frame.columns if c not in ("ts", "conditions", "exchange", "local_ts")]
    for r in mask.arg_true().head(5).to_list():
        vals = ", ".join(f"{c}={frame[c][r]}" for c in shown)
        rep.findings.append(Finding(check, sev, r, col,
                                    f"{what} at {iso_ny(frame['ts'][r])} ({vals}); "
                                    f"{n} row(s) in total",
                                    None if lines is None else int(lines[r])))


def _bad_number(s: pl.Series) -> pl.Series:
    """Missing, NaN or infinite."""
    return s.is_null() | s.is_nan() | s.is_infinite()


def check_frame(dataset: str, frame: pl.DataFrame, origin: str, calendar_gaps: bool = True,
                lines: Sequence[int] | None = None) -> QualityReport:
    """Run every check on a conformed frame of one symbol (rows in input order).

    ``lines``: the input file's line of each row (CSV sources), used in messages.
    """
    rep = QualityReport(origin, dataset, frame.height)
    if frame.height == 0:
        return rep

    def flag(check: str, sev: str, mask: pl.Series, col: str, what: str) -> None:
        _flag(rep, check, sev, mask, col, frame, what, lines)

    for c in ("ts", "local_ts"):
        if c in frame.columns:
            t = frame[c]
            flag("ts_out_of_range", "hard", (t < TS_MIN_NS) | (t >= TS_MAX_NS), c,
                 f"{c} outside 1900-01-01 .. 2100-01-01 UTC")
    for c in _PRICES.get(dataset, []):
        s = frame[c]
        flag("missing_price", "hard", s.is_null() | s.is_nan(), c, f"{c} is missing/NaN")
        flag("non_finite_price", "hard", s.is_infinite(), c, f"{c} is infinite")
        flag("absurd_price", "review", s.is_finite() & ((s > ABSURD_PRICE_USD)
                                                       | ((s > 0) & (s < TINY_PRICE_USD))),
             c, f"{c} outside {TINY_PRICE_USD:g} .. {ABSURD_PRICE_USD:,.0f} USD")
        if dataset != "book_events":
            flag("non_positive_price", "hard", s.fill_nan(1.0).fill_null(1.0) <= 0.0, c,
                 f"{c} <= 0")
    for c in _SIZES:
        if c in frame.columns:
            s = frame[c]
            flag("bad_size", "hard", _bad_number(s), c, f"{c} is missing, NaN or infinite")
            flag("negative_size", "hard", s < 0, c, f"{c} < 0")
            flag("absurd_size", "review", s.is_finite() & (s > ABSURD_SIZE), c,
                 f"{c} above {ABSURD_SIZE:g} shares")
    if dataset == "quotes":
        flag("crossed_quote", "hard", frame["bid"] > frame["ask"], "bid", "bid > ask")
        flag("locked_quote", "soft", frame["bid"] == frame["ask"], "bid", "bid == ask")
    if dataset == "book_events":
        _book_event_checks(frame, flag)
    if dataset.startswith("bars"):
        hi_bad = frame.select(pl.col("high") < pl.max_horizontal("open", "close", "low")).to_series()
        lo_bad = frame.select(pl.col("low") > pl.min_horizontal("open", "close", "high")).to_series()
        flag("ohlc_inconsistent", "hard", hi_bad, "high", "high below open/close/low")
        flag("ohlc_inconsistent", "hard", lo_bad, "low", "low above open/close/high")
        flag("duplicate_ts", "hard", frame["ts"].is_duplicated(), "ts", "duplicate bar timestamp")
        vwap = frame["vwap"]
        flag("bad_vwap", "hard", vwap.is_infinite() | (vwap <= 0), "vwap",
             "vwap is infinite or <= 0")
        if dataset == "bars_1d":
            for c, lo in (("split_factor", "> 0"), ("adj_factor", "> 0"), ("dividend", ">= 0")):
                s = frame[c]
                bad = _bad_number(s) | ((s <= 0) if lo == "> 0" else (s < 0))
                flag("bad_adjustment", "hard", bad, c, f"{c} must be finite and {lo}")
        if not rep.hard:
            _outliers(rep, dataset, frame)
            if calendar_gaps:
                _gaps(rep, dataset, frame)
    elif dataset in ("trades", "quotes"):
        dup = frame["ts"].is_duplicated()
        if dup.any():
            rep.counts["duplicate_ts"] += int(dup.sum())
            rep.findings.append(Finding("duplicate_ts", "soft", int(dup.arg_max()), "ts",
                                        f"{int(dup.sum())} tick rows share a timestamp"))
    ts = frame["ts"]
    if ts.len() > 1 and (ts.diff().drop_nulls() < 0).any():
        rep.counts["unsorted"] += 1
        rep.findings.append(Finding("unsorted", "soft", int((ts.diff() < 0).arg_max()), "ts",
                                    "timestamps go backwards (the lake sorts them on write)"))
    return rep


HALT_PRICE_SCALE = 10_000  # a halt's state code is stored as price x 1e4 (LOBSTER, ITCH)


def _book_event_checks(frame: pl.DataFrame, flag) -> None:
    """Kinds must be ``BookEvent`` codes; prices finite; an add, replace, trade or level
    carries a price > 0; a halt carries LOBSTER's state code (-1, 0, 1) in the price
    field's 1e-4 USD units, as both L3 sources store it (-0.0001, 0, 0.0001 USD); every
    other kind a price >= 0 (0 = "the book knows it")."""
    kind, price = frame["kind"], frame["price"]
    flag("unknown_kind", "hard", ~kind.is_in([int(k) for k in BookEvent]), "kind",
         f"kind is not a BookEvent code {[int(k) for k in BookEvent]}")
    priced = kind.is_in(_PRICED_KINDS)
    halt = kind == int(BookEvent.HALT)
    state = (price * HALT_PRICE_SCALE).round(0)
    bad = ((priced & (price <= 0))
           | (halt & (~state.is_in([-1.0, 0.0, 1.0])
                      | ((price * HALT_PRICE_SCALE - state).abs() > 1e-6)))
           | (~priced & ~halt & (price < 0)))
    flag("non_positive_price", "hard", bad & price.is_finite(), "price",
         "price not allowed for this event kind (add/replace/trade/level > 0, halt "
         "-0.0001/0/0.0001 i.e. state -1/0/1, others >= 0)")


def _outliers(rep: QualityReport, dataset: str, frame: pl.DataFrame) -> None:
    """Prices far from the rolling median close. Intraday bars are compared within their
    session only, so an overnight gap is not an outlier."""
    if frame.height < 5:
        return
    group = pl.lit(0) if dataset == "bars_1d" else session_date_expr()
    lc = pl.col("close").log()
    stats = frame.select(
        med=lc.rolling_median(OUTLIER_WINDOW, center=True, min_samples=1).over(group),
        scale=lc.diff().abs().rolling_median(OUTLIER_WINDOW, center=True, min_samples=1)
        .over(group).fill_null(0.0))
    med = stats["med"]
    thresh = (stats["scale"] * OUTLIER_K).clip(lower_bound=OUTLIER_MIN_FRAC)
    for c in ("low", "high", "close", "open"):
        dev = (frame[c].log() - med).abs()
        mask = (dev > thresh).fill_null(False)
        n = int(mask.sum())
        if n:
            rep.counts["outlier"] += n
        for r in mask.arg_true().head(5).to_list():
            rep.findings.append(Finding(
                "outlier", "soft", r, c,
                f"{c}={frame[c][r]} at {iso_ny(frame['ts'][r])} is {np.expm1(dev[r]):.1%} "
                f"from the rolling median close {np.exp(med[r]):.4f} "
                f"(limit {np.expm1(thresh[r]):.1%}); {n} row(s) in total"))


def _gaps(rep: QualityReport, dataset: str, frame: pl.DataFrame) -> None:
    dates = frame.select(session_date_expr().alias("d"))["d"]
    first, last = dates.min(), dates.max()
    sess_dates, opens, closes = sessions(first, last)
    if dataset == "bars_1d":
        have = set(dates.to_list())
        missing = [d for d in sess_dates if d not in have]
        if missing:
            rep.counts["calendar_gap"] += len(missing)
            rep.findings.append(Finding("calendar_gap", "soft", -1, "ts",
                                        f"{len(missing)} XNYS session(s) missing, first {missing[:3]}"))
        extra = sorted(set(have) - set(sess_dates))
        if extra:
            rep.counts["off_calendar"] += len(extra)
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
            examples.append(f"{d} ({miss.size} min, first {iso_ny(int(miss[0]))})")
    if total_missing:
        rep.counts["calendar_gap"] += total_missing
        rep.findings.append(Finding("calendar_gap", "soft", -1, "ts",
                                    f"{total_missing} regular-session minute(s) missing: "
                                    + "; ".join(examples[:3])))

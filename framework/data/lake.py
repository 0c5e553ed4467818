"""The lake: ``Lake(root)`` writes datasets atomically and reads them back as Polars frames."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from framework.data import catalog as _catalog
from framework.data.calendar import NY, session_date_expr
from framework.data.partitions import (
    check_symbol,
    clean_staging,
    file_fingerprint,
    list_partitions,
    write_partition,
)
from framework.data.quality import Finding, QualityReport, check_frame
from framework.data.schemas import (
    BAR_DATASETS,
    DATASETS,
    SCHEMAS,
    DataError,
    check_dataset,
    conform,
)

TimeLike = str | dt.date | dt.datetime | int | None


@dataclass
class WriteReport:
    """What one ``Lake.write`` did. ``findings`` are the soft quality findings."""

    dataset: str
    symbol: str
    source: str
    rows: int
    partitions: list[Path] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _bound(value: TimeLike, is_end: bool) -> tuple[dt.date | None, int | None]:
    """(session-date bound, ns bound) for a start/end argument.

    A date (or ``YYYY-MM-DD`` string) bounds by session date, inclusive at both ends, and
    sets no ns bound. An instant (datetime, ISO string with time, int ns UTC) bounds ts:
    start inclusive, end exclusive. Naive datetimes are taken as UTC.
    """
    if value is None:
        return None, None
    if isinstance(value, int):
        ns = value
    elif isinstance(value, dt.datetime):
        ns = _dt_ns(value)
    elif isinstance(value, dt.date):
        return value, None
    elif isinstance(value, str):
        v = value.strip()
        try:
            if len(v) == 10:
                return dt.date.fromisoformat(v), None
            ns = _dt_ns(dt.datetime.fromisoformat(v.replace("Z", "+00:00")))
        except ValueError:
            raise DataError(f"cannot read '{value}' as a date or ISO time") from None
    else:
        raise DataError(f"unsupported time bound {value!r} (date, datetime, str or int ns)")
    import zoneinfo

    d = dt.datetime.fromtimestamp(ns / 1e9, tz=zoneinfo.ZoneInfo(NY)).date()
    return d, ns


def _dt_ns(d: dt.datetime) -> int:
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    delta = d - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


class Lake:
    """A hive-partitioned Parquet lake with a DuckDB catalog.

    ``root`` defaults to ``$FW_LAKE`` or ``./data_lake``. Layout:
    ``<root>/<dataset>/symbol=<SYM>/date=<YYYY-MM-DD>/part.parquet``.
    """

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root or os.environ.get("FW_LAKE") or "data_lake").resolve()
        if self.root.is_dir():
            clean_staging(self.root)

    # ------------------------------------------------------------------ writing
    def write(self, dataset: str, symbol: str, frame: pl.DataFrame, source: str,
              origin: str | None = None) -> WriteReport:
        """Validate ``frame`` and write it, one atomic file per XNYS session date.

        Hard quality failures raise ``DataError`` before anything is written. Within
        each session date, existing rows in [min ts, max ts] of the new rows are replaced
        and rows outside are kept, so re-ingesting a range is idempotent.
        """
        check_dataset(dataset)
        sym = check_symbol(symbol)
        origin = origin or f"{source}:{sym}"
        data = conform(dataset, frame, origin)
        report = check_frame(dataset, data, origin, calendar_gaps=False)
        report.raise_if_hard()
        data = data.sort("ts", maintain_order=True)
        out = WriteReport(dataset, sym, source, data.height, findings=report.soft)
        if data.height == 0:
            return out
        self.root.mkdir(parents=True, exist_ok=True)
        parts = []
        for (day,), chunk in data.with_columns(session_date_expr().alias("_d")).partition_by(
            "_d", as_dict=True, maintain_order=True
        ).items():
            chunk = chunk.drop("_d")
            existing = list_partitions(self.root, dataset, sym, day, day)
            if existing:
                old = pl.read_parquet(existing[0][1])
                lo, hi = chunk["ts"][0], chunk["ts"][-1]
                keep = old.filter((pl.col("ts") < lo) | (pl.col("ts") > hi))
                if keep.height:
                    chunk = pl.concat([keep, chunk]).sort("ts", maintain_order=True)
            path, fp = write_partition(self.root, dataset, sym, day, chunk)
            out.partitions.append(path)
            parts.append((day, chunk.height, int(chunk["ts"][0]), int(chunk["ts"][-1]), fp))
        _catalog.record(self.root, dataset, sym, source, parts)
        return out

    # ------------------------------------------------------------------ reading
    def _paths(self, dataset: str, symbols: str | list[str], start: TimeLike, end: TimeLike
               ) -> tuple[list[tuple[str, Path]], int | None, int | None]:
        syms = [symbols] if isinstance(symbols, str) else list(symbols)
        d0, ns0 = _bound(start, False)
        d1, ns1 = _bound(end, True)
        paths = []
        for s in syms:
            sym = check_symbol(s)
            paths.extend((sym, p) for _, p in list_partitions(self.root, dataset, sym, d0, d1))
        return paths, ns0, ns1

    def read(self, dataset: str, symbols: str | list[str], start: TimeLike = None,
             end: TimeLike = None) -> pl.DataFrame:
        """Rows of ``dataset`` for ``symbols`` with a leading ``symbol`` column, sorted by
        ts then symbol. Only the partitions in the date range are opened."""
        schema = check_dataset(dataset)
        paths, ns0, ns1 = self._paths(dataset, symbols, start, end)
        if not paths:
            return pl.DataFrame(schema={"symbol": pl.String, **schema})
        frames = []
        by_sym: dict[str, list[str]] = {}
        for sym, p in paths:
            by_sym.setdefault(sym, []).append(str(p))
        for sym, files in by_sym.items():
            lf = pl.scan_parquet(files, hive_partitioning=False)
            if ns0 is not None:
                lf = lf.filter(pl.col("ts") >= ns0)
            if ns1 is not None:
                lf = lf.filter(pl.col("ts") < ns1)
            frames.append(lf.select(pl.lit(sym).alias("symbol"), pl.all()))
        df = pl.concat(pl.collect_all(frames)) if len(frames) > 1 else frames[0].collect()
        if len(by_sym) > 1:
            df = df.sort(["ts", "symbol"], maintain_order=True)
        return df

    def bars(self, symbols: str | list[str], start: TimeLike = None, end: TimeLike = None,
             timeframe: str = "1m") -> pl.DataFrame:
        """OHLCV bars (``timeframe`` "1m" or "1d"): symbol, ts (bar start, ns UTC), open, high,
        low, close, volume (shares), vwap, n; daily bars add split_factor, dividend, adj_factor."""
        if timeframe not in BAR_DATASETS:
            raise DataError(f"unknown timeframe '{timeframe}'; expected one of "
                            f"{', '.join(BAR_DATASETS)}")
        return self.read(BAR_DATASETS[timeframe], symbols, start, end)

    def trades(self, symbols: str | list[str], start: TimeLike = None, end: TimeLike = None
               ) -> pl.DataFrame:
        """Trades: symbol, ts (ns UTC), price (USD), size (shares), exchange, conditions."""
        return self.read("trades", symbols, start, end)

    def quotes(self, symbols: str | list[str], start: TimeLike = None, end: TimeLike = None
               ) -> pl.DataFrame:
        """NBBO quotes: symbol, ts (ns UTC), bid, bid_size, ask, ask_size."""
        return self.read("quotes", symbols, start, end)

    def book_events(self, symbols: str | list[str], start: TimeLike = None,
                    end: TimeLike = None) -> pl.DataFrame:
        """L3 book events (BOOK_EVENT_DTYPE fields minus sym, plus symbol)."""
        return self.read("book_events", symbols, start, end)

    # ------------------------------------------------------------------ catalog
    def catalog(self) -> pl.DataFrame:
        """One row per (dataset, symbol): source, first_ts, last_ts, rows, schema_version,
        fingerprint, partitions."""
        return _catalog.datasets(self.root)

    def symbols(self, dataset: str) -> list[str]:
        """Symbols that have at least one partition of ``dataset`` on disk."""
        check_dataset(dataset)
        d = self.root / dataset
        if not d.is_dir():
            return []
        return sorted(p.name[7:] for p in d.iterdir() if p.name.startswith("symbol="))

    def fingerprint(self, dataset: str, symbols: str | list[str], start: TimeLike = None,
                    end: TimeLike = None) -> str:
        """sha256 over the bytes of every partition file in the range (for run manifests).

        Partition granularity: instants in start/end select whole session dates.
        """
        paths, _, _ = self._paths(dataset, symbols, start, end)
        h = hashlib.sha256(dataset.encode())
        for sym, p in sorted(paths):
            h.update(f"|{sym}|{p.parent.name}|{file_fingerprint(p)}".encode())
        return h.hexdigest()

    def rebuild_catalog(self) -> int:
        """Re-index every partition file on disk; return the number of partitions."""
        import pyarrow.parquet as pq

        old = {}
        if (self.root / _catalog.CATALOG_FILE).exists():
            for r in _catalog.partitions(self.root).iter_rows(named=True):
                old[(r["dataset"], r["symbol"], r["date"])] = r["source"]
        scan = []
        for ds in DATASETS:
            for sym in self.symbols(ds):
                for day, p in list_partitions(self.root, ds, sym):
                    ts = pq.read_table(p, columns=["ts"]).column(0)
                    n = len(ts)
                    first = int(ts[0].as_py()) if n else 0
                    last = int(ts[-1].as_py()) if n else 0
                    src = old.get((ds, sym, day), "unknown")
                    scan.append((ds, sym, day, src, n, first, last, file_fingerprint(p)))
        self.root.mkdir(parents=True, exist_ok=True)
        _catalog.rebuild(self.root, scan)
        return len(scan)

    def verify(self, datasets: list[str] | None = None, symbols: list[str] | None = None
               ) -> list[QualityReport]:
        """Run every quality check (hard and soft, incl. XNYS gaps) over stored data."""
        reports = []
        for ds in datasets or list(DATASETS):
            for sym in symbols or self.symbols(ds):
                frame = self.read(ds, sym).drop("symbol")
                reports.append(check_frame(ds, frame, f"{ds}/symbol={sym}"))
        return reports


__all__ = ["Lake", "WriteReport", "SCHEMAS"]

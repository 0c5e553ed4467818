"""The lake: ``Lake(root)`` writes datasets in all-or-nothing transactions under a writer
lock, reads them back as Polars frames, and checks its files against the catalog."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from framework.data import catalog as _catalog
from framework.data import commit as _commit
from framework.data import review as _review
from framework.data.calendar import NY, session_date_expr
from framework.data.integrity import (
    FileProblem,
    catalog_index,
    check_files,
    quarantine,
    unreadable,
)
from framework.data.partitions import check_symbol, file_fingerprint, list_partitions
from framework.data.quality import Finding, QualityReport, check_frame
from framework.data.schemas import (
    BAR_DATASETS,
    DATASETS,
    SCHEMAS,
    DataError,
    check_dataset,
    conform,
    input_lines,
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


@dataclass
class RepairReport:
    """What ``Lake.repair`` found and did: the file problems, where damaged files went
    (None when none were moved), and the partitions the rebuilt catalog indexes."""

    problems: list[FileProblem]
    quarantine: Path | None
    partitions: int


class Lake:
    """A hive-partitioned Parquet lake with a DuckDB catalog.

    ``root`` defaults to ``$FW_LAKE`` or ``./data_lake``. Layout:
    ``<root>/<dataset>/symbol=<SYM>/date=<YYYY-MM-DD>/part.parquet``. Writers take the
    lake's writer lock, waiting up to ``lock_wait_s`` seconds (default
    ``$FW_LAKE_LOCK_WAIT_S`` or 600) for another writer to finish.
    """

    def __init__(self, root: str | Path | None = None, lock_wait_s: float | None = None):
        self.root = Path(root or os.environ.get("FW_LAKE") or "data_lake").resolve()
        if self.root.exists() and not self.root.is_dir():
            raise DataError(f"{self.root}: the lake root must be a folder, this is a file")
        self.lock_wait_s = float(lock_wait_s if lock_wait_s is not None
                                 else os.environ.get("FW_LAKE_LOCK_WAIT_S", 600))
        if self.root.is_dir():
            _commit.recover_if_free(self.root)

    # ------------------------------------------------------------------ writing
    def transaction(self, label: str = "lake write"):
        """``with lake.transaction("fw data ingest ...") as tx:`` — every ``write`` and
        ``delete`` inside commits together when the block ends, or not at all if it
        raises (``framework.data.commit``). ``tx.rows``/``tx.findings`` summarise it."""
        return _commit.transaction(self.root, label, self.lock_wait_s)

    def write(self, dataset: str, symbol: str, frame: pl.DataFrame, source: str,
              origin: str | None = None, *, accept_review: bool = False,
              whole_days: bool = False) -> WriteReport:
        """Validate ``frame`` and write it, one file per XNYS session date, in a
        transaction (its own, or the one open on this lake).

        Hard quality failures raise ``DataError`` before anything is staged; absurd
        magnitudes are held for review (``framework.data.review``) and raise too, unless
        ``accept_review``. Within each session date, existing rows in [min ts, max ts] of
        the new rows are replaced and rows outside are kept, so re-ingesting a range is
        idempotent; with ``whole_days`` (a source that regenerates whole sessions) the
        new rows replace the whole session date. An optional ``_line`` column (file line
        per row) is used in errors.
        """
        check_dataset(dataset)
        sym = check_symbol(symbol)
        origin = origin or f"{source}:{sym}"
        lines = input_lines(frame)
        data = conform(dataset, frame, origin)
        report = check_frame(dataset, data, origin, calendar_gaps=False, lines=lines)
        report.raise_if_hard()
        if report.review and not accept_review:
            self.root.mkdir(parents=True, exist_ok=True)
            held_id = _review.hold(self.root, dataset, sym, data, source, report)
            first = report.review[0]
            raise DataError(
                f"{origin}: {dataset} of {sym} held for review, nothing written "
                f"({sum(report.counts[f.check] for f in report.review)} absurd value(s); "
                f"{first.check}: {first.where}, column '{first.column}': {first.message}). "
                f"The rows are kept in {self.root / _review.REVIEW_DIR / held_id}: "
                f"`fw data review accept {held_id}` writes them as they are, "
                f"`fw data review drop {held_id}` discards them")
        data = data.sort("ts", maintain_order=True)
        out = WriteReport(dataset, sym, source, data.height, findings=report.soft)
        if data.height == 0:
            return out
        with self.transaction(f"write {dataset} {sym}") as tx:
            for (day,), chunk in data.with_columns(session_date_expr().alias("_d")).partition_by(
                "_d", as_dict=True, maintain_order=True
            ).items():
                chunk = chunk.drop("_d")
                existing = None if whole_days else tx.existing(dataset, sym, day)
                if existing is not None:
                    old = self._read_file(existing)
                    lo, hi = chunk["ts"][0], chunk["ts"][-1]
                    keep = old.filter((pl.col("ts") < lo) | (pl.col("ts") > hi))
                    if keep.height:
                        chunk = pl.concat([keep, chunk]).sort("ts", maintain_order=True)
                out.partitions.append(tx.put(dataset, sym, day, chunk, source))
            tx.rows[dataset] += data.height
            for check, n in report.counts.items():
                tx.findings[f"{dataset} {check}"] += n
        return out

    def delete(self, datasets: list[str], symbols: list[str], start: TimeLike = None,
               end: TimeLike = None, dry_run: bool = False) -> list[tuple[str, str, dt.date,
                                                                          Path, int]]:
        """Delete whole partitions of ``datasets`` x ``symbols`` with session dates in
        [start, end] (dates, inclusive; None = unbounded), in one transaction. Returns
        (dataset, symbol, date, path, rows) of each partition deleted, or that would be
        with ``dry_run`` (which changes nothing)."""
        d0, ns0 = _bound(start, False)
        d1, ns1 = _bound(end, True)
        if ns0 is not None or ns1 is not None:
            raise DataError("delete removes whole session dates: give start/end as dates "
                            "(YYYY-MM-DD)")
        targets = []
        for ds in datasets:
            check_dataset(ds)
            for s in symbols:
                sym = check_symbol(s)
                for day, path in list_partitions(self.root, ds, sym, d0, d1):
                    targets.append((ds, sym, day, path, _file_rows(path)))
        if dry_run or not targets:
            return targets
        with self.transaction(f"delete {','.join(datasets)} {','.join(symbols)}") as tx:
            for ds, sym, day, _, _ in targets:
                tx.delete(ds, sym, day)
        return targets

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
        ts then symbol. Only the partitions in the date range are opened; an unreadable
        file raises ``DataError`` naming it."""
        paths, ns0, ns1 = self._paths(dataset, symbols, start, end)
        return self._read_paths(dataset, paths, ns0, ns1)

    def _read_paths(self, dataset: str, paths: list[tuple[str, Path]], ns0: int | None,
                    ns1: int | None) -> pl.DataFrame:
        schema = check_dataset(dataset)
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
        try:
            df = pl.concat(pl.collect_all(frames)) if len(frames) > 1 else frames[0].collect()
        except _READ_ERRORS as err:
            raise _unreadable_error([p for _, p in paths], err) from None
        if len(by_sym) > 1:
            df = df.sort(["ts", "symbol"], maintain_order=True)
        return df

    def _read_file(self, path: Path) -> pl.DataFrame:
        try:
            return pl.read_parquet(path)
        except _READ_ERRORS as err:
            raise _unreadable_error([path], err) from None

    def bars(self, symbols: str | list[str], start: TimeLike = None, end: TimeLike = None,
             timeframe: str = "1m") -> pl.DataFrame:
        """OHLCV bars (``timeframe`` "1s", "1m" or "1d"): symbol, ts (bar start, ns UTC),
        open, high, low, close, volume (shares), vwap, n; daily bars add split_factor,
        dividend, adj_factor."""
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

    def ingests(self) -> pl.DataFrame:
        """One row per committed transaction (newest first): id, label, pid, started,
        committed, partitions, deleted, rows, findings (JSON: rows flagged per
        "<dataset> <check>")."""
        if not (self.root / _catalog.CATALOG_FILE).exists():
            return pl.DataFrame()
        return _catalog.ingests(self.root)

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
        """Re-index every partition file on disk (under the writer lock); return the
        number of partitions. An unreadable file raises ``DataError`` naming it (``repair``
        quarantines such files first)."""
        with _commit.writer_lock(self.root, self.lock_wait_s):
            return self._rebuild_locked()

    def _rebuild_locked(self) -> int:
        import pyarrow.parquet as pq

        old = {}
        if (self.root / _catalog.CATALOG_FILE).exists():
            for r in _catalog.partitions(self.root).iter_rows(named=True):
                old[(r["dataset"], r["symbol"], r["date"])] = r["source"]
        scan = []
        for ds in DATASETS:
            for sym in self.symbols(ds):
                for day, p in list_partitions(self.root, ds, sym):
                    try:
                        ts = pq.read_table(p, columns=["ts"]).column(0)
                    except Exception as err:  # pyarrow: ArrowInvalid / OSError
                        raise _unreadable_error([p], err) from None
                    n = len(ts)
                    first = int(ts[0].as_py()) if n else 0
                    last = int(ts[-1].as_py()) if n else 0
                    src = old.get((ds, sym, day), "unknown")
                    scan.append((ds, sym, day, src, n, first, last, file_fingerprint(p)))
        _catalog.rebuild(self.root, scan)
        return len(scan)

    # ------------------------------------------------------------------ checking
    def file_problems(self, datasets: list[str] | None = None,
                      symbols: list[str] | None = None) -> list[FileProblem]:
        """Partition files that disagree with the catalog: unreadable, changed since
        written (sha256), on disk but not catalogued, catalogued but missing."""
        index = catalog_index(self.root)
        out = []
        for ds in datasets or list(DATASETS):
            check_dataset(ds)
            for sym in self._symbols_of(ds, symbols, index):
                out.extend(check_files(self.root, ds, sym, index.get((ds, sym), {})))
        return out

    def _symbols_of(self, dataset: str, symbols: list[str] | None, index: dict) -> list[str]:
        if symbols:
            return [check_symbol(s) for s in symbols]
        return sorted(set(self.symbols(dataset)) | {s for d, s in index if d == dataset})

    def verify(self, datasets: list[str] | None = None, symbols: list[str] | None = None
               ) -> list[QualityReport]:
        """Every check over stored data, per (dataset, symbol): the files against the
        catalog (hard: unreadable, changed, uncatalogued, missing), then every quality
        check (hard and soft, incl. XNYS gaps) over the files that passed."""
        index = catalog_index(self.root)
        reports = []
        for ds in datasets or list(DATASETS):
            check_dataset(ds)
            for sym in self._symbols_of(ds, symbols, index):
                problems = check_files(self.root, ds, sym, index.get((ds, sym), {}))
                bad = {p.path for p in problems if p.damaged}
                good = [(sym, p) for _, p in list_partitions(self.root, ds, sym) if p not in bad]
                frame = self._read_paths(ds, good, None, None).drop("symbol")
                rep = check_frame(ds, frame, f"{ds}/symbol={sym}")
                rep.findings[:0] = [Finding(p.check, "hard", -1, "file", p.message)
                                    for p in problems]
                for p in problems:
                    rep.counts[p.check] += 1
                reports.append(rep)
        return reports

    def repair(self, dry_run: bool = False) -> RepairReport:
        """Quarantine every damaged partition file (unreadable or changed since written)
        to ``<root>/quarantine/<stamp>/`` and rebuild the catalog from the files left, under
        the writer lock. ``dry_run`` only reports. The quarantined days are then missing:
        re-ingest them from their source (each problem names it)."""
        with _commit.writer_lock(self.root, self.lock_wait_s):
            problems = self.file_problems()
            if dry_run:
                return RepairReport(problems, None, 0)
            folder = quarantine(self.root, problems)
            return RepairReport(problems, folder, self._rebuild_locked())

    def review_accept(self, held_id: str) -> WriteReport:
        """Write a held write as it is (``framework.data.review``) and discard the hold."""
        meta, frame = _review.load(self.root, held_id)
        rep = self.write(meta["dataset"], meta["symbol"], frame, meta["source"],
                         origin=meta["origin"], accept_review=True)
        _review.drop(self.root, held_id)
        return rep


def _file_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # unreadable: its rows are unknown, it is deleted all the same
        return -1


_READ_ERRORS = (pl.exceptions.PolarsError, OSError, pl.exceptions.PanicException)


def _unreadable_error(paths: list[Path], err: BaseException) -> DataError:
    """A ``DataError`` naming the first file of ``paths`` that does not read."""
    for p in paths:
        why = unreadable(p)
        if why is not None:
            return DataError(f"{p}: not a readable Parquet file ({why}); `fw data verify` "
                             "lists damaged files, `fw data repair` quarantines them")
    return DataError(f"reading {len(paths)} lake file(s) failed: {type(err).__name__}: "
                     f"{str(err).splitlines()[0][:200]}")


__all__ = ["SCHEMAS", "Lake", "RepairReport", "WriteReport"]

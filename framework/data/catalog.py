"""The DuckDB catalog ``<root>/catalog.duckdb``: partition index, ``datasets`` table, views.

The Parquet files are the truth; the catalog indexes them and can be rebuilt from them
(``rebuild``). Each lake transaction updates it in one DuckDB transaction after its files
are in place (``apply``), and records itself in ``ingests``. A connection is opened per
operation so no process holds the file lock for long.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import duckdb
import polars as pl

from framework.data.schemas import DATASETS, SCHEMA_VERSION

CATALOG_FILE = "catalog.duckdb"

_DDL = """
CREATE TABLE IF NOT EXISTS partitions (
    dataset VARCHAR, symbol VARCHAR, date DATE, source VARCHAR, rows BIGINT,
    first_ts BIGINT, last_ts BIGINT, fingerprint VARCHAR, schema_version INTEGER,
    written_at TIMESTAMP, PRIMARY KEY (dataset, symbol, date));
CREATE TABLE IF NOT EXISTS datasets (
    symbol VARCHAR, dataset VARCHAR, source VARCHAR, first_ts BIGINT, last_ts BIGINT,
    rows BIGINT, schema_version INTEGER, fingerprint VARCHAR, partitions BIGINT,
    PRIMARY KEY (dataset, symbol));
CREATE TABLE IF NOT EXISTS ingests (
    id VARCHAR PRIMARY KEY, label VARCHAR, pid BIGINT, started TIMESTAMP, committed TIMESTAMP,
    partitions BIGINT, deleted BIGINT, rows BIGINT, findings VARCHAR);
"""

_REFRESH = """
DELETE FROM datasets WHERE dataset = ? AND symbol = ?;
INSERT INTO datasets
SELECT symbol, dataset, string_agg(DISTINCT source, ',' ORDER BY source), min(first_ts),
       max(last_ts), sum(rows), max(schema_version),
       sha256(string_agg(fingerprint, '' ORDER BY date)), count(*)
FROM partitions WHERE dataset = ? AND symbol = ? GROUP BY symbol, dataset;
"""


def _connect(root: Path, wait_s: float = 30.0) -> duckdb.DuckDBPyConnection:
    """Open the catalog; another process holding its lock is waited for (up to ``wait_s``)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            con = duckdb.connect(str(root / CATALOG_FILE))
            break
        except duckdb.IOException as err:
            if "lock" not in str(err).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    con.execute(_DDL)
    return con


def _insert(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """Upsert partition rows (dataset, symbol, date, source, rows, first_ts, last_ts,
    fingerprint) in one set-based statement (executemany is ~2 ms per row in DuckDB)."""
    cols = ["dataset", "symbol", "date", "source", "rows", "first_ts", "last_ts", "fingerprint"]
    new = pl.DataFrame(rows, schema=dict(zip(cols, [pl.String, pl.String, pl.Date, pl.String,
                                                    pl.Int64, pl.Int64, pl.Int64, pl.String],
                                             strict=True)), orient="row")
    con.register("_new_parts", new.to_arrow())
    con.execute("DELETE FROM partitions p USING _new_parts n WHERE p.dataset = n.dataset "
                "AND p.symbol = n.symbol AND p.date = n.date")
    con.execute(f"INSERT INTO partitions SELECT *, {SCHEMA_VERSION}, now() FROM _new_parts")
    con.unregister("_new_parts")


def _refresh(con: duckdb.DuckDBPyConnection, dataset: str, symbol: str) -> None:
    for stmt in _REFRESH.strip().split(";\n"):
        if stmt.strip():
            con.execute(stmt, [dataset, symbol])


def apply(root: Path, puts: list[tuple], deletes: list[tuple[str, str, dt.date]],
          ingest: dict | None = None) -> None:
    """One catalog transaction: upsert ``puts`` (dataset, symbol, date, source, rows,
    first_ts, last_ts, fingerprint), drop ``deletes`` (dataset, symbol, date), refresh the
    ``datasets`` rows they touch, record ``ingest`` (a row of ``ingests``), and the views.
    Idempotent: a journal replayed after a crash applies it again."""
    con = _connect(root)
    try:
        con.execute("BEGIN")
        if puts:
            _insert(con, puts)
        if deletes:
            gone = pl.DataFrame(deletes, schema={"dataset": pl.String, "symbol": pl.String,
                                                 "date": pl.Date}, orient="row")
            con.register("_gone", gone.to_arrow())
            con.execute("DELETE FROM partitions p USING _gone g WHERE p.dataset = g.dataset "
                        "AND p.symbol = g.symbol AND p.date = g.date")
            con.unregister("_gone")
        for ds, sym in sorted({(r[0], r[1]) for r in [*puts, *deletes]}):
            _refresh(con, ds, sym)
        if ingest is not None:
            con.execute("INSERT OR REPLACE INTO ingests VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?)",
                        [ingest["id"], ingest["label"], ingest["pid"], ingest["started"],
                         ingest["partitions"], ingest["deleted"], ingest["rows"],
                         json.dumps(ingest["findings"], sort_keys=True)])
        con.execute("COMMIT")
        _views(con, root)
    finally:
        con.close()


def _views(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """One view per dataset over its Parquet files (only where files exist)."""
    for ds in DATASETS:
        if not any((root / ds).glob("symbol=*/date=*/part.parquet")):
            con.execute(f"DROP VIEW IF EXISTS {ds}")
        else:
            glob = (root / ds).as_posix() + "/*/*/*.parquet"
            con.execute(
                f"CREATE OR REPLACE VIEW {ds} AS SELECT * FROM read_parquet('{glob}', "
                "hive_partitioning = true, hive_types = {'symbol': VARCHAR, 'date': DATE})"
            )


def datasets(root: Path) -> pl.DataFrame:
    """The ``datasets`` table as a Polars frame (empty when the lake has no catalog)."""
    if not (root / CATALOG_FILE).exists():
        return pl.DataFrame(schema={"symbol": pl.String, "dataset": pl.String,
                                    "source": pl.String, "first_ts": pl.Int64,
                                    "last_ts": pl.Int64, "rows": pl.Int64,
                                    "schema_version": pl.Int32, "fingerprint": pl.String,
                                    "partitions": pl.Int64})
    con = _connect(root)
    try:
        return con.sql("SELECT * FROM datasets ORDER BY dataset, symbol").pl()
    finally:
        con.close()


def ingests(root: Path) -> pl.DataFrame:
    """The ``ingests`` table (one row per committed lake transaction), newest first."""
    con = _connect(root)
    try:
        return con.sql("SELECT * FROM ingests ORDER BY committed DESC").pl()
    finally:
        con.close()


def partitions(root: Path) -> pl.DataFrame:
    """The ``partitions`` table (one row per file)."""
    con = _connect(root)
    try:
        return con.sql("SELECT * FROM partitions ORDER BY dataset, symbol, date").pl()
    finally:
        con.close()


def rebuild(root: Path, scan: list[tuple[str, str, dt.date, str, int, int, int, str]]) -> None:
    """Replace the catalog content with ``scan`` rows (dataset, symbol, date, source, rows,
    first_ts, last_ts, fingerprint), as found on disk."""
    con = _connect(root)
    try:
        con.execute("BEGIN")
        con.execute("DELETE FROM partitions")
        con.execute("DELETE FROM datasets")
        if scan:
            _insert(con, scan)
        pairs = con.execute("SELECT DISTINCT dataset, symbol FROM partitions").fetchall()
        for ds, sym in pairs:
            _refresh(con, ds, sym)
        con.execute("COMMIT")
        _views(con, root)
    finally:
        con.close()

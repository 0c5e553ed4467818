"""``fw data ...``: ingest, list and show lake datasets (checking and maintenance:
``framework.cli.lake_cmd``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

app = typer.Typer(help="Manage the data lake: ingest, list, show, verify, repair, delete, "
                  "review.", no_args_is_help=True)

_LAKE_HELP = "Lake root (default: $FW_LAKE or ./data_lake)."


def _symbols(raw: list[str] | None) -> list[str]:
    """``--symbols`` values (repeated and/or comma-separated) as tickers; a ticker given
    twice is refused."""
    from framework.data.schemas import DataError

    out: list[str] = []
    for item in raw or []:
        out.extend(s.strip().upper() for s in item.split(",") if s.strip())
    dup = sorted({s for s in out if out.count(s) > 1})
    if dup:
        raise DataError(f"--symbols: {', '.join(dup)} given twice")
    return out


_FILE_SOURCES = ("csv", "lobster", "itch", "lean")
# sources that download in windows, commit each window and checkpoint it (resumable): one
# commit for the whole ingest would let a checkpoint claim windows that were never committed
_RESUMABLE = ("polygon",)


def _check_files(source: str, files: list[Path], syms: list[str]) -> None:
    """Refuse FILE arguments a source does not take, and a missing file that looks like a
    ticker: ``--symbols SPY QQQ`` gives --symbols one value and QQQ as a FILE."""
    from framework.data.partitions import check_symbol
    from framework.data.schemas import DataError

    hint = "one --symbols takes one value: write --symbols {} (or repeat --symbols)"
    if files and source not in _FILE_SOURCES:
        names = [str(f) for f in files]
        raise DataError(f"--source {source} takes no FILE arguments, got {' '.join(names)}; "
                        + hint.format(",".join(syms + [n.upper() for n in names])))
    for f in files:
        if f.exists():
            continue
        try:
            looks_like_ticker = str(f) == f.name and check_symbol(f.name) == f.name.upper()
        except DataError:
            looks_like_ticker = False
        more = f"; if {f} is a ticker, " + hint.format(",".join(syms + [f.name.upper()])) \
            if looks_like_ticker else ""
        raise DataError(f"{f}: file not found{more}")


def _date(value: str | None, what: str) -> dt.date | None:
    from framework.data.schemas import DataError

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DataError(f"--{what}: '{value}' is not a date (YYYY-MM-DD)") from None


def bars_from_trades_kernel():
    """The marketdata stage's tick-to-bar kernel, injected into the data stage."""
    from framework.types.errors import FwError

    try:
        from framework.marketdata.bars import time_bars
    except ImportError as err:
        raise FwError("synthetic ingest needs framework.marketdata.bars.time_bars "
                      f"(tick-to-bar aggregation), which is not importable: {err}") from None

    def bars_from_trades(trades, interval_ns: int):
        return time_bars(trades, interval_ns)

    return bars_from_trades


@app.command()
def ingest(
    source: str = typer.Option(..., help="synthetic | synthetic-book | csv | yfinance | alpaca | "
                               "polygon | lobster | itch | lean"),
    symbols: list[str] = typer.Option(None, "--symbols", "-s", help="Tickers (repeat or comma-separate)."),  # noqa: B008
    start: str = typer.Option(None, help="First session date YYYY-MM-DD."),
    end: str = typer.Option(None, help="Last session date YYYY-MM-DD (inclusive)."),
    config: Path = typer.Option(None, "--config", help="Data config TOML (default config/data.toml)."),  # noqa: B008
    lake: Path = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
    files: list[Path] = typer.Argument(None, help="csv: input files (one per symbol, same order); "  # noqa: B008
                                       "lobster: MESSAGE [ORDERBOOK]; itch: FILE; lean: LEAN "
                                       ".../<tick|second|minute>/<sym>/YYYYMMDD_trade.zip files."),
    csv_format: str = typer.Option(None, "--csv-format", help="csv: name of a [csv.<name>] mapping."),
    dataset: str = typer.Option("bars", help="alpaca/polygon: bars | trades | quotes."),
    timeframe: str = typer.Option("1m", help="alpaca/polygon/yfinance bars: 1m | 1d."),
    seed: int = typer.Option(None, help="synthetic: override the seed."),
    session: str = typer.Option(None, help="csv/lean bars: keep rows in the regular session "
                                "(09:30-16:00 ET) or the extended one (04:00-20:00 ET); "
                                "default: the csv mapping's `session`, lean: regular."),
) -> None:
    """Fetch or generate data and write it to the lake, in one commit.

    The whole ingest (every symbol and dataset) is committed together or not at all;
    re-running it is idempotent. Polygon downloads are resumable instead: each window
    commits on its own before its checkpoint is saved."""
    from framework.data import Lake
    from framework.data.schemas import DataError
    from framework.data.settings import load_data_config

    cfg = load_data_config(config)
    lk = Lake(lake)
    syms = _symbols(symbols)
    _check_files(source, files or [], syms)
    d0, d1 = _date(start, "start"), _date(end, "end")
    if d0 and d1 and d0 > d1:
        raise DataError(f"--start {d0} is after --end {d1}")
    label = f"fw data ingest --source {source} " + ",".join(syms)
    args = (source, lk, cfg, config, syms, d0, d1, files or [], csv_format, dataset,
            timeframe, seed, session)
    if source in _RESUMABLE:
        rows = _ingest(*args)
        typer.echo(f"lake {lk.root}: " + ", ".join(f"{k} {v:,} rows" for k, v in rows.items()))
        return
    with lk.transaction(label) as tx:  # the whole ingest commits as one unit, or nothing
        rows = _ingest(*args)
    typer.echo(f"lake {lk.root}: " + ", ".join(f"{k} {v:,} rows" for k, v in rows.items())
               + f" ({tx.partitions:,} partition files, one commit)")
    if tx.findings:
        typer.echo("findings (rows flagged, `fw data verify` for details): " + ", ".join(
            f"{k} {n:,}" for k, n in sorted(tx.findings.items())))


def _ingest(source: str, lk, cfg, config: Path | None, syms: list[str], d0, d1,
            files: list[Path], csv_format: str | None, dataset: str, timeframe: str,
            seed: int | None, session: str | None) -> dict[str, int]:
    """Run one source's ingest into ``lk`` (inside the caller's transaction); rows per
    dataset."""
    from rich.progress import Progress

    from framework.data.schemas import DataError

    if source == "synthetic":
        from framework.data.sources.synthetic import ingest_synthetic

        upd = {k: v for k, v in (("symbols", syms or None), ("start", d0), ("end", d1),
                                 ("seed", seed)) if v is not None}
        scfg = cfg.synthetic.model_copy(update=upd)
        bft = bars_from_trades_kernel()
        with Progress() as prog:
            task = prog.add_task("synthetic", total=len(scfg.symbols))
            rows = ingest_synthetic(lk, scfg, bft, progress=lambda s: prog.advance(task))
    elif source == "synthetic-book":
        rows = _ingest_synthetic_book(lk, cfg.synthetic_book, syms, d0, d1, seed)
    elif source == "csv":
        from framework.data.sources.csv_source import read_csv

        if not csv_format or csv_format not in cfg.csv:
            raise DataError(f"--csv-format: expected one of {sorted(cfg.csv)} "
                            f"(the [csv.<name>] tables of {config or 'config/data.toml'})")
        if not files or len(files) != len(syms):
            raise DataError("csv: give one FILE per --symbols entry, in the same order")
        rows = {}
        for sym, f in zip(syms, files, strict=True):
            m = cfg.csv[csv_format]
            frame = read_csv(f, m, f"{config or 'config/data.toml'} [csv.{csv_format}]", session)
            lk.write(m.dataset, sym, frame, "csv", origin=str(f))
            rows[m.dataset] = rows.get(m.dataset, 0) + frame.height
    elif source == "alpaca":
        from framework.config import load_alpaca_credentials
        from framework.data.sources.alpaca_source import ingest_alpaca

        creds = load_alpaca_credentials()
        rows = ingest_alpaca(lk, cfg.alpaca, creds.key_id.get_secret_value(),
                             creds.secret_key.get_secret_value(), syms, d0, d1,
                             dataset, timeframe)
    elif source == "polygon":
        from framework.config import load_polygon_api_key
        from framework.data.sources.polygon_source import ingest_polygon

        rows = ingest_polygon(lk, cfg.polygon, load_polygon_api_key().get_secret_value(), syms,
                              d0, d1, dataset, timeframe, report=typer.echo)
    elif source == "yfinance":
        from framework.data.sources.yfinance_source import ingest_yfinance

        rows = ingest_yfinance(lk, cfg.yfinance, syms, d0, d1, timeframe)
    elif source == "lobster":
        rows = _ingest_lobster(lk, syms, files, d0)
    elif source == "itch":
        rows = _ingest_itch(lk, syms, files, d0)
    elif source == "lean":
        rows = _ingest_lean(lk, files, session or "regular")
    else:
        raise DataError(f"--source: unknown source '{source}' "
                        "(synthetic, synthetic-book, csv, yfinance, alpaca, polygon, lobster, itch, "
                        "lean)")
    return rows


def _ingest_synthetic_book(lk, cfg, syms, d0, d1, seed) -> dict[str, int]:
    """Zero-intelligence L3 flow -> book_events + the trades and bars they imply."""
    from framework.data.sources.synthetic_book import generate_book
    from framework.marketdata.book.prints import write_book_data

    upd = {k: v for k, v in (("symbols", syms or None), ("start", d0), ("end", d1),
                             ("seed", seed)) if v is not None}
    cfg = cfg.model_copy(update=upd)
    rows: dict[str, int] = {}
    for sym in cfg.symbols:
        for ds, n in write_book_data(lk, sym.upper(), generate_book(cfg, sym),
                                     "synthetic-book").items():
            rows[ds] = rows.get(ds, 0) + n
    return rows


def _ingest_lobster(lk, syms, files, day) -> dict[str, int]:
    from framework.data.schemas import DataError

    try:
        from framework.data.sources.lobster import load_lobster
    except ImportError as err:
        raise DataError(f"lobster source not available: {err}") from None
    if len(syms) != 1 or not files or day is None:
        raise DataError("lobster: give one --symbols, --start DATE and MESSAGE [ORDERBOOK] files")
    frame = load_lobster(files[0], files[1] if len(files) > 1 else None, syms[0], day)
    if len(files) > 1:  # the orderbook file fills LOBSTER's level window: see lobster_window
        from framework.marketdata.book.lobster_window import with_window_events

        frame = with_window_events(frame, files[1])
    from framework.marketdata.book.prints import write_book_data

    return write_book_data(lk, syms[0], frame, "lobster", origin=str(files[0]))


def _ingest_itch(lk, syms, files, day) -> dict[str, int]:
    from framework.data.schemas import DataError
    from framework.data.sources.itch import book_events, decode_itch, prints
    from framework.marketdata.book.prints import write_book_data

    if len(files or []) != 1 or day is None or not syms:
        raise DataError("itch: give --symbols, --start DATE (the file's trading day) and one FILE")
    dec = decode_itch(files[0])
    rows: dict[str, int] = {}
    for sym in syms:
        written = write_book_data(lk, sym, book_events(dec, day, sym), "itch",
                                  origin=str(files[0]), trades=prints(dec, day, sym))
        for ds, n in written.items():
            rows[ds] = rows.get(ds, 0) + n
    typer.echo(f"itch {files[0]}: {sum(dec.counts.values()):,} messages, skipped by type "
               f"{dec.skipped}, malformed {dec.malformed}, trailing bytes {dec.trailing_bytes}")
    return rows


def _ingest_lean(lk, files, session: str) -> dict[str, int]:
    """LEAN tick trades -> trades; LEAN second/minute trade bars -> bars_1s/bars_1m."""
    from framework.data.schemas import DataError
    from framework.data.sources.csv_source import in_session
    from framework.data.sources.lean import read_lean

    if not files:
        raise DataError("lean: give one or more LEAN .../<tick|second|minute>/<sym>/"
                        "YYYYMMDD_trade.zip files")
    rows: dict[str, int] = {}
    for f in files:
        dataset, sym, frame, dropped = read_lean(f)
        if dataset != "trades":
            frame = in_session(frame, session)
        lk.write(dataset, sym, frame, "lean", origin=str(f))
        rows[dataset] = rows.get(dataset, 0) + frame.height
        if dropped:
            typer.echo(f"{f}: {dropped} tick(s) AlgoSeek flags suspicious left out")
    return rows


@app.command()
def bars(
    symbols: list[str] = typer.Option(..., "--symbols", "-s", help="Tickers (repeat or comma-separate)."),  # noqa: B008
    timeframe: str = typer.Option("1m", help="1s | 1m | 1d (one bar per regular session)."),
    start: str = typer.Option(None, help="First session date YYYY-MM-DD."),
    end: str = typer.Option(None, help="Last session date YYYY-MM-DD (inclusive)."),
    session: str = typer.Option("regular", help="regular (09:30-16:00 ET) | extended "
                                "(04:00-20:00 ET)."),
    conditions: str = typer.Option("sip", help="Sale-condition rules: sip (CTA/UTP plans) | "
                                   "lean (as LEAN's AlgoSeek bars) | none (every print counts)."),
    listing: str = typer.Option(None, help="Listing market's exchange code, e.g. N, P, Q "
                                "(default: the venue of the largest auction prints)."),
    auction_window: float = typer.Option(300.0, help="Seconds after the close in which the "
                                         "listing market's closing print still belongs to "
                                         "the session's last bar."),
    lake: Path = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
) -> None:
    """Build bars from the trades in the lake (sale conditions read) and write them."""
    from framework.data import Lake
    from framework.data.schemas import DataError
    from framework.marketdata.trade_bars import write_trade_bars

    if conditions not in ("sip", "lean", "none"):
        raise DataError(f"--conditions: '{conditions}', expected sip, lean or none")
    lk = Lake(lake)
    for sym in _symbols(symbols):
        out = write_trade_bars(lk, sym, timeframe, start=_date(start, "start"),
                               end=_date(end, "end"), session=session,
                               rules=None if conditions == "none" else conditions,
                               listing=listing, auction_window_ns=int(auction_window * 1e9))
        c = out.counts
        typer.echo(f"{sym}: bars_{timeframe} {out.frame.height:,} rows from {c['accepted']:,} "
                   f"trades (listing market {out.listing or '-'}; left out: "
                   f"{c['out_of_session']:,} outside the {session} session, {c['excluded']:,} "
                   f"by sale condition, {c['bad']:,} bad, {c['out_of_order']:,} out of order)")


@app.command("list")
def list_(
    lake: Path = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
    ingests: bool = typer.Option(False, "--ingests", help="List the committed ingests "
                                 "(transactions) instead, newest first, with their findings."),
) -> None:
    """List the catalog: one row per dataset and symbol (times in New York).

    With --ingests: one row per committed ingest, newest first, with its findings."""
    from rich.console import Console
    from rich.table import Table

    from framework.data import Lake
    from framework.types.nytime import iso_ny

    lk = Lake(lake)
    if ingests:
        table = Table("committed (UTC)", "what", "partitions", "deleted", "rows", "findings")
        for r in lk.ingests().iter_rows(named=True):
            table.add_row(str(r["committed"])[:19], r["label"], f"{r['partitions']:,}",
                          f"{r['deleted']:,}", f"{r['rows']:,}", r["findings"])
        Console(width=200).print(table if table.row_count else "no ingests recorded")
        return
    cat = lk.catalog()
    table = Table("dataset", "symbol", "source", "first (New York)", "last (New York)", "rows",
                  "partitions", "fingerprint")
    for r in cat.iter_rows(named=True):
        table.add_row(r["dataset"], r["symbol"], r["source"], iso_ny(r["first_ts"]),
                      iso_ny(r["last_ts"]), f"{r['rows']:,}", str(r["partitions"]),
                      r["fingerprint"][:12])
    Console(width=200).print(table if cat.height else "lake is empty")


@app.command()
def show(
    symbol: str = typer.Argument(..., help="Ticker."),
    dataset: str = typer.Option("bars_1m", help="Dataset to print."),
    start: str = typer.Option(None), end: str = typer.Option(None),
    rows: int = typer.Option(10, help="Rows to print from the start and the end."),
    lake: Path = typer.Option(None, "--lake", help=_LAKE_HELP),  # noqa: B008
) -> None:
    """Print the catalog entries of SYMBOL and the first/last rows of one dataset."""
    import polars as pl

    from framework.data import Lake
    from framework.data.calendar import NY

    lk = Lake(lake)
    cat = lk.catalog().filter(pl.col("symbol") == symbol.upper())
    typer.echo(cat.select("dataset", "source", "rows", "partitions").to_pandas().to_string(index=False)
               if cat.height else f"{symbol.upper()}: not in the lake")
    df = lk.read(dataset, symbol, start, end)
    if df.height:
        df = df.select(pl.col("ts").cast(pl.Datetime("ns", "UTC")).dt.convert_time_zone(NY)
                       .dt.strftime("%Y-%m-%dT%H:%M:%S%.f%:z").alias("time (New York)"),
                       pl.all())
        with pl.Config(tbl_rows=2 * rows + 1, tbl_cols=14, tbl_width_chars=200,
                       fmt_str_lengths=40):
            typer.echo(pl.concat([df.head(rows), df.tail(rows)]) if df.height > 2 * rows else df)




def _register_lake_commands() -> None:
    from framework.cli import lake_cmd  # verify, repair, delete, review live there

    lake_cmd.register(app)


_register_lake_commands()

"""Read-side helpers for the terminal: status, full-text search and export.

They open the warehouse read-only (but for `rebuild_search_index`, which the flows call after a run
finishes, under the run's writer lock). DuckDB lets one process hold a file at a time, so while an
ingest run is loading they wait for it like any reader (`warehouse.duckdb_adapter.connect`). Their SQL lives in
`warehouse/internal/`.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from wirehouse.warehouse.duckdb_adapter import WarehouseBusy, connect, internal_sql

logger = logging.getLogger(__name__)

SEARCH_INDEX_SCHEMA = "fts_main_articles"   # where DuckDB's fts extension keeps the articles index
STATUS_TABLES = ("articles", "entities", "mentions", "events", "pages", "fetch_log", "quarantine", "runs")
# Tables and the date each is partitioned by on export (the rest are written whole).
EXPORT_DATES = {
    "articles": "published_at",
    "events": "event_date",
    "fetch_log": "fetched_at",
    "pages": "fetched_at",
    "quarantine": "quarantined_at",
    "runs": "started_at",
    "source_health": "measured_at",
}
EXPORT_TABLES = (
    "articles", "entities", "mentions", "events", "pages", "fetch_log", "quarantine", "url_state", "runs",
    "source_health", "schema_migrations",
)
PARTITION_FORMATS = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}


@dataclass
class Status:
    """What `wirehouse status` shows."""

    runs: pd.DataFrame
    counts: dict[str, int]
    size_bytes: int
    sources: pd.DataFrame

    @property
    def problems(self) -> pd.DataFrame:
        return self.sources[self.sources["problem"].notna()] if not self.sources.empty else self.sources


def status(db_path: str | Path) -> Status:
    """The last runs, table sizes, file size and each source's latest state.

    Args:
        db_path: the warehouse file.

    Returns:
        `Status`; ``sources.problem`` names what looks wrong with a source (None when nothing).
    """
    path = Path(db_path)
    con = connect(path, read_only=True)
    try:
        runs = con.execute(internal_sql("status_runs")).fetchdf()
        counts = {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in STATUS_TABLES}
        sources = con.execute(internal_sql("status_sources")).fetchdf()
    finally:
        con.close()
    size = sum(p.stat().st_size for p in (path, Path(str(path) + ".wal")) if p.exists())
    return Status(runs=runs, counts=counts, size_bytes=size, sources=sources)


@dataclass
class SearchResult:
    """Ranked articles and how they were ranked (told to the user)."""

    hits: pd.DataFrame
    method: str
    indexed: bool


def search(db_path: str | Path, words: str, limit: int = 20) -> SearchResult:
    """Full-text search over article titles and texts, best first.

    Uses the index DuckDB's ``fts`` extension builds (`refresh_search_index`) when the extension
    can be loaded and the index exists; else ranks with the same BM25 formula computed in SQL over
    every article (`warehouse/internal/search_bm25.sql`): exact, but slower on a large warehouse.

    Args:
        db_path: the warehouse file.
        words: the query, free text.
        limit: how many hits.

    Returns:
        `SearchResult`.

    Raises:
        ValueError: the query holds no word.
    """
    if not any(ch.isalnum() for ch in words):
        raise ValueError("the search needs at least one word")
    con = connect(db_path, read_only=True)
    try:
        reason = _fts_unavailable(con)
        if reason is None:
            hits = con.execute(
                f"SELECT a.article_id, round(s.score, 3) AS score, a.title, a.source, CAST(a.published_at AS DATE) AS published, a.url"
                f" FROM (SELECT article_id, {SEARCH_INDEX_SCHEMA}.match_bm25(article_id, ?) AS score FROM articles) s"
                " JOIN articles a USING (article_id) WHERE s.score IS NOT NULL"
                " ORDER BY s.score DESC, a.article_id LIMIT ?",
                [words, limit],
            ).fetchdf()
            return SearchResult(hits, "DuckDB fts index (BM25)", True)
        hits = con.execute(internal_sql("search_bm25"), {"query": words, "limit": str(limit)}).fetchdf()
        return SearchResult(hits, f"no full-text index ({reason}): BM25 computed over every article", False)
    finally:
        con.close()


def rebuild_search_index(db_path: str | Path) -> bool:
    """After a run finished (the caller holds the writer lock): rebuild the fts index in the
    warehouse file (`refresh_search_index`). A reader that holds the file past the wait costs the
    index (rebuilt after the next run), not the run.

    Returns:
        True when the index was built.
    """
    try:
        con = connect(db_path)
    except WarehouseBusy as exc:
        logger.warning("%s; the full-text index is rebuilt after the next run", exc)
        return False
    try:
        return refresh_search_index(con)
    finally:
        con.close()


def refresh_search_index(con: duckdb.DuckDBPyConnection) -> bool:
    """Rebuild the fts index on articles when the extension loads (best effort, after a run).

    Returns:
        True when the index was built.
    """
    if _load_fts(con) is not None:
        return False
    con.execute("PRAGMA create_fts_index('articles', 'article_id', 'title', 'text', overwrite=1)")
    return True


def _load_fts(con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        con.execute("LOAD fts")
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        if "not found" in first:
            return "DuckDB's fts extension is not installed, and INSTALL fts needs the extension repository"
        return f"DuckDB's fts extension cannot be loaded: {first}"
    return None


def _fts_unavailable(con: duckdb.DuckDBPyConnection) -> str | None:
    reason = _load_fts(con)
    if reason:
        return reason
    found = con.execute("SELECT count(*) FROM duckdb_schemas() WHERE schema_name = ?", [SEARCH_INDEX_SCHEMA]).fetchone()[0]
    return None if found else "the fts index is not built yet: it is built after the next ingest run"


@dataclass
class ExportReport:
    """Rows and files written per table."""

    out: Path
    tables: dict[str, dict] = field(default_factory=dict)


def export(db_path: str | Path, out: str | Path, fmt: str = "parquet", partition: str = "month",
           overwrite: bool = False) -> ExportReport:
    """Write every table to ``out/<table>/``; tables with a date are partitioned by it (Hive style).

    Args:
        db_path: the warehouse file.
        out: the folder to write (must be missing or empty unless ``overwrite``).
        fmt: "parquet" or "csv".
        partition: "day", "month" or "year": the width of a date partition.
        overwrite: replace what ``out`` holds.

    Returns:
        `ExportReport`.

    Raises:
        ValueError: a bad format or partition, or ``out`` is not empty (without ``overwrite``).
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"unknown format {fmt!r} (parquet or csv)")
    if partition not in PARTITION_FORMATS:
        raise ValueError(f"unknown partition {partition!r} (day, month or year)")
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise ValueError(f"{target} is a file, not a folder")
    if target.exists() and any(target.iterdir()):
        if not overwrite:
            raise ValueError(f"{target} is not empty (use --overwrite to replace it)")
        shutil.rmtree(target)
    target.mkdir(parents=True, exist_ok=True)
    report = ExportReport(out=target)
    con = connect(db_path, read_only=True)
    try:
        present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
        for table in (t for t in EXPORT_TABLES if t in present):
            rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            folder = target / table
            date = EXPORT_DATES.get(table)
            if date:
                key = partition
                select = (f"SELECT *, coalesce(strftime({date}, '{PARTITION_FORMATS[partition]}'), 'unknown') AS {key}"
                          f" FROM {table}")
                con.execute(f"COPY ({select}) TO '{_sql_path(folder)}' ({options}, PARTITION_BY ({key}), OVERWRITE_OR_IGNORE)")
            else:
                folder.mkdir()
                con.execute(f"COPY {table} TO '{_sql_path(folder / f'{table}.{fmt}')}' ({options})")
            files = sorted(p for p in folder.rglob(f"*.{fmt}"))
            report.tables[table] = {"rows": rows, "files": len(files), "partitioned_by": date}
    finally:
        con.close()
    return report


def _sql_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")

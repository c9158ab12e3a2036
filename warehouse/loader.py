"""DuckDB warehouse: migrations, the per-run writer lock and set-based idempotent upserts.

SQL lives in .sql files beside this module; this module only orders and parameterizes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

logger = logging.getLogger(__name__)

WAREHOUSE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = WAREHOUSE_DIR / "migrations"
QUERIES_DIR = WAREHOUSE_DIR / "queries"
DEFAULT_DB = Path("warehouse/wirehouse.duckdb")
LOCK_WAIT_SECONDS = 30.0
LOCK_WAIT_ENV = "WIREHOUSE_LOCK_WAIT"   # how long a second run waits for the writer
_MIGRATION_NAME = re.compile(r"^(\d{3,})_([\w-]+)\.sql$")

# Natural keys of each table: upserts conflict on these.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "pages": ("content_hash",),
    "url_state": ("url",),
    "articles": ("article_id",),
    "entities": ("entity_id",),
    "mentions": ("article_id", "start_char", "end_char"),
    "events": ("event_id",),
    "fetch_log": ("run_id", "url", "kind"),
    "quarantine": ("table_name", "row_key"),
    "runs": ("run_id",),
}
# Keys the loader enforces with an anti-join instead of a PRIMARY KEY index (insert-only tables, where
# the index would triple the insert cost): rows whose key exists are skipped, never updated.
LOADER_KEYED_TABLES = frozenset({"mentions"})


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file."""


class WarehouseError(RuntimeError):
    """The warehouse file cannot be opened or migrated."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def list_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The numbered .sql migrations in order."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), path))
    return found


def read_query(name: str) -> str:
    """The text of a saved query in warehouse/queries/ (name without .sql)."""
    return (QUERIES_DIR / f"{name}.sql").read_text(encoding="utf-8")


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "different configuration" in text


# For analysts' ad-hoc SQL: the warehouse file only. No other files read or written (COPY, EXPORT,
# read_csv, ATTACH), no extensions installed or loaded, and the settings cannot be changed back.
SANDBOXED = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,
}


def connect(
    db_path: str | Path, read_only: bool = False, wait: float = LOCK_WAIT_SECONDS, config: dict | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting up to ``wait`` seconds while another process holds it.

    Args:
        db_path: the DuckDB file.
        read_only: open read-only (the file must exist).
        wait: seconds to keep retrying on a lock conflict.
        config: DuckDB settings for the connection (e.g. `SANDBOXED`).

    Returns:
        An open connection.

    Raises:
        WarehouseBusy: the file stayed locked by another process.
        WarehouseError: the file is missing (read-only) or not a DuckDB database.
    """
    path = Path(db_path)
    if read_only and not path.exists():
        raise WarehouseError(f"{path}: no such warehouse file")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    delay = 0.1
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=dict(config or {}))
        except duckdb.Error as exc:
            if not _is_lock_error(exc):
                raise WarehouseError(f"{path}: cannot open warehouse: {str(exc).splitlines()[0]}") from None
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"{path}: the warehouse is in use by another process (waited {wait:.0f} s); try again when it finishes"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


@contextlib.contextmanager
def writer_lock(db_path: str | Path, wait: float | None = None) -> Iterator[None]:
    """Hold the one-writer-per-warehouse lock for a whole run (a file lock beside the DB).

    A second run on the same file waits up to ``wait`` seconds (default: ``$WIREHOUSE_LOCK_WAIT``,
    else `LOCK_WAIT_SECONDS`), then raises `WarehouseBusy`.
    """
    if wait is None:
        try:
            wait = float(os.environ.get(LOCK_WAIT_ENV, LOCK_WAIT_SECONDS))
        except ValueError:
            wait = LOCK_WAIT_SECONDS
    path = Path(str(db_path) + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"{db_path}: another ingest run is writing to this warehouse (waited {wait:.0f} s)"
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def migrate(con: duckdb.DuckDBPyConnection, directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply the migrations not yet recorded in ``schema_migrations``; each in its own transaction.

    Returns:
        The versions applied now.
    """
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, checksum VARCHAR NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL)"
    )
    applied = {row[0]: row[1] for row in con.execute("SELECT version, checksum FROM schema_migrations").fetchall()}
    known = list_migrations(directory)
    _refuse_newer_schema(max(applied, default=0), known, "the warehouse")
    done = []
    for migration in known:
        if migration.version in applied:
            if applied[migration.version] != migration.checksum:
                logger.warning("migration %03d_%s changed after it was applied", migration.version, migration.name)
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                [migration.version, migration.name, migration.checksum, datetime.now(timezone.utc)],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        logger.info("applied migration %03d_%s", migration.version, migration.name)
        done.append(migration.version)
    return done


def _refuse_newer_schema(stored: int, known: list[Migration], where: str) -> None:
    newest = max((m.version for m in known), default=0)
    if stored > newest:
        raise WarehouseError(
            f"{where}: schema version {stored} is newer than this wirehouse knows ({newest}); "
            "use the newer wirehouse that wrote it"
        )


def check_file(db_path: str | Path) -> None:
    """Before a run: the warehouse file, if it exists, is a DuckDB database with a schema this code
    knows; its folder exists. Nothing is written.

    Raises:
        WarehouseError: with a one-line reason.
    """
    path = Path(db_path)
    if path.is_dir():
        raise WarehouseError(f"{path}: is a directory, not a DuckDB file")
    if not path.parent.is_dir():
        raise WarehouseError(f"{path}: folder {path.parent} does not exist")
    if not path.exists():
        return
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        if _is_lock_error(exc):
            return   # another run holds it; this run will wait for the writer lock
        raise WarehouseError(f"{path}: not a DuckDB warehouse ({str(exc).splitlines()[0]})") from None
    try:
        _refuse_newer_schema(_stored_version(con), list_migrations(), str(path))
    finally:
        con.close()


def _stored_version(con: duckdb.DuckDBPyConnection) -> int:
    """The newest migration applied to a warehouse (0: none, or not a wirehouse file yet)."""
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'").fetchone()[0]:
        return 0
    return con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] or 0


def upgrade_if_older(db_path: str | Path) -> tuple[int, int] | None:
    """Bring a warehouse written by an older wirehouse to the current schema (migrations only add).

    For the read-side commands, whose saved queries and views need the current schema. Takes the
    writer lock, so it waits for a running ingest.

    Returns:
        (stored version, current version) when it upgraded, else None.
    """
    latest = max((m.version for m in list_migrations()), default=0)
    con = connect(db_path, read_only=True)
    try:
        stored = _stored_version(con)
    finally:
        con.close()
    if stored >= latest:
        return None
    with writer_lock(db_path):
        con = connect(db_path)
        try:
            migrate(con)
        finally:
            con.close()
    return stored, latest


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [r[0] for r in rows]


def upsert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    update: tuple[str, ...] | None = None,
    changed_when: str | None = None,
    fill_only: bool = False,
) -> tuple[int, int]:
    """Insert a DataFrame set-based; rows whose key exists are updated (or ignored).

    In-batch duplicates are dropped first (last one wins): DuckDB's ON CONFLICT would
    silently keep the first.

    Args:
        con: an open connection (the caller owns the transaction).
        table: the target table; its key comes from `TABLE_KEYS`.
        frame: rows to load; columns are matched by name, missing ones load as NULL.
        update: the columns to overwrite on conflict; None or () means keep the stored row.
        changed_when: a column whose difference (stored vs incoming) makes an update worth doing.
        fill_only: update only stored NULLs (COALESCE): what is known stays, what was unknown is filled.

    Returns:
        (inserted, updated) row counts.
    """
    if frame is None or frame.empty:
        return 0, 0
    keys = TABLE_KEYS[table]
    frame = frame.drop_duplicates(subset=list(keys), keep="last")
    columns = [c for c in table_columns(con, table) if c in frame.columns]
    view = f"_incoming_{table}"
    con.register(view, frame[columns])
    try:
        key_match = " AND ".join(f"t.{k} IS NOT DISTINCT FROM i.{k}" for k in keys)
        existing = con.execute(f"SELECT count(*) FROM {view} i JOIN {table} t ON {key_match}").fetchone()[0]
        column_list = ", ".join(columns)
        sql = f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {view} "
        if table in LOADER_KEYED_TABLES:
            if update:
                raise ValueError(f"{table} rows are never updated in place")
            sql = (
                f"INSERT INTO {table} ({column_list}) SELECT {', '.join(f'i.{c}' for c in columns)} FROM {view} i"
                f" WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {key_match})"
            )
        elif update:
            if fill_only:
                sets = ", ".join(f"{c} = COALESCE({table}.{c}, excluded.{c})" for c in update)
            else:
                sets = ", ".join(f"{c} = excluded.{c}" for c in update)
            sql += f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
            if changed_when:
                sql += f" WHERE {table}.{changed_when} IS DISTINCT FROM excluded.{changed_when}"
        else:
            sql += f"ON CONFLICT ({', '.join(keys)}) DO NOTHING"
        affected = con.execute(sql).fetchone()[0]
    finally:
        with contextlib.suppress(duckdb.Error):  # an aborted transaction must report its own error
            con.unregister(view)
    inserted = len(frame) - existing
    return inserted, max(affected - inserted, 0)


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing: a failed load leaves the warehouse as it was."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
